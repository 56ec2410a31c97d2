import type { Datapoint } from '../opentsdb/datapoint.js';
import type { DatapointSink, WriteOutcome } from '../opentsdb/writer.js';
import { errorText } from '../shared/error-text.js';
import { reported } from '../shared/invocation.js';
import type { Log } from '../shared/log.js';
import { DeleteQueue } from './delete-queue.js';
import { KnownGood } from './known-good.js';
import { OldestFirst } from './oldest-first.js';
import { DOWN_AFTER, PoisonEvidence } from './poison-evidence.js';
import {
  emptyResult,
  REPLAY_DEFAULTS,
  ReplayFailed,
  type ReplayOptions,
  type ReplayResult,
  type ReplaySettings,
} from './replay-result.js';
import { ownersOf } from './run-owners.js';
import type { SpoolStore } from './spool-store.js';
import { decodePoints, type SpooledRun, UnreadableRun } from './spooled-run.js';
import { WritesInFlight } from './writes-in-flight.js';

export {
  REPLAY_DEFAULTS,
  ReplayFailed,
  type ReplayOptions,
  type ReplayResult,
} from './replay-result.js';
export type { QueueStats, SpoolPage, SpoolStore } from './spool-store.js';

/** Most runs in one write, whatever their size (tiny runs would otherwise make huge batches to split). */
const MAX_RUNS_PER_WRITE = 200;
/** Time after the deadline for the last deletes, the attempt counts and the gauges. */
const AFTER_DEADLINE_MS = 4000;
/** Budget of a write of a run already suspected: a healthy run is stored at the first request. */
const SUSPECT_BUDGET_MS = 2000;
/** Attempt counts and parks in flight at once. */
const PARALLEL_CHARGES = 8;
/** The gauges a replay whose closing counts failed could not send. */
const GAUGES = ['SpoolDepth', 'SpoolOldestAgeSeconds', 'ParkedRuns'];

interface Run {
  stored: SpooledRun;
  points: Datapoint[];
}

/**
 * Drains the spool oldest first (across every shard) until it is empty or the deadline comes: many runs per
 * OpenTSDB write, several writes in flight, deletes in batches as runs finish. A run is deleted only once
 * OpenTSDB took all its points (or refused some for good); deleting after the write makes two replays at
 * once harmless (the same bytes written twice, a key deleted twice).
 *
 * Poison is decided by evidence, whatever way a write fails (see PoisonEvidence): when a write fails as a
 * whole, replay sends the next runs before it concludes anything; once a later write is stored, the runs of
 * the failed one are sent again one by one, and those that fail again are at fault. A run that failed while
 * OpenTSDB stored others is charged an attempt and parked at `maxAttempts`; only when writes keep failing
 * with nothing stored does replay conclude that OpenTSDB is down, stop, and charge nothing.
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
  private readonly settings: ReplaySettings;
  private readonly log: Log;
  private readonly result = emptyResult();
  private readonly evidence = new PoisonEvidence<Run>();
  /** Writes to send before any new batch: the runs of failed writes, again in parts. */
  private readonly retries: Array<{ runs: Run[]; suspected: boolean }> = [];
  private readonly knownGood: KnownGood;
  private readonly writing = new WritesInFlight();
  private readonly deletes: DeleteQueue;
  private stopReason: string | undefined;
  /** Runs read but not sent because the replay had stopped or its time was up. */
  private unsent = 0;
  private failure: { error: unknown } | undefined;

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
    this.knownGood = new KnownGood(spool, this.log);
    this.deletes = new DeleteQueue(spool, this.signal, this.log, (error) => this.fail(error));
  }

  async run(): Promise<ReplayResult> {
    const reader = new OldestFirst(this.spool, this.settings.pageSize, this.signal, () => this.halted());
    try {
      await this.drain(reader);
    } catch (error) {
      this.fail(error);
    }
    await this.writing.all();
    this.unsent += this.retries.reduce((n, retry) => n + retry.runs.length, 0);
    if (
      this.stopReason === undefined &&
      (!reader.exhausted || this.unsent > 0) &&
      this.now() >= this.deadlineMs
    )
      this.stopReason = 'out of time';
    const failing = this.evidence.failingSinceStored;
    // Every run left was tried, and the last writes failed with nothing stored after them.
    if (this.stopReason === undefined && failing.writes > 0 && this.evidence.unexplained > 0)
      this.stopReason = `OpenTSDB unavailable: the last ${failing.writes} write(s) failed, none stored: ${failing.reason}`;
    try {
      await this.chargeAtFault();
    } catch (error) {
      this.fail(error);
    }
    if (this.failure === undefined) await this.knownGood.keep(this.now(), this.signal());
    await this.deletes.flush();
    // Logged once, here, with what the replay had done; the invocation wrapper does not log it again.
    if (this.failure) throw reported(new ReplayFailed(this.failure.error, { ...this.result }));
    return this.count();
  }

  /** Sends the runs of failed writes again, then new batches, as many at once as the evidence allows. */
  private async drain(reader: OldestFirst): Promise<void> {
    for (;;) {
      await this.writing.untilPlace(
        this.evidence.inFlightLimit(this.settings.parallelWrites),
        this.settings.parallelWrites,
      );
      if (this.halted()) return;
      for (const group of this.evidence.takeShown()) {
        // OpenTSDB stored another write since this group's started: each run alone, all at once (within the
        // writes in flight), shows which are at fault in one round: a round waits out a poisoned write.
        this.result.splits++;
        for (const run of group) this.retries.push({ runs: [run], suspected: true });
      }
      const retry = this.retries.shift();
      const runs = retry?.runs ?? (reader.exhausted ? [] : await this.nextBatch(reader));
      if (runs.length > 0) {
        this.startWrite(runs, retry?.suspected ?? false);
        continue;
      }
      if (this.writing.size > 0) {
        await this.writing.any();
        continue;
      }
      if (this.halted() || this.evidence.unexplained === 0) return;
      // Nothing else to try, and runs failed after the last write OpenTSDB stored. A run it stored, sent
      // again (the same bytes: harmless), says whether it still stores anything; if it does, those runs
      // are sent apart once more. Without one, a group that failed as a whole goes again in halves.
      const probe = await this.knownGood.next(this.now(), this.signal());
      if (probe !== undefined) {
        await this.probe(probe);
        continue;
      }
      const group = this.evidence.takeUnexplained();
      if (group === undefined) return;
      const half = Math.ceil(group.length / 2);
      this.result.splits++;
      this.retries.push(
        { runs: group.slice(0, half), suspected: false },
        { runs: group.slice(half), suspected: false },
      );
    }
  }

  private async probe(points: Datapoint[]): Promise<void> {
    this.result.writes++;
    const token = this.evidence.start();
    const budgetMs = Math.min(this.deadlineMs - this.now(), this.settings.writeBudgetMs);
    const outcome = await this.sink.write(points, Date.now() + budgetMs);
    if (outcome.pending.length < points.length) {
      this.evidence.stored();
      return;
    }
    this.knownGood.probeFailed();
    this.evidence.failedWhole(token, [], outcome.lastError ?? 'OpenTSDB did not take the datapoints');
  }

  /** The next runs in the drain order, up to a write's worth; empty at the end of the spool. */
  private async nextBatch(reader: OldestFirst): Promise<Run[]> {
    const batch: Run[] = [];
    let bytes = 0;
    while (bytes < this.settings.batchJsonBytes && batch.length < MAX_RUNS_PER_WRITE) {
      const stored = await reader.next();
      if (stored === undefined) break;
      if (stored.expiresAt * 1000 <= this.now()) {
        this.result.expired++;
        await this.deletes.add(stored.key);
        continue;
      }
      let decoded: ReturnType<typeof decodePoints>;
      try {
        decoded = decodePoints(stored.body);
      } catch (error) {
        if (!(error instanceof UnreadableRun)) throw error;
        await this.park(stored, error.message, stored.attempts);
        continue;
      }
      batch.push({ stored, points: decoded.points });
      bytes += decoded.jsonBytes;
    }
    return batch;
  }

  private startWrite(runs: Run[], suspected: boolean): void {
    this.writing.add(this.write(runs, suspected).catch((error: unknown) => this.fail(error)));
  }

  /** Writes runs; finishes those OpenTSDB took and tells the evidence what the others show. */
  private async write(runs: Run[], suspected: boolean): Promise<void> {
    if (this.halted()) {
      this.unsent += runs.length;
      return;
    }
    const points = runs.length === 1 ? runs[0]!.points : runs.flatMap((r) => r.points);
    this.result.writes++;
    const token = this.evidence.start();
    // The writer's deadline is on the real clock, whatever clock the caller gave.
    const budgetMs = Math.min(
      this.deadlineMs - this.now(),
      suspected ? Math.min(SUSPECT_BUDGET_MS, this.settings.writeBudgetMs) : this.settings.writeBudgetMs,
    );
    const outcome = await this.sink.write(points, Date.now() + budgetMs);
    const { failing, rejectedOf } = this.sortOutcome(runs, outcome);
    for (const run of runs) if (!failing.has(run)) await this.finish(run, rejectedOf.get(run) ?? 0);
    const storedSome = outcome.written > 0 || failing.size < runs.length;
    if (storedSome) this.evidence.stored();
    if (failing.size === 0) return;

    const reason = outcome.lastError ?? 'OpenTSDB did not take the datapoints';
    const failed = runs.filter((r) => failing.has(r));
    if (storedSome) {
      this.evidence.failedBeside(token, failed, reason);
      return;
    }
    this.evidence.failedWhole(token, failed, reason, suspected);
    if (this.evidence.down)
      this.stop(`OpenTSDB unavailable: ${DOWN_AFTER} writes failed in a row, none stored: ${reason}`);
  }

  /** Which runs of a write have points not stored, and how many points of each were refused for good. */
  private sortOutcome(runs: Run[], outcome: WriteOutcome) {
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
    return { failing, rejectedOf };
  }

  private async finish(run: Run, rejected: number): Promise<void> {
    this.evidence.finished(run);
    if (rejected === 0) this.knownGood.stored(run);
    this.result.replayed++;
    this.result.datapoints += run.points.length - rejected;
    this.result.rejected += rejected;
    await this.deletes.add(run.stored.key);
  }

  /**
   * Charges each run shown to be at fault one attempt, parking those that reach `maxAttempts`. Both are
   * conditional on the item still holding the attempts this replay read: a run another replay delivered
   * (deleted) or charged meanwhile is left alone.
   */
  private async chargeAtFault(): Promise<void> {
    const uncharged = this.evidence.uncharged();
    if (uncharged.length > 0) {
      this.log.warn('spool runs failed, not charged: OpenTSDB stored nothing after they failed', {
        runs: uncharged.length,
        error: uncharged[0]![1],
      });
    }
    const charged = this.evidence.charged();
    for (let i = 0; i < charged.length; i += PARALLEL_CHARGES) {
      await Promise.all(
        charged.slice(i, i + PARALLEL_CHARGES).map(([run, reason]) => this.charge(run, reason)),
      );
    }
  }

  private async charge(run: Run, reason: string): Promise<void> {
    const { stored } = run;
    const attempts = stored.attempts + 1;
    if (attempts >= this.settings.maxAttempts) {
      const why = `failed in ${attempts} replays while OpenTSDB stored others: ${reason}`;
      if (await this.park({ ...stored, attempts }, why, stored.attempts)) this.result.charged++;
      return;
    }
    const counted = await this.spool.recordFailure(stored.key, reason, this.signal(), stored.attempts);
    if (counted === undefined) return;
    this.result.charged++;
    this.log.warn('spool run failed while OpenTSDB stored others', {
      runKey: stored.runKey,
      entry: stored.key.entry,
      attempts: counted,
      error: reason,
    });
  }

  /** Parks a run if its queued item still holds `readAttempts`; says whether it did. */
  private async park(stored: SpooledRun, reason: string, readAttempts: number): Promise<boolean> {
    const parked = await this.spool.park(stored, reason, this.now(), this.signal(), readAttempts);
    if (!parked) return false;
    this.result.parked++;
    this.log.warn('spool run parked', {
      runKey: stored.runKey,
      entry: stored.key.entry,
      attempts: stored.attempts,
      reason,
    });
    return true;
  }

  /** The closing gauges; when they cannot be read, a ReplayFailed that still carries what was done. */
  private async count(): Promise<ReplayResult> {
    const { result } = this;
    if (this.stopReason !== undefined) result.stoppedBy = this.stopReason;
    let stats: Awaited<ReturnType<SpoolStore['queueStats']>>;
    try {
      [stats, result.parkedRuns] = await Promise.all([
        this.spool.queueStats(this.signal()),
        this.spool.parkedCount(this.signal()),
      ]);
    } catch (error) {
      this.log.error('spool replay could not count the spool', {
        error: errorText(error, { withName: true }),
        notCounted: GAUGES,
        ...result,
      });
      throw reported(new ReplayFailed(error, { ...result }));
    }
    result.depth = stats.depth;
    result.depthIsLowerBound = stats.depthIsLowerBound;
    result.oldestAgeSeconds = ageSeconds(stats.oldestQueuedAtMs, this.now());
    if (result.stoppedBy && result.depth > 0) this.log.warn('spool replay stopped', { ...result });
    return result;
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

/** Seconds since `queuedAtMs`, 0 for an empty drain order. */
export function ageSeconds(queuedAtMs: number | undefined, nowMs: number): number {
  return queuedAtMs === undefined ? 0 : Math.max(0, Math.floor((nowMs - queuedAtMs) / 1000));
}
