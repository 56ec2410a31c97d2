// The time budget of one scheduled run (the node refresh, the gap repair): Catchpoint requests stop at
// `fetchDeadlineMs`, early enough to leave time for the writes after them; everything else still under way
// is aborted through `signal` shortly before the Lambda's timeout, so the run ends with its reason logged
// rather than killed.

/** Time kept at the very end for the failure's log line and the metrics. */
export const RESERVE_AT_END_MS = 2000;

export interface RunDeadline {
  /** When Catchpoint requests must stop, on the clock of `startMs`. */
  fetchDeadlineMs: number;
  /** When the run is aborted, on the clock of `startMs`. */
  endAtMs: number;
  /** Aborted at `endAtMs` with an "out of time" error. */
  signal: AbortSignal;
  /** Stops the timer; call it when the run ends. */
  dispose(): void;
}

/**
 * `remainingMs` is the Lambda's remaining time at `startMs`. After the fetch, `reserveAfterFetchMs` is kept
 * (at most a quarter of the run); at the end, RESERVE_AT_END_MS (at most a tenth).
 */
export function startRunDeadline(
  startMs: number,
  remainingMs: number,
  reserveAfterFetchMs: number,
): RunDeadline {
  const fetchDeadlineMs = startMs + remainingMs - Math.min(reserveAfterFetchMs, remainingMs / 4);
  const endMs = Math.max(0, remainingMs - Math.min(RESERVE_AT_END_MS, remainingMs / 10));
  const run = new AbortController();
  const timer = setTimeout(
    () =>
      run.abort(
        new Error(
          `out of time: the run stops ${Math.round(remainingMs - endMs)} ms before the Lambda's timeout`,
        ),
      ),
    endMs,
  );
  return {
    fetchDeadlineMs,
    endAtMs: startMs + endMs,
    signal: run.signal,
    dispose: () => clearTimeout(timer),
  };
}
