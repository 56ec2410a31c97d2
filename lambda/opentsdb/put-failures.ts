// What a failed put says: which points failed, and for what reason (sortFailures), and what a failure
// may be blamed on, for the circuit breaker (wholeRequest, isDropped).
import type { FailureEvidence } from './circuit-breaker.js';
import type { Datapoint } from './datapoint.js';
import { isFinalReason, isTimedOutReason, isUnknownMetricReason, type PutAnswer } from './put-answer.js';

export interface RejectedPoint {
  point: Datapoint;
  reason: string;
}

/** What a `details` answer says of each failed point. */
export interface SortedFailures {
  rejected: RejectedPoint[];
  transient: Array<{ point: Datapoint; reason: string }>;
  /** Named "Write timedout" in an answer to a passed `sync_timeout`. */
  timedOut: Array<{ point: Datapoint; reason: string }>;
  unknownMetric: Datapoint[];
}

/**
 * The failed (and timed-out) points of a `details` answer, sorted by their reasons; undefined when the
 * answer does not name every one of them among those sent (then nothing says which were stored).
 */
export function sortFailures(
  points: readonly Datapoint[],
  put: Extract<PutAnswer, { kind: 'partial' }>,
): SortedFailures | undefined {
  // Several points may share a key (a run spooled twice and replayed in one request): each error takes one.
  const byKey = new Map<string, Datapoint[]>();
  for (const point of points) {
    const key = pointKey(point.metric, point.timestamp, point.tags);
    const same = byKey.get(key);
    if (same) same.push(point);
    else byKey.set(key, [point]);
  }
  const sorted: SortedFailures = { rejected: [], transient: [], timedOut: [], unknownMetric: [] };
  let matched = 0;
  for (const error of put.errors) {
    const point = byKey
      .get(pointKey(error.metric ?? '', error.timestamp ?? Number.NaN, error.tags ?? {}))
      ?.pop();
    if (!point) continue;
    matched++;
    if (isUnknownMetricReason(error.reason)) sorted.unknownMetric.push(point);
    else if (isFinalReason(error.reason)) sorted.rejected.push({ point, reason: error.reason });
    else if (put.timeouts !== undefined && isTimedOutReason(error.reason))
      sorted.timedOut.push({ point, reason: error.reason });
    else sorted.transient.push({ point, reason: error.reason });
  }
  // A passed sync_timeout names each timed-out point too ("Write timedout"), outside `failed`.
  return matched === put.failed + (put.timeouts ?? 0) ? sorted : undefined;
}

function pointKey(metric: string, timestamp: number, tags: Readonly<Record<string, string>>): string {
  const sorted = Object.keys(tags)
    .sort()
    .map((k) => `${k}=${tags[k]}`)
    .join(',');
  return `${metric}|${timestamp}|${sorted}`;
}

/** A request that failed as a whole: any of its runs may be the cause. */
export function wholeRequest(
  points: readonly Datapoint[],
  runOf: (point: Datapoint) => string,
): FailureEvidence {
  return { runs: new Set(points.map(runOf)), perPoint: false };
}

/**
 * The connection was reset or closed once the request was sent (a TSD dropping it on an exception some
 * content causes), rather than refused, unreachable or unanswered.
 */
export function isDropped(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

/** One line for a request that got no answer. */
export function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error.name === 'TimeoutError' || error.name === 'AbortError')
      return `request timed out (${error.message})`;
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
