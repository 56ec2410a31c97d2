// One refresh of the nodes table: fetch the whole node list, check it is believable against the largest
// list of the last week, then upsert every node with fresh stamps. Nothing is ever deleted (stale nodes
// expire through the table's TTL), nothing is written unless the whole list arrived, and no attribute the
// table knows is blanked out by an answer that does not tell it (an empty Enterprise list, API v2 after v1,
// a placeholder such as `N/A`). An answer too small to believe adds, changes and remembers nothing, but the
// nodes it does list are re-stamped: a node Catchpoint lists never expires while it lists it.

import { callFailure } from '../aws/call-failure.js';
import type { NodeListSource } from '../catchpoint-api/api-client.js';
import { errorText } from '../shared/error-text.js';
import { type CountSample, PEAK_WINDOW_MS, peakSample, withSample } from './node-count-peak.js';
import { isExpired, type NodeRecord } from './node-record.js';
import type { StoredNodes } from './node-table.js';
import { normaliseNodeList, type RecordStamp, recordStamp } from './normalise-node.js';

/** What the refresh needs of the nodes table (NodeTable provides it). */
export interface NodeStore {
  /** The node records and the counts the refresh remembered, in one read. */
  readNodes(signal?: AbortSignal): Promise<StoredNodes>;
  /** Records only, the remembered counts left as they are (a refused answer's re-stamped nodes). */
  putMany(records: readonly NodeRecord[], signal?: AbortSignal): Promise<void>;
  /** The remembered counts, then the records. */
  writeNodes(
    records: readonly NodeRecord[],
    samples: readonly CountSample[],
    nowMs: number,
    signal?: AbortSignal,
  ): Promise<void>;
}

export interface RefreshOptions {
  source: NodeListSource;
  store: NodeStore;
  /** Days until a record not refreshed again expires. */
  ttlDays: number;
  /** Epoch milliseconds. */
  now?: () => number;
  /**
   * The run fails when the API gives fewer usable nodes than this share of the peak: the most nodes an
   * accepted answer held over the last week (or, with none in that week, the table's live records).
   * Default 0.5.
   */
  minShare?: number;
  /** Ends the table's reads and writes early: the run's deadline. */
  signal?: AbortSignal;
}

export interface RefreshResult {
  apiVersion: 'v1' | 'v2';
  /** Distinct entries of the API's node list (v2: `/nodes/all` plus Enterprise nodes missing from it). */
  fetched: number;
  /** Records upserted: every usable node, so that each one's expiry moves forward. */
  written: number;
  /** Of those written, the ones whose attributes (stamps aside) were already in the table as written. */
  unchanged: number;
  /** Of those written, the ones the table did not hold. */
  added: number;
  /** Entries without a usable id or name, and repeated ids. */
  skipped: number;
  /** Unexpired records in the table before the run. */
  tableBefore: number;
  /** What the answer was held against: the week's peak, else `tableBefore`. */
  peak: number;
  durationMs: number;
}

export type RefreshFailureReason =
  /** The Catchpoint credentials could not be read or are malformed. */
  | 'credentials-failed'
  /** The node list could not be fetched in full (any page failed, credentials refused, …). */
  | 'fetch-failed'
  /** The API answered, but with no usable node. */
  | 'no-nodes'
  /** The API gave fewer than half the nodes of the week's largest answer. */
  | 'too-few-nodes'
  | 'table-read-failed'
  | 'write-failed';

/** What a failed run got to: the counts of RefreshResult it knew, and what it wrote all the same. */
export type RefreshFailureDetails = Partial<Omit<RefreshResult, 'durationMs'>> & {
  durationMs: number;
  /** `too-few-nodes`: the nodes of the refused answer whose records were re-stamped (0 if that failed). */
  stamped?: number;
};

export class RefreshError extends Error {
  override name = 'RefreshError';
  constructor(
    message: string,
    readonly reason: RefreshFailureReason,
    readonly details: RefreshFailureDetails,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The one structured line of a finished run. */
export const REFRESH_DONE = 'node refresh finished';
/** The one structured line of a failed run. */
export const REFRESH_FAILED = 'node refresh failed';

/** The log attributes of a failure: its reason and message, and whatever counts the run got to. */
export function failureAttributes(error: unknown): Record<string, unknown> {
  if (error instanceof RefreshError) return { reason: error.reason, error: error.message, ...error.details };
  return { reason: 'unexpected', error: errorText(error) };
}

const COMPARED = [
  'name',
  'asn',
  'city',
  'region',
  'country',
  'countryCode',
  'continent',
  'isp',
  'networkType',
] as const satisfies readonly (keyof NodeRecord)[];

/** True when the two records agree on everything but `updatedAt` and `expiresAt`. */
export function sameAttributes(a: NodeRecord, b: NodeRecord): boolean {
  return a.nodeId === b.nodeId && COMPARED.every((key) => (a[key] || undefined) === (b[key] || undefined));
}

export async function refreshNodes(options: RefreshOptions): Promise<RefreshResult> {
  const now = options.now ?? Date.now;
  const minShare = options.minShare ?? 0.5;
  const { signal } = options;
  const startMs = now();
  const apiVersion = options.source.version;
  const elapsed = () => Math.max(0, now() - startMs);

  let raw: Awaited<ReturnType<NodeListSource['fetchNodes']>>;
  try {
    raw = await options.source.fetchNodes();
  } catch (error) {
    throw new RefreshError(
      `could not fetch the node list (API ${apiVersion}), the table was left as it was: ${errorText(error)}`,
      'fetch-failed',
      { apiVersion, durationMs: elapsed() },
      { cause: error },
    );
  }

  const stamp = recordStamp(now(), options.ttlDays);
  const { records, skipped } = normaliseNodeList(raw, stamp);
  const fetched = records.length + skipped;

  let stored: StoredNodes;
  try {
    stored = await options.store.readNodes(signal);
  } catch (error) {
    throw new RefreshError(
      `could not read the nodes table, nothing was written: ${callFailure(error, signal)}`,
      'table-read-failed',
      { apiVersion, fetched, skipped, durationMs: elapsed() },
      { cause: error },
    );
  }
  const existing = stored.records;
  const live = existing.filter((record) => !isExpired(record, startMs));
  // The week's largest accepted answer; none (a first run, or a week without one) falls back on what the
  // table holds live, which then starts the record.
  const weekPeak = peakSample(stored.samples, startMs);
  const peak = weekPeak?.count ?? live.length;
  const counts = { apiVersion, fetched, skipped, tableBefore: live.length, peak };

  if (records.length === 0) {
    throw new RefreshError(
      `Catchpoint returned no usable node (${fetched} entries, ${skipped} skipped); the table was left as it was`,
      'no-nodes',
      { ...counts, durationMs: elapsed() },
    );
  }
  if (records.length < peak * minShare) {
    const against = weekPeak
      ? `an answer of ${weekPeak.count} on ${new Date(weekPeak.seenAtMs).toISOString()} is the most in the last ` +
        `${PEAK_WINDOW_MS / 86_400_000} days`
      : `the table holds ${live.length} live ones`;
    const { stamped, outcome } = await restampListed(options.store, existing, records, stamp, signal);
    throw new RefreshError(
      `Catchpoint returned ${records.length} usable nodes but ${against} ` +
        `(fewer than ${Math.round(minShare * 100)}%): suspecting a partial answer, ${outcome}`,
      'too-few-nodes',
      { ...counts, stamped, durationMs: elapsed() },
    );
  }

  const seenAtMs = now();
  const seeded =
    weekPeak || live.length === 0 ? stored.samples : withSample([], { seenAtMs, count: live.length });
  const samples = withSample(seeded, { seenAtMs, count: records.length });

  // Normalised again, now with what the table holds: an attribute the answer does not tell keeps its known
  // value. Expired records count too; what they say is still the last thing known about the node.
  const byId = new Map(existing.map((record) => [record.nodeId, record]));
  const toWrite = normaliseNodeList(raw, stamp, byId).records;
  let unchanged = 0;
  let added = 0;
  for (const record of toWrite) {
    const before = byId.get(record.nodeId);
    if (before === undefined) added++;
    else if (sameAttributes(before, record)) unchanged++;
  }

  try {
    await options.store.writeNodes(toWrite, samples, seenAtMs, signal);
  } catch (error) {
    throw new RefreshError(
      `writing ${toWrite.length} nodes to the table failed: ${callFailure(error, signal)}`,
      'write-failed',
      { ...counts, durationMs: elapsed() },
      { cause: error },
    );
  }
  return { ...counts, written: toWrite.length, unchanged, added, durationMs: elapsed() };
}

/**
 * A refused answer is suspected of leaving nodes out, not of misdescribing the ones it lists: those exist,
 * so their records stay live. Each is re-written as the table holds it, with the run's stamps; the answer
 * adds no node and changes no attribute, and the nodes it leaves out keep the expiry they had. Expired
 * records of listed nodes count too (DynamoDB's TTL deletes lazily): the node is listed again.
 */
async function restampListed(
  store: NodeStore,
  existing: readonly NodeRecord[],
  listed: readonly NodeRecord[],
  stamp: RecordStamp,
  signal: AbortSignal | undefined,
): Promise<{ stamped: number; outcome: string }> {
  const ids = new Set(listed.map((record) => record.nodeId));
  const restamped = existing
    .filter((record) => ids.has(record.nodeId))
    .map((record) => ({ ...record, ...stamp }));
  const unknown = listed.length - restamped.length;
  const untouched = `nothing was added, changed or remembered${unknown > 0 ? ` (${unknown} it lists are not in the table)` : ''}`;
  if (restamped.length === 0) return { stamped: 0, outcome: `the table was left as it was: ${untouched}` };
  try {
    await store.putMany(restamped, signal);
  } catch (error) {
    return {
      stamped: 0,
      outcome: `re-stamping the ${restamped.length} known nodes it lists failed (${callFailure(error, signal)}); ${untouched}`,
    };
  }
  return {
    stamped: restamped.length,
    outcome: `the ${restamped.length} known nodes it lists were re-stamped to stay live; ${untouched}`,
  };
}
