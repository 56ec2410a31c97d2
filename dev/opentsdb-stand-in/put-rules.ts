/**
 * `/api/put` as a TSD 2.4 answers it: the request's rules (method, flags, body), then each point's rules in
 * OpenTSDB's order (`checkPoint`), then the answer the flags ask for (`putReply`).
 *
 * Every point ends as one `PointOutcome`, and only `putReply` decides what the writer is told of them: a
 * per-point reason the stand-in lacks is one more check in `checkPoint` (its text in `OpenTsdbMessages`);
 * what a storage failure shows with or without `sync` (`toldOf`), and answers whose counts do not add up,
 * are `putReply`'s.
 *
 * `sync`: without it a TSD answers once the points are queued, so a point its storage then fails (or never
 * stores) is answered as stored and lost; only the TSD's log says so (the stand-in's `lost`). With it, such
 * a point is reported ("Storage exception: …"), and one not stored by `sync_timeout` is reported "Write
 * timedout" when that time has passed; a `sync` put without `sync_timeout` waits for the storage, forever
 * if it stalls.
 */
import { decodePoint, type IncomingPoint } from './incoming-datapoint.js';
import { JsonObject, JsonSyntaxError, MappingError, parseJson } from './json-reader.js';
import { OPENTSDB_MAX_MILLIS } from './limits.js';
import { OpenTsdbMessages } from './messages.js';
import { validateName } from './name-rules.js';
import type { PointStore } from './point-store.js';
import { errorReply, jsonReply, longTrace, methodNotAllowed, type Reply, type TsdRequest } from './rpc.js';
import type { EchoedDatapoint, PoisonCandidate, PoisonKind, RejectedPoint } from './stand-in-types.js';
import type { UidRegistry } from './uid-registry.js';

const MAX_MILLIS = BigInt(OPENTSDB_MAX_MILLIS);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The TSD's state, as a put reads and writes it. */
export interface TsdState {
  /** `tsd.storage.max_tags`. */
  readonly maxTags: number;
  readonly uids: UidRegistry;
  readonly store: PointStore;
  /** Every point answered with an error, for tests to read. */
  readonly rejected: RejectedPoint[];
  /** Every point answered as stored (queued) that the storage then failed: only the TSD log knows. */
  readonly lost: RejectedPoint[];
  /** The poison rules (`poison()`), in the order they were added. */
  readonly poison: PoisonRule[];
}

export interface PoisonRule {
  match: (point: PoisonCandidate) => boolean;
  kind: PoisonKind;
}

/** What became of one point of a put. */
type PointOutcome =
  | { kind: 'stored' }
  /** Refused by a write rule. An unknown metric is the server's state, not a writer's fault. */
  | { kind: 'invalid'; error: string; unknownMetric: boolean }
  /** Valid, refused before it was queued (throttled, or an exception nobody has seen): always reported. */
  | { kind: 'refused'; error: string }
  /** Valid and queued, then failed in storage (with OpenTSDB's text, or an exception's). */
  | { kind: 'storage-failed'; error: string }
  /** Valid and queued; the storage never answers. */
  | { kind: 'stalled' };

/** What the writer is told of a point: stored, an error, or nothing (answered as stored, but lost). */
type Told = { kind: 'stored' } | { kind: 'error'; error: string } | { kind: 'lost'; error: string };

/** What a put with these flags tells of one point's outcome. */
function toldOf(outcome: PointOutcome, sync: boolean): Told {
  switch (outcome.kind) {
    case 'stored':
      return outcome;
    case 'invalid':
    case 'refused':
      return { kind: 'error', error: outcome.error };
    case 'storage-failed':
      return sync ? { kind: 'error', error: outcome.error } : { kind: 'lost', error: outcome.error };
    case 'stalled':
      return sync
        ? { kind: 'error', error: OpenTsdbMessages.writeTimedOut }
        : { kind: 'lost', error: 'storage never answered' };
  }
}

/** A point that passed every rule, ready to store. */
interface ValidPoint {
  metric: string;
  tags: Record<string, string>;
  timestamp: bigint;
  valueText: string;
  value: number;
}

export function answerPut(request: TsdRequest, tsd: TsdState): Reply {
  const { method, flags, text, violation } = request;
  if (method !== 'POST') {
    violation(`${method} on /api/put`);
    return methodNotAllowed(method);
  }
  const { sync, syncTimeout } = flags;
  if (syncTimeout !== null) {
    if (!/^\d+$/.test(syncTimeout)) {
      violation(`sync_timeout is not an integer: ${syncTimeout}`);
      return errorReply(400, `Invalid sync_timeout: ${syncTimeout}`);
    }
    if (!sync) violation('sync_timeout without sync (ignored)');
  }
  if (text.length === 0) {
    violation('empty body');
    return errorReply(400, OpenTsdbMessages.missingContent);
  }

  let incoming: IncomingPoint[];
  try {
    const json = parseJson(text);
    const list = Array.isArray(json) ? json : [json];
    incoming = list.map((value, i) => decodePoint(value, i));
    for (const value of list) {
      if (!(value instanceof JsonObject)) continue;
      for (const key of value.duplicateKeys) violation(`duplicate field "${key}"`);
      const tags = value.fields.get('tags');
      if (tags instanceof JsonObject) {
        for (const key of tags.duplicateKeys) violation(`duplicate tag key "${key}"`);
      }
    }
  } catch (error) {
    if (error instanceof JsonSyntaxError || error instanceof MappingError) {
      violation(`unparsable body: ${error.message}`);
      return errorReply(400, OpenTsdbMessages.badJson, error.message);
    }
    throw error;
  }
  if (incoming.length === 0) {
    violation('empty array');
    return errorReply(400, OpenTsdbMessages.noDatapoints);
  }

  const poisons = incoming.map((point) => poisonOf(point, tsd.poison));
  // An exception that follows the content fails the request as a whole, before anything is stored.
  if (poisons.includes('drop')) return { status: 0, drop: true };
  if (poisons.includes('500'))
    return errorReply(500, OpenTsdbMessages.internal, 'poisoned datapoint (stand-in)', longTrace());

  const outcomes = incoming.map((point, i) => {
    const poison = poisons[i];
    const outcome =
      poison === undefined || poison === '500' || poison === 'drop'
        ? putPoint(point, request, tsd)
        : poisonedOutcome(point, poison);
    const told = toldOf(outcome, flags.sync);
    if (told.kind !== 'stored') {
      const record = { datapoint: point.echo, error: told.error, request: request.index };
      (told.kind === 'lost' ? tsd.lost : tsd.rejected).push(record);
    }
    return { datapoint: point.echo, outcome };
  });
  return putReply(request, outcomes);
}

/** The kind of the first poison rule that matches `point`; undefined when none does. */
function poisonOf(point: IncomingPoint, rules: readonly PoisonRule[]): PoisonKind | undefined {
  if (rules.length === 0) return undefined;
  const tags: Record<string, string> = {};
  for (const [key, value] of point.tags ?? []) {
    if (value !== null)
      Object.defineProperty(tags, key, { value, enumerable: true, writable: true, configurable: true });
  }
  const candidate: PoisonCandidate = {
    metric: point.metric ?? '',
    timestamp: point.timestamp === null ? 0 : Number(point.timestamp),
    tags,
  };
  return rules.find((rule) => rule.match(candidate))?.kind;
}

/** What a poisoned point meets (never a violation: the writer did nothing wrong). */
function poisonedOutcome(point: IncomingPoint, kind: Exclude<PoisonKind, '500' | 'drop'>): PointOutcome {
  switch (kind) {
    case 'refuse': {
      // What a TSD with a lower `tsd.storage.max_tags` says of a point with this many tags.
      const tags = point.tags ?? [];
      const shown = `{${tags.map(([k, v]) => `${k}=${v}`).join(', ')}}`;
      const error = OpenTsdbMessages.tooManyTags(tags.length, Math.max(0, tags.length - 1), shown);
      return { kind: 'invalid', error, unknownMetric: false };
    }
    case 'storage':
      return { kind: 'storage-failed', error: OpenTsdbMessages.storage };
    case 'unknown-reason':
      return { kind: 'storage-failed', error: OpenTsdbMessages.unseenException };
    case 'timeout':
      return { kind: 'stalled' };
  }
}

/** One point through the rules, then into storage (or into the injected storage fault). */
function putPoint(point: IncomingPoint, request: TsdRequest, tsd: TsdState): PointOutcome {
  const checked = checkPoint(point, tsd);
  if ('error' in checked) {
    if (!checked.unknownMetric) request.violation(`point rejected: ${checked.error}`);
    return { kind: 'invalid', ...checked };
  }
  switch (request.putFault) {
    case 'throttle':
      return { kind: 'refused', error: OpenTsdbMessages.throttle };
    case 'unknown-reason':
      return { kind: 'refused', error: OpenTsdbMessages.unseenException };
    case 'storage':
      return { kind: 'storage-failed', error: OpenTsdbMessages.storage };
    case 'stall':
      return { kind: 'stalled' };
  }
  const { metric, tags, timestamp, valueText, value } = checked;
  tsd.uids.uidOf('metric', metric);
  for (const [k, v] of Object.entries(tags)) {
    tsd.uids.uidOf('tagk', k);
    tsd.uids.uidOf('tagv', v);
  }
  tsd.store.store(request.index, metric, tags, timestamp, valueText, value, request.violation);
  return { kind: 'stored' };
}

/** The write rules, in OpenTSDB's order: the first one a point breaks is the error it gets. */
function checkPoint(
  point: IncomingPoint,
  tsd: TsdState,
): ValidPoint | { error: string; unknownMetric: boolean } {
  const fail = (error: string, unknownMetric = false) => ({ error, unknownMetric });
  if (point.metric === null || point.metric === '') return fail(OpenTsdbMessages.metricEmpty);
  const ts = point.timestamp;
  if (ts === null || ts <= 0n || ts > MAX_MILLIS) return fail(OpenTsdbMessages.invalidTimestamp);
  if (point.value === null || point.value === '') return fail(OpenTsdbMessages.emptyValue);
  if (point.tags === null || point.tags.length === 0) return fail(OpenTsdbMessages.missingTags);
  const parsed = parseValue(point.value);
  if (!parsed.ok) return fail(OpenTsdbMessages.notANumber);
  if (point.tags.length > tsd.maxTags) {
    const shown = `{${point.tags.map(([k, v]) => `${k}=${v}`).join(', ')}}`;
    return fail(OpenTsdbMessages.tooManyTags(point.tags.length, tsd.maxTags, shown));
  }
  const metricError = validateName('metric name', point.metric);
  if (metricError !== null) return fail(metricError);
  const tags: Record<string, string> = {};
  for (const [key, value] of point.tags) {
    const keyError = validateName('tag name', key);
    if (keyError !== null) return fail(keyError);
    const valueError = validateName('tag value', value);
    if (valueError !== null || value === null)
      return fail(valueError ?? OpenTsdbMessages.nullName('tag value'));
    // defineProperty: a tag named `__proto__` is a plain key, as in a Java map.
    Object.defineProperty(tags, key, { value, enumerable: true, writable: true, configurable: true });
  }
  if (!tsd.uids.admitsMetric(point.metric)) return fail(OpenTsdbMessages.unknownMetric(point.metric), true);
  return { metric: point.metric, tags, timestamp: ts, valueText: point.value, value: parsed.number };
}

type ParsedValue = { ok: true; number: number } | { ok: false };

/** Tags.looksLikeInteger then Tags.parseLong, else Float.parseFloat (decimal notation only, finite). */
function parseValue(text: string): ParsedValue {
  if (!/[.eE]/.test(text)) {
    if (!/^[+-]?\d+$/.test(text)) return { ok: false };
    const big = BigInt(text);
    if (big < INT64_MIN || big > INT64_MAX) return { ok: false };
    return { ok: true, number: Number(big) };
  }
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) return { ok: false };
  const number = Number(text);
  return Number.isFinite(number) ? { ok: true, number } : { ok: false };
}

/**
 * What the writer is told: without `details` or `summary` 204 or a bare 400; with them the counts (and with
 * `details` every failed point and its error), 200 when nothing failed or only storage failed a `sync` put,
 * else 400. A `sync` put whose points stalled in storage is answered when its `sync_timeout` passes, or never
 * without one: a 400 `{"success":S,"failed":F,"timeouts":T}` (with `details`, "Write timedout" per timed-out
 * point in `errors`), where `failed` does not count the timeouts, so S + F + T = points sent, as
 * PutDataPointRpc does. The `miscount` fault claims one point more stored than were sent.
 */
function putReply(
  request: TsdRequest,
  outcomes: ReadonlyArray<{ datapoint: EchoedDatapoint; outcome: PointOutcome }>,
): Reply {
  const { details, summary, sync, syncTimeout } = request.flags;
  let success = 0;
  let timeouts = 0;
  let storageFailures = 0;
  const errors: Array<{ datapoint: EchoedDatapoint; error: string }> = [];
  for (const { datapoint, outcome } of outcomes) {
    if (outcome.kind === 'stalled' && sync) timeouts += 1;
    if (outcome.kind === 'storage-failed' && sync) storageFailures += 1;
    const told = toldOf(outcome, sync);
    if (told.kind === 'error') errors.push({ datapoint, error: told.error });
    else success += 1;
  }
  const waitMs = timeouts > 0 ? Number(syncTimeout ?? 0) : 0;
  if (timeouts > 0 && waitMs === 0) return { status: 0, never: true };
  const delayed = (reply: Reply): Reply => (waitMs > 0 ? { ...reply, afterMs: waitMs } : reply);
  const failed = errors.length - timeouts;
  if (!details && !summary) {
    if (errors.length === 0) return { status: 204 };
    return delayed(errorReply(400, OpenTsdbMessages.someFailed, OpenTsdbMessages.someFailedDetails));
  }
  const reported = request.putFault === 'miscount' ? success + 1 : success;
  const body: { success: number; failed: number; timeouts?: number; errors?: typeof errors } = {
    success: reported,
    failed,
  };
  if (timeouts > 0) body.timeouts = timeouts;
  if (details) body.errors = errors;
  // With `sync`, storage failures are only visible in `failed`: they alone leave the status 200.
  return delayed(jsonReply(failed > storageFailures || timeouts > 0 ? 400 : 200, body));
}
