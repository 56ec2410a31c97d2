import { errorText } from '../shared/error-text.js';
import type { Log } from '../shared/log.js';

export interface ReplayOptions {
  /** From then on no Query and no OpenTSDB write starts; writes under way end by it too. */
  deadlineMs: number;
  /** Every spool call made after the deadline (deletes, counts) is abandoned by then. */
  finishByMs?: number;
  log: Log;
  now?: () => number;
  /** OpenTSDB writes in flight at once. */
  parallelWrites?: number;
  /** JSON bytes of the runs given to one write (see REPLAY_DEFAULTS). */
  batchJsonBytes?: number;
  /** Replays in which a run failed while others were stored before it is parked. */
  maxAttempts?: number;
  /** Longest one write may take, the writer's retries included. */
  writeBudgetMs?: number;
  /** Items per Query page. */
  pageSize?: number;
}

export const REPLAY_DEFAULTS = {
  // OpenTSDB answers a `sync` put once asynchbase has flushed the points to HBase, which it does every
  // `hbase.rpcs.buffered_flush_interval` (1 s by default: 0.5 s on average), so a drain is mostly waiting:
  // 40 puts of ~13 runs in flight make about 1,000 runs/s, what the replay's CPU share at 512 MB can
  // serialise anyway (docs/figures.md).
  parallelWrites: 40,
  // The writer gathers up to 40,000 bytes of JSON into a request body before gzipping it
  // (lambda/opentsdb/request-body.ts): a batch just under that is one request. A realistic run is 1–6 KB of
  // JSON (8–33 datapoints), so one request carries 10–30 runs.
  batchJsonBytes: 36_000,
  maxAttempts: 3,
  writeBudgetMs: 5000,
  pageSize: 100,
};

export type ReplaySettings = typeof REPLAY_DEFAULTS;

export interface ReplayResult {
  /** Runs written to OpenTSDB (or refused by it for good) and deleted from the spool. */
  replayed: number;
  /** Datapoints of those runs that OpenTSDB stored. */
  datapoints: number;
  /** Datapoints OpenTSDB refused for good; their runs are done, since a resend cannot help. */
  rejected: number;
  /** Runs moved to the parked partition in this replay. */
  parked: number;
  /** Runs past their retention (DynamoDB's TTL had not removed them yet): deleted unsent. */
  expired: number;
  /** OpenTSDB writes (each one or a few requests). */
  writes: number;
  /** Writes that failed as a whole sent again in parts to find the runs at fault. */
  splits: number;
  /** Runs that failed while OpenTSDB stored others, charged an attempt (parked ones included). */
  charged: number;
  /** Runs in the drain order when the replay ended (see QueueStats). */
  depth: number;
  depthIsLowerBound: boolean;
  /** Age of the oldest run in the drain order, in seconds (0 when it is empty). */
  oldestAgeSeconds: number;
  /** Runs in the parked partition when the replay ended. */
  parkedRuns: number;
  /** Why replay stopped before the drain order was empty, if it did. */
  stoppedBy?: string;
}

export function emptyResult(): ReplayResult {
  return {
    replayed: 0,
    datapoints: 0,
    rejected: 0,
    parked: 0,
    expired: 0,
    writes: 0,
    splits: 0,
    charged: 0,
    depth: 0,
    depthIsLowerBound: false,
    oldestAgeSeconds: 0,
    parkedRuns: 0,
  };
}

/**
 * A replay that failed part way (DynamoDB refused a call, a defect), or whose closing counts failed: what it
 * had done by then, so that the handler still counts the runs it wrote and deleted; its gauges (depth, age,
 * parked runs) are unknown. The message is the cause's.
 */
export class ReplayFailed extends Error {
  override name = 'ReplayFailed';
  constructor(
    override readonly cause: unknown,
    readonly partial: ReplayResult,
  ) {
    super(errorText(cause, { withName: true }), { cause });
  }
}
