import type { SpoolKey } from './spool-keys.js';
import type { SpooledRun } from './spooled-run.js';

/** One page of a spool partition, oldest first; `next` continues it (undefined: the partition's end). */
export interface SpoolPage {
  runs: SpooledRun[];
  next: string | undefined;
}

export interface QueueStats {
  /** Runs in the drain order, counted up to a cap per shard (see DynamoSpool.queueStats). */
  depth: number;
  /** The cap was reached in some shard: there are more runs than `depth`. */
  depthIsLowerBound: boolean;
  /** When the oldest run in the drain order was queued; undefined when it is empty. */
  oldestQueuedAtMs: number | undefined;
}

/** The spool as replay uses it (DynamoSpool, or a stand-in in tests). Every call ends by its signal. */
export interface SpoolStore {
  /** The drain-order partitions. */
  readonly shards: readonly string[];
  readPage(shard: string, after: string | undefined, limit: number, signal?: AbortSignal): Promise<SpoolPage>;
  /** Deletes by key; resolves with the keys it could not delete (throttled until the signal ended). */
  remove(keys: readonly SpoolKey[], signal?: AbortSignal): Promise<SpoolKey[]>;
  /**
   * Counts a refusal on the item if it still holds `readAttempts` (what this replay read); resolves with the
   * new count, or undefined when the item is gone or another replay counted it meanwhile.
   */
  recordFailure(
    key: SpoolKey,
    error: string,
    signal?: AbortSignal,
    readAttempts?: number,
  ): Promise<number | undefined>;
  /**
   * Moves a queued run to the parked partition. With `readAttempts`, only if the queued item still exists
   * with that many attempts (another replay may have delivered it meanwhile); resolves with whether it did.
   */
  park(
    run: SpooledRun,
    reason: string,
    nowMs: number,
    signal?: AbortSignal,
    readAttempts?: number,
  ): Promise<boolean>;
  queueStats(signal?: AbortSignal): Promise<QueueStats>;
  /** The body of the known-good reference (REFERENCE_KEY), unless there is none or it has expired. */
  reference(nowMs: number, signal?: AbortSignal): Promise<Uint8Array | undefined>;
  /** Keeps `body`, a run OpenTSDB stored whole, as the known-good reference (replacing the last one). */
  keepReference(body: Uint8Array, nowMs: number, signal?: AbortSignal): Promise<void>;
  parkedCount(signal?: AbortSignal): Promise<number>;
}
