import { isObject } from '../shared/json-fields.js';
import type { PostAnswer } from './http-post.js';

/** One point OpenTSDB named in a `details` answer, with its reason. */
export interface PointError {
  metric?: string;
  timestamp?: number;
  tags?: Record<string, string>;
  reason: string;
}

/**
 * What an `/api/put?details` answer says of the points sent. Only `stored` and `partial` say that anything
 * was stored; everything the writer cannot read as one of them means that nothing is known to be.
 */
export type PutAnswer =
  /** 204, or a summary with `failed` 0 whose `success` is every point sent. */
  | { kind: 'stored' }
  /**
   * A summary whose `success` + `failed` (+ `timeouts`) is every point sent, some failed or timed out: read
   * point by point. `timeouts` is set by a `sync` put answered when its `sync_timeout` passed (a 400): those
   * points were not stored in time (they may still land); `failed` does not count them.
   */
  | { kind: 'partial'; success: number; failed: number; timeouts?: number; errors: PointError[] }
  /** The body was refused as "chunked": too big for this server's settings. */
  | { kind: 'too-large' }
  /** A 400 for the whole request without per-point details (e.g. an unparsable body). */
  | { kind: 'refused'; reason: string }
  /**
   * No connection-level failure, but no answer a TSD asked for `details` gives either: a 5xx, an empty or
   * HTML 200, an unreadable body, counts that do not add up. OpenTSDB (or something in front of it) fails.
   */
  | { kind: 'unreadable'; reason: string };

/**
 * OpenTSDB's validation reasons, the only ones that are final: the point itself is wrong and will be
 * refused again. Every other reason ("Please throttle", "Storage exception: …", "Write timedout", and any
 * exception text OpenTSDB passes through) is transient: the point stays pending. "Unknown metric" is final
 * only once registering the name has failed for good, which the writer decides.
 */
const FINAL_REASONS = [
  /^metric name was empty/i,
  /^invalid timestamp/i,
  /^empty value/i,
  /^missing tags/i,
  /^unable to parse value to a number/i,
  /illegal character/i,
  /^too many tags/i,
  // Tags.validateString's other refusals: an empty or null metric, tag name or tag value.
  /^invalid (?:metric name|tag name|tag value|metric|tagk|tagv): (?:empty string|null)$/i,
];
const UNKNOWN_METRIC = /^unknown metric|no such name for 'metrics'/i;

export function isFinalReason(reason: string): boolean {
  return FINAL_REASONS.some((pattern) => pattern.test(reason));
}

/** A point not stored when its `sync_timeout` passed (PutDataPointRpc's "Write timedout"). */
export function isTimedOutReason(reason: string): boolean {
  return /^write timedout/i.test(reason);
}

export function isUnknownMetricReason(reason: string): boolean {
  return UNKNOWN_METRIC.test(reason);
}

/** Reads an `/api/put?details` answer to a request of `sent` points. */
export function readPutAnswer(answer: PostAnswer, sent: number): PutAnswer {
  const { status, body } = answer;
  if (status === 204) return { kind: 'stored' };
  if (status === 413 || (status === 400 && /chunked request not supported/i.test(body)))
    return { kind: 'too-large' };
  if (status !== 200 && status !== 400)
    return { kind: 'unreadable', reason: `HTTP ${status}${errorMessage(body)}` };
  if (body.trim() === '') return { kind: 'unreadable', reason: `HTTP ${status} with an empty body` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { kind: 'unreadable', reason: `HTTP ${status} with a body that is not JSON` };
  }
  if (isObject(parsed) && ('success' in parsed || 'failed' in parsed)) {
    const { success, failed } = parsed;
    // Only a passed sync_timeout adds `timeouts`; absent, there were none.
    const timeouts = parsed.timeouts ?? 0;
    if (!isCount(success) || !isCount(failed) || !isCount(timeouts) || success + failed + timeouts !== sent) {
      const counted =
        'timeouts' in parsed
          ? `, failed ${String(failed)} and timeouts ${String(timeouts)}`
          : ` and failed ${String(failed)}`;
      return {
        kind: 'unreadable',
        reason: `HTTP ${status} counting success ${String(success)}${counted} of ${sent} points sent`,
      };
    }
    if (failed === 0 && timeouts === 0) return { kind: 'stored' };
    const errors = Array.isArray(parsed.errors) ? parsed.errors.map(readPointError) : [];
    return timeouts > 0
      ? { kind: 'partial', success, failed, timeouts, errors }
      : { kind: 'partial', success, failed, errors };
  }
  if (status === 400 && isObject(parsed) && isObject(parsed.error))
    return { kind: 'refused', reason: `HTTP 400${errorMessage(body)}` };
  return { kind: 'unreadable', reason: `HTTP ${status} that is not a put summary` };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** `: <message>` of an OpenTSDB JSON error, never its (long) trace; empty when there is none. */
function errorMessage(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (isObject(parsed) && isObject(parsed.error) && typeof parsed.error.message === 'string')
      return `: ${parsed.error.message.slice(0, 300)}`;
  } catch {
    // Not JSON: nothing to quote.
  }
  return '';
}

function readPointError(entry: unknown): PointError {
  if (!isObject(entry)) return { reason: 'unknown error' };
  const reason = typeof entry.error === 'string' ? entry.error.slice(0, 300) : 'unknown error';
  const dp = isObject(entry.datapoint) ? entry.datapoint : {};
  const out: PointError = { reason };
  if (typeof dp.metric === 'string') out.metric = dp.metric;
  const ts = typeof dp.timestamp === 'number' ? dp.timestamp : Number(dp.timestamp);
  if (Number.isFinite(ts)) out.timestamp = ts;
  if (isObject(dp.tags)) {
    const tags: Record<string, string> = {};
    for (const [k, v] of Object.entries(dp.tags)) tags[k] = String(v);
    out.tags = tags;
  }
  return out;
}

/**
 * The per-name errors of an `/api/uid/assign` answer: an empty map for a JSON 200, the `metric_errors` of a
 * readable 400, undefined for anything else (a server fault: nothing is known to be registered).
 */
export function readAssignErrors(answer: PostAnswer): Map<string, string> | undefined {
  if (answer.status !== 200 && answer.status !== 400) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    return undefined;
  }
  if (!isObject(parsed)) return undefined;
  if (answer.status === 200) return new Map();
  if (!isObject(parsed.metric_errors)) return undefined;
  const errors = new Map<string, string>();
  for (const [name, error] of Object.entries(parsed.metric_errors))
    errors.set(name, String(error).slice(0, 300));
  return errors;
}
