/**
 * Time limits of the push path, shared by the Lambda, the local server and the stack so they cannot drift.
 * Catchpoint waits 20 s for an answer and API Gateway 30 s; the push must answer well before either.
 */
export const PUSH_TIMEOUT_SECONDS = 15;

/** Default of WRITE_BUDGET_MS: the time one push may spend writing, retries and spooling included. */
export const DEFAULT_WRITE_BUDGET_MS = 8000;
