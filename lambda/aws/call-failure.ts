import { errorText } from '../shared/error-text.js';

/**
 * Why an SDK call failed, for a log line: the error with its name (`TimeoutError: …`,
 * `ResourceNotFoundException: …`), or, when the caller's signal cut the call short, the signal's reason
 * (the SDK's own "AbortError: Request aborted" tells nothing).
 */
export function callFailure(error: unknown, signal?: AbortSignal): string {
  if (signal?.aborted) return errorText(signal.reason, { withName: true });
  return errorText(error, { withName: true });
}
