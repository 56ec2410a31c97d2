/**
 * Time limits of the push path, shared by the Lambda, the local server and the stack so they cannot drift.
 * Catchpoint waits 20 s for an answer and API Gateway 30 s; the push must answer well before either.
 */
export const PUSH_TIMEOUT_SECONDS = 15;

/** Default of WRITE_BUDGET_MS: the time one push may spend writing, retries and spooling included. */
export const DEFAULT_WRITE_BUDGET_MS = 8000;

/** Time kept back from the push function's own limit so that the answer always goes out. */
export const ANSWER_MARGIN_MS = 1000;

/** The longest WRITE_BUDGET_MS: beyond it the function's limit, not the budget, would end the push. */
export const MAX_WRITE_BUDGET_MS = PUSH_TIMEOUT_SECONDS * 1000 - ANSWER_MARGIN_MS;
