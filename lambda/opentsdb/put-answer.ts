import { isObject } from '../shared/json-fields.js';
import type { PostAnswer } from './http-post.js';

/** One point OpenTSDB named in a `details` answer, with its reason. */
export interface PointError {
  metric?: string;
  timestamp?: number;
  tags?: Record<string, string>;
  reason: string;
}

export type PutAnswer =
  | { kind: 'accepted' }
  /** Some or all points failed validation or storage; the others are stored. */
  | { kind: 'partial'; success: number; failed: number; errors: PointError[] }
  /** The body was refused as "chunked": too big for this server's settings. */
  | { kind: 'too-large' }
  /** The whole request was refused and will be refused again (e.g. unparsable). */
  | { kind: 'refused'; reason: string }
  /** Worth another try: server fault, overload, or an answer we cannot read. */
  | { kind: 'transient'; reason: string };

const TRANSIENT_REASONS =
  /please throttle|storage exception|timeout exception|write timedout|timed out|hbase/i;
const UNKNOWN_METRIC = /unknown metric|no such name for 'metrics'/i;

export function isTransientReason(reason: string): boolean {
  return TRANSIENT_REASONS.test(reason);
}

export function isUnknownMetricReason(reason: string): boolean {
  return UNKNOWN_METRIC.test(reason);
}

/** Reads an `/api/put?details` answer. */
export function readPutAnswer(answer: PostAnswer): PutAnswer {
  const { status, body } = answer;
  if (status === 204) return { kind: 'accepted' };
  if (/chunked request not supported/i.test(body) || status === 413) return { kind: 'too-large' };
  if (status === 200 || status === 400) {
    let parsed: unknown;
    try {
      parsed = body.trim() === '' ? {} : JSON.parse(body);
    } catch {
      return { kind: 'transient', reason: `HTTP ${status} with an unreadable body` };
    }
    if (isObject(parsed) && typeof parsed.failed === 'number') {
      const failed = parsed.failed;
      const success = typeof parsed.success === 'number' ? parsed.success : 0;
      if (failed === 0) return { kind: 'accepted' };
      const errors = Array.isArray(parsed.errors) ? parsed.errors.map(readPointError) : [];
      return { kind: 'partial', success, failed, errors };
    }
    if (status === 200) return { kind: 'accepted' };
    const message = isObject(parsed) && isObject(parsed.error) ? String(parsed.error.message ?? '') : '';
    return { kind: 'refused', reason: `HTTP 400${message ? `: ${message.slice(0, 300)}` : ''}` };
  }
  return { kind: 'transient', reason: `HTTP ${status}` };
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
 * The per-name errors of an `/api/uid/assign` answer: an empty map for a 200, the `metric_errors` of a
 * readable 400, undefined for anything else (a server fault: nothing is known to be registered).
 */
export function readAssignErrors(answer: PostAnswer): Map<string, string> | undefined {
  if (answer.status === 200) return new Map();
  if (answer.status !== 400) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    return undefined;
  }
  if (!isObject(parsed) || !isObject(parsed.metric_errors)) return undefined;
  const errors = new Map<string, string>();
  for (const [name, error] of Object.entries(parsed.metric_errors))
    errors.set(name, String(error).slice(0, 300));
  return errors;
}
