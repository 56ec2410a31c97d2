// The spool table's keys: partition key `shard`, sort key `entry` (docs/operations.md, "The spool and its replay").
//
// Runs waiting for OpenTSDB live under `queue-00` … `queue-15`, each run's shard picked at random, with
// `entry` = `<queued at, ms, 13 digits>#<run key>#<8-char nonce>`: a Query per shard reads it oldest first,
// and no scan is ever needed. Parked runs (refused by OpenTSDB too many times) live under `parked`, out of
// the drain order, under the entry they had in the queue.
//
// Why 16 shards: a DynamoDB partition takes at most 1,000 write units/s, and one partition key value is
// never spread over several partitions for writes that all land at the end of its sort order. A spooled run
// is one item of about 0.5 KB (the v4 web fixture, 33 datapoints: 5.6 KB of JSON, 526 bytes gzipped, plus
// about 120 bytes of keys and attributes), i.e. 1 write unit (1 KB each). At 500 spooled runs/s spread over
// 16 shards: 500 / 16 ≈ 31 runs/s per shard, 31 write units/s; even runs eight times that size (4 units)
// ask 125 units/s. Replay's deletes, while it drains at ~1,000 runs/s, add ≈ 63 units/s per shard. A
// minute-boundary burst of 2,000 pushes in one second asks 125 units/s of each shard (500 with 4 KB runs):
// at most half a partition's limit. Reads are cheaper still: replay's Query of ~1,000 runs/s
// reads ~0.6 MB/s, about 10 read units/s per shard of the 3,000 allowed.

/** How many drain-order partitions there are. Raising it is safe; lowering it strands the runs in the shards
 *  dropped, since replay reads only `queueShards()`. */
export const SHARD_COUNT = 16;

/** The partition of parked runs. */
export const PARKED_SHARD = 'parked';

/**
 * The one item holding the known-good reference: a run OpenTSDB stored whole in an earlier replay, sent
 * again (the same bytes) by a replay that stored nothing, to tell poison from an outage. Its own partition,
 * outside the drain order and the parked runs: nothing that reads those partitions sees it.
 */
export const REFERENCE_KEY = { shard: 'reference', entry: 'known-good' } as const;

/** The key of one spool item. */
export interface SpoolKey {
  shard: string;
  entry: string;
}

/** `queue-00` … `queue-15`. */
export function queueShards(count = SHARD_COUNT): string[] {
  return Array.from({ length: count }, (_, i) => `queue-${String(i).padStart(2, '0')}`);
}

/** Milliseconds since the epoch fit 13 digits until the year 2286: the sort order is time order. */
const TIME_DIGITS = 13;

export function entryKey(queuedAtMs: number, runKey: string, nonce: string): string {
  return `${String(Math.max(0, Math.floor(queuedAtMs))).padStart(TIME_DIGITS, '0')}#${runKey}#${nonce}`;
}

/** When the entry was queued (its first 13 digits); NaN for a key that is not an entry. */
export function entryTimeMs(entry: string): number {
  return /^\d{13}#/.test(entry) ? Number(entry.slice(0, TIME_DIGITS)) : Number.NaN;
}
