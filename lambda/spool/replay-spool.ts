import { type Datapoint, serializeDatapoint } from '../opentsdb/datapoint.js';
import type { DatapointSink } from '../opentsdb/writer.js';
import { errorText } from '../shared/error-text.js';
import { reported } from '../shared/invocation.js';
import type { Log } from '../shared/log.js';
import type { SpoolKey } from './spool-keys.js';
import { decodePoints, type SpooledRun, UnreadableRun } from './spooled-run.js';

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
  /** Counts a refusal on the item; undefined when the item is gone. */
  recordFailure(key: SpoolKey, error: string, signal?: AbortSignal): Promise<number | undefined>;
  park(run: SpooledRun, reason: string, nowMs: number, signal?: AbortSignal): Promise<void>;
  queueStats(signal?: AbortSignal): Promise<QueueStats>;
  parkedCount(signal?: AbortSignal): Promise<number>;
}

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
  /** Replays in which a run was refused on its own before it is parked. */
  maxAttempts?: number;
  /** Longest one write may take, the writer's retries included. */
  writeBudgetMs?: number;
  /** Items per Query page. */
  pageSize?: number;
}

export const REPLAY_DEFAULTS = {
  // OpenTSDB answers a `sync` put once its next flush has stored the points (tsd.storage.flush_interval,
  // 1 s by default: 0.5 s on average), so a drain is mostly waiting: 40 puts of ~13 runs in flight make
  // about 1,000 runs/s, what the replay's CPU share at 512 MB can serialise anyway (docs/figures.md).
  parallelWrites: 40,
  // The writer gathers up to 40,000 bytes of JSON into a request body before gzipping it
  // (lambda/opentsdb/request-body.ts): a batch just under that is one request. A realistic run is 1–6 KB of
  // JSON (8–33 datapoints), so one request carries 10–30 runs.
  batchJsonBytes: 36_000,
  maxAttempts: 3,
  writeBudgetMs: 5000,
  pageSize: 100,
};

/** Most runs in one write, whatever their size (tiny runs would otherwise make huge batches to split). */
const MAX_RUNS_PER_WRITE = 200;
/** Writes refused outright in a row, none stored between them: OpenTSDB refuses everything, stop. */
const REFUSALS_IN_A_ROW = 8;
/** Deletes in flight at once (BatchWriteItem calls of 25). */
const PARALLEL_DELETES = 4;
const DELETE_BATCH = 25;
/** Time after the deadline for the last deletes, the attempt counts and the gauges. */
const AFTER_DEADLINE_MS = 4000;

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
  /** Refused writes split in two to find the runs at fault. */
  splits: number;
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

interface Run {
  stored: SpooledRun;
  points: Datapoint[];
}

/**
 * Drains the spool oldest first (across every shard) until it is empty or the deadline comes: many runs per
 * OpenTSDB write, several writes in flight, deletes in batches as runs finish. A run is deleted only once
 * OpenTSDB took all its points (or refused some for good). When OpenTSDB is unavailable, replay stops and
 * leaves every unfinished run. A refused write is split in halves until the runs at fault are alone; those
 * are charged an attempt (if OpenTSDB stored other runs in this replay: a refusal of everything says nothing
 * about one run) and parked after `maxAttempts`, and never hold back the others. A crash between a write
 * and its delete replays those runs again, which is harmless: their points serialise to the same bytes.
 */
export async function replaySpool(
  spool: SpoolStore,
  sink: DatapointSink,
  options: ReplayOptions,
): Promise<ReplayResult> {
  return new SpoolReplay(spool, sink, options).run();
}

class SpoolReplay {
  private readonly now: () => number;
  private readonly deadlineMs: number;
  private readonly finishByRealMs: number;
  private readonly settings: typeof REPLAY_DEFAULTS;
  private readonly log: Log;
  private readonly result: ReplayResult = {
    replayed: 0,
    datapoints: 0,
    rejected: 0,
    parked: 0,
    expired: 0,
    writes: 0,
    splits: 0,
    depth: 0,
    depthIsLowerBound: false,
    oldestAgeSeconds: 0,
    parkedRuns: 0,
  };
  private stopReason: string | undefined;
  /** Runs read but not sent because the replay had stopped or its time was up. */
  private unsent = 0;
  private failure: { error: unknown } | undefined;
  private storedWrites = 0;
  private refusedInARow = 0;
  /** Runs OpenTSDB refused on their own, with why. */
  private readonly suspects = new Map<Run, string>();
  private readonly toDelete: SpoolKey[] = [];
  private readonly deleting = new Set<Promise<void>>();

  constructor(
    private readonly spool: SpoolStore,
    private readonly sink: DatapointSink,
    options: ReplayOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.log = options.log;
    this.deadlineMs = options.deadlineMs;
    const finishBy = options.finishByMs ?? options.deadlineMs + AFTER_DEADLINE_MS;
    // Abort signals run on the real clock, whatever clock the caller gave.
    this.finishByRealMs = Date.now() + (finishBy - this.now());
    this.settings = {
      parallelWrites: options.parallelWrites ?? REPLAY_DEFAULTS.parallelWrites,
      batchJsonBytes: options.batchJsonBytes ?? REPLAY_DEFAULTS.batchJsonBytes,
      maxAttempts: options.maxAttempts ?? REPLAY_DEFAULTS.maxAttempts,
      writeBudgetMs: options.writeBudgetMs ?? REPLAY_DEFAULTS.writeBudgetMs,
      pageSize: options.pageSize ?? REPLAY_DEFAULTS.pageSize,
    };
  }

  async run(): Promise<ReplayResult> {
    const reader = new OldestFirst(this.spool, this.settings.pageSize, this.signal, () => this.halted());
    const writing = new Set<Promise<void>>();
    let batch: Run[] = [];
    let batchBytes = 0;
    const dispatch = async (): Promise<void> => {
      const runs = batch;
      batch = [];
      batchBytes = 0;
      // One write alone until OpenTSDB has stored one in this replay: after an outage it is the circuit
      // breaker's probe, and writes sent beside it would come back "unavailable" and stop the replay.
      while (writing.size >= (this.storedWrites > 0 ? this.settings.parallelWrites : 1))
        await Promise.race(writing);
      const task = this.writeRuns(runs)
        .catch((error: unknown) => this.fail(error))
        .finally(() => writing.delete(task));
      writing.add(task);
    };
    try {
      for (;;) {
        const stored = await reader.next();
        if (stored === undefined) break;
        if (stored.expiresAt * 1000 <= this.now()) {
          this.result.expired++;
          await this.queueDelete(stored.key);
          continue;
        }
        let decoded: ReturnType<typeof decodePoints>;
        try {
          decoded = decodePoints(stored.body);
        } catch (error) {
          if (!(error instanceof UnreadableRun)) throw error;
          await this.park(stored, error.message);
          continue;
        }
        batch.push({ stored, points: decoded.points });
        batchBytes += decoded.jsonBytes;
        if (batchBytes >= this.settings.batchJsonBytes || batch.length >= MAX_RUNS_PER_WRITE)
          await dispatch();
      }
      if (batch.length > 0) await dispatch();
    } catch (error) {
      this.fail(error);
    }
    await Promise.all(writing);
    if (
      this.stopReason === undefined &&
      (!reader.exhausted || this.unsent > 0) &&
      this.now() >= this.deadlineMs
    )
      this.stopReason = 'out of time';
    try {
      await this.chargeSuspects();
    } catch (error) {
      this.fail(error);
    }
    await this.flushDeletes();
    // Logged once, here, with what the replay had done; the invocation wrapper does not log it again.
    if (this.failure) throw reported(new ReplayFailed(this.failure.error, { ...this.result }));

    const [stats, parkedRuns] = await Promise.all([
      this.spool.queueStats(this.signal()),
      this.spool.parkedCount(this.signal()),
    ]);
    const { result } = this;
    result.depth = stats.depth;
    result.depthIsLowerBound = stats.depthIsLowerBound;
    result.oldestAgeSeconds =
      stats.oldestQueuedAtMs === undefined
        ? 0
        : Math.max(0, Math.floor((this.now() - stats.oldestQueuedAtMs) / 1000));
    result.parkedRuns = parkedRuns;
    if (this.stopReason !== undefined) result.stoppedBy = this.stopReason;
    if (result.stoppedBy && result.depth > 0) this.log.warn('spool replay stopped', { ...result });
    return result;
  }

  /** Writes a batch; finishes the runs OpenTSDB took and splits the refused ones until each is alone. */
  private async writeRuns(runs: Run[]): Promise<void> {
    if (this.halted()) {
      this.unsent += runs.length;
      return;
    }
    const points = runs.length === 1 ? runs[0]!.points : runs.flatMap((r) => r.points);
    this.result.writes++;
    // The writer's deadline is on the real clock, whatever clock the caller gave.
    const budgetMs = Math.min(this.deadlineMs - this.now(), this.settings.writeBudgetMs);
    const outcome = await this.sink.write(points, Date.now() + budgetMs);
    const owner = ownersOf(runs);
    const failing = new Set<Run>();
    for (const point of outcome.pending) {
      const run = owner(point);
      if (run === undefined) {
        // A point the writer did not hand back as given: keep every run of the write.
        for (const r of runs) failing.add(r);
        break;
      }
      failing.add(run);
    }
    const rejectedOf = new Map<Run, number>();
    for (const { point } of outcome.rejected) {
      const run = owner(point);
      if (run === undefined) this.result.rejected++;
      else rejectedOf.set(run, (rejectedOf.get(run) ?? 0) + 1);
    }
    for (const run of runs) if (!failing.has(run)) await this.finish(run, rejectedOf.get(run) ?? 0);
    if (failing.size < runs.length) {
      this.storedWrites++;
      this.refusedInARow = 0;
    }
    if (failing.size === 0) return;

    const reason = outcome.lastError ?? 'OpenTSDB did not take the datapoints';
    if (outcome.unavailable) {
      this.stop(`OpenTSDB unavailable: ${reason}`);
      return;
    }
    if (failing.size === runs.length && ++this.refusedInARow >= REFUSALS_IN_A_ROW) {
      this.stop(`OpenTSDB refused ${REFUSALS_IN_A_ROW} writes in a row: ${reason}`);
      return;
    }
    const refused = runs.filter((r) => failing.has(r));
    if (refused.length === 1) {
      this.suspects.set(refused[0]!, reason);
      return;
    }
    const half = Math.ceil(refused.length / 2);
    this.result.splits++;
    await this.writeRuns(refused.slice(0, half));
    await this.writeRuns(refused.slice(half));
  }

  private async finish(run: Run, rejected: number): Promise<void> {
    this.suspects.delete(run);
    this.result.replayed++;
    this.result.datapoints += run.points.length - rejected;
    this.result.rejected += rejected;
    await this.queueDelete(run.stored.key);
  }

  /**
   * Charges the runs refused on their own one attempt each, parking those that reach `maxAttempts` — but
   * only when OpenTSDB stored other runs in this replay; otherwise it refused everything and no run is
   * shown to be at fault.
   */
  private async chargeSuspects(): Promise<void> {
    if (this.suspects.size === 0) return;
    if (this.storedWrites === 0) {
      this.log.warn('spool runs refused, not charged: OpenTSDB stored nothing in this replay', {
        runs: this.suspects.size,
        error: [...this.suspects.values()][0],
      });
      return;
    }
    const suspects = [...this.suspects];
    for (let i = 0; i < suspects.length; i += 8) {
      await Promise.all(
        suspects.slice(i, i + 8).map(async ([run, reason]) => {
          const { stored } = run;
          const attempts =
            stored.attempts + 1 >= this.settings.maxAttempts
              ? stored.attempts + 1
              : await this.spool.recordFailure(stored.key, reason, this.signal());
          if (attempts === undefined) return;
          this.log.warn('spool run refused by OpenTSDB', {
            runKey: stored.runKey,
            entry: stored.key.entry,
            attempts,
            error: reason,
          });
          if (attempts >= this.settings.maxAttempts)
            await this.park({ ...stored, attempts }, `refused in ${attempts} replays: ${reason}`);
        }),
      );
    }
  }

  private async park(stored: SpooledRun, reason: string): Promise<void> {
    await this.spool.park(stored, reason, this.now(), this.signal());
    this.result.parked++;
    this.log.warn('spool run parked', {
      runKey: stored.runKey,
      entry: stored.key.entry,
      attempts: stored.attempts,
      reason,
    });
  }

  private async queueDelete(key: SpoolKey): Promise<void> {
    this.toDelete.push(key);
    if (this.toDelete.length < DELETE_BATCH) return;
    while (this.deleting.size >= PARALLEL_DELETES) await Promise.race(this.deleting);
    this.startDelete(this.toDelete.splice(0, DELETE_BATCH));
  }

  private startDelete(keys: SpoolKey[]): void {
    const task = this.spool
      .remove(keys, this.signal())
      .then((left) => {
        // Replayed again next time: an identical rewrite is harmless.
        if (left.length > 0) this.log.warn('spool deletes left unprocessed', { runs: left.length });
      })
      .catch((error: unknown) => this.fail(error))
      .finally(() => this.deleting.delete(task));
    this.deleting.add(task);
  }

  private async flushDeletes(): Promise<void> {
    while (this.toDelete.length > 0) {
      while (this.deleting.size >= PARALLEL_DELETES) await Promise.race(this.deleting);
      this.startDelete(this.toDelete.splice(0, DELETE_BATCH));
    }
    await Promise.all(this.deleting);
  }

  private readonly signal = (): AbortSignal =>
    AbortSignal.timeout(Math.max(1, this.finishByRealMs - Date.now()));

  private halted(): boolean {
    return this.stopReason !== undefined || this.failure !== undefined || this.now() >= this.deadlineMs;
  }

  private stop(reason: string): void {
    this.stopReason ??= reason;
  }

  private fail(error: unknown): void {
    if (this.failure === undefined) {
      this.failure = { error };
      this.log.error('spool replay failed', {
        error: errorText(error, { withName: true }),
        replayed: this.result.replayed,
      });
    }
  }
}

/**
 * A replay that failed part way (DynamoDB refused a call, a defect): what it had done by then, so that the
 * handler still counts the runs it wrote and deleted. The message is the cause's.
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

/** Which run a point of a write belongs to: by identity, or else by its serialised form. */
function ownersOf(runs: readonly Run[]): (point: Datapoint) => Run | undefined {
  const byPoint = new Map<Datapoint, Run>();
  for (const run of runs) for (const point of run.points) byPoint.set(point, run);
  let byText: Map<string, Run> | undefined;
  return (point) => {
    const run = byPoint.get(point);
    if (run !== undefined) return run;
    if (byText === undefined) {
      byText = new Map();
      for (const r of runs) for (const p of r.points) byText.set(serializeDatapoint(p), r);
    }
    return byText.get(serializeDatapoint(point));
  };
}

interface Cursor {
  shard: string;
  buffer: SpooledRun[];
  after: string | undefined;
  more: boolean;
  loading: Promise<void> | undefined;
  error: { error: unknown } | undefined;
}

/**
 * The queued runs in entry order across every shard: a merge of one Query cursor per shard, each reading
 * its next page ahead once its buffer is half used. No Query starts once `halted` says so.
 */
class OldestFirst {
  private readonly cursors: Cursor[];
  /** Every shard was read to its end. */
  exhausted = false;

  constructor(
    private readonly store: SpoolStore,
    private readonly pageSize: number,
    private readonly signal: () => AbortSignal,
    private readonly halted: () => boolean,
  ) {
    this.cursors = store.shards.map((shard) => ({
      shard,
      buffer: [],
      after: undefined,
      more: true,
      loading: undefined,
      error: undefined,
    }));
  }

  async next(): Promise<SpooledRun | undefined> {
    for (;;) {
      for (const c of this.cursors) if (c.error) throw c.error.error;
      if (this.halted()) return undefined;
      // A shard's next run may be the oldest of all: every shard that may hold more shows its head first.
      const empty = this.cursors.filter((c) => c.buffer.length === 0 && c.more);
      if (empty.length > 0) {
        await Promise.all(empty.map((c) => this.fill(c)));
        continue;
      }
      let oldest: Cursor | undefined;
      for (const c of this.cursors) {
        if (
          c.buffer.length > 0 &&
          (oldest === undefined || c.buffer[0]!.key.entry < oldest.buffer[0]!.key.entry)
        )
          oldest = c;
      }
      if (oldest === undefined) {
        this.exhausted = true;
        return undefined;
      }
      const run = oldest.buffer.shift()!;
      if (oldest.more && oldest.buffer.length <= this.pageSize / 2) void this.fill(oldest);
      return run;
    }
  }

  private fill(c: Cursor): Promise<void> {
    c.loading ??= this.store
      .readPage(c.shard, c.after, this.pageSize, this.signal())
      .then(
        (page) => {
          c.buffer.push(...page.runs);
          c.after = page.next;
          c.more = page.next !== undefined;
        },
        (error: unknown) => {
          c.error = { error };
          c.more = false;
        },
      )
      .finally(() => {
        c.loading = undefined;
      });
    return c.loading;
  }
}
