import { isBridgeMetricName } from '../metrics/metric-names.js';
import { backoffDelay, sleep } from '../shared/backoff.js';
import type { Log } from '../shared/log.js';
import { type CircuitBreaker, circuitBreakerFor } from './circuit-breaker.js';
import { type Datapoint, serializeDatapoint } from './datapoint.js';
import { GuardedPost, type Post } from './guarded-post.js';
import { httpPost } from './http-post.js';
import { MetricRegistrar } from './metric-registration.js';
import { readPutAnswer } from './put-answer.js';
import { type RejectedPoint, sortFailures, wholeRequest } from './put-failures.js';
import { packRequestBodies, type RequestBody } from './request-body.js';

export type { RejectedPoint } from './put-failures.js';

export interface WriteOutcome {
  /** Points known stored. */
  written: number;
  /** Points refused for good: only OpenTSDB's validation reasons (and a metric name that cannot be registered). */
  rejected: RejectedPoint[];
  /** Points not known stored: the caller keeps them (spool) or has the sender retry. */
  pending: Datapoint[];
  /** Why the last attempt failed, when anything is pending. */
  lastError?: string;
  /**
   * OpenTSDB fails for everyone: the circuit breaker is open (or opened on this write's failures): nothing
   * says these points are at fault. Stop sending; keep them. False when points are pending for a reason
   * that may be their own: a request OpenTSDB refused whole, a transient per-point reason while others were
   * stored, or a failure (a 5xx, a dropped connection, every point failing in storage or timing out) that
   * only these runs' points have met so far (`suspect`).
   */
  unavailable: boolean;
  /**
   * Some pending points met a failure that may be their content's rather than OpenTSDB's (see
   * `unavailable`): the breaker stayed closed, and they were not sent again. Absent when none did.
   */
  suspect?: boolean;
}

/** How a write's points are grouped, for the circuit breaker's evidence. */
export interface WriteOptions {
  /**
   * The run (any stable key: a run key) each point belongs to. The breaker opens only on failures of at
   * least two different runs (circuit-breaker.ts); a write that holds several runs (a replay) says which
   * point is whose. Default: every point of the call is one run of its own.
   */
  runOf?: (point: Datapoint) => string;
}

/** Where datapoints go: OpenTSDB, or the console when the local server has no OpenTSDB. */
export interface DatapointSink {
  write(points: readonly Datapoint[], deadlineMs: number, options?: WriteOptions): Promise<WriteOutcome>;
}

export interface WriterOptions {
  /** Upper bound of one HTTP request. */
  timeoutMs: number;
  log: Log;
  /** `sync`: OpenTSDB answers once the points are stored, not once they are queued (default true). */
  sync?: boolean;
  /** Default: the process's breaker for this OpenTSDB (`circuitBreakerFor`). */
  breaker?: CircuitBreaker;
  /** Metric names that may be registered with `/api/uid/assign`; default: the bridge's own. */
  mayRegister?: (metric: string) => boolean;
  /** Shortest request worth starting when the deadline is near. */
  minRequestMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  post?: Post;
}

/**
 * Kept back from a request's own timeout for its `sync_timeout`, so that OpenTSDB's "Write timedout" answer
 * (which says which points were stored) arrives before the request times out (which says nothing).
 */
export const SYNC_MARGIN_MS = 250;

/** The `sync_timeout` of a request that may take `requestMs`: never 0, which would mean "wait forever". */
export function syncTimeoutFor(requestMs: number): number {
  // sync_timeout is a whole number of ms (OpenTSDB parses it as an integer): never send a fraction.
  return Math.max(1, Math.floor(requestMs) - Math.min(SYNC_MARGIN_MS, Math.floor(requestMs / 4)));
}

const HEADERS = {
  gzip: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
  identity: { 'Content-Type': 'application/json' },
};

/** Where and how the functions write: OPENTSDB_URL, OPENTSDB_TIMEOUT_MS and OPENTSDB_SYNC, read once. */
export interface OpenTsdbSettings {
  openTsdbUrl: string;
  openTsdbTimeoutMs: number;
  openTsdbSync: boolean;
}

/** The writer of a function (push, replay, `npm start`'s), from its configuration. */
export function openTsdbWriter(settings: OpenTsdbSettings, log: Log): OpenTsdbWriter {
  return new OpenTsdbWriter(settings.openTsdbUrl, {
    timeoutMs: settings.openTsdbTimeoutMs,
    sync: settings.openTsdbSync,
    log,
  });
}

/** One write call: where its outcome goes, its deadline, and whose each point is. */
interface WriteCall {
  deadlineMs: number;
  outcome: WriteOutcome;
  runOf: (point: Datapoint) => string;
}

/** Each write call without `runOf` is a run of its own. */
let anonymousWrites = 0;

/**
 * Writes datapoints through OpenTSDB's `/api/put?details&sync&sync_timeout=…`, reading every answer: points
 * OpenTSDB refuses for validation reasons are logged and given back as rejected; unknown metric names the
 * bridge defines are registered and the points resent; every other failure leaves points pending. While
 * OpenTSDB fails, the circuit breaker makes writes return at once with everything pending.
 */
export class OpenTsdbWriter implements DatapointSink {
  private readonly baseUrl: string;
  private readonly sync: boolean;
  private readonly breaker: CircuitBreaker;
  private readonly requests: GuardedPost;
  private readonly registrar: MetricRegistrar;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly minRequestMs: number;
  private readonly log: Log;
  private readonly putUrls = new Map<number, URL>();

  constructor(
    baseUrl: string,
    private readonly options: WriterOptions,
  ) {
    this.baseUrl = baseUrl;
    this.sync = options.sync ?? true;
    this.breaker = options.breaker ?? circuitBreakerFor(baseUrl);
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? sleep;
    this.minRequestMs = options.minRequestMs ?? 100;
    this.log = options.log;
    this.requests = new GuardedPost(this.breaker, options.post ?? httpPost, options.log);
    this.registrar = new MetricRegistrar({
      baseUrl,
      requests: this.requests,
      mayRegister: options.mayRegister ?? isBridgeMetricName,
      timeoutMs: options.timeoutMs,
      minRequestMs: this.minRequestMs,
      now: this.now,
      log: options.log,
    });
  }

  async write(
    points: readonly Datapoint[],
    deadlineMs: number,
    options: WriteOptions = {},
  ): Promise<WriteOutcome> {
    const outcome: WriteOutcome = { written: 0, rejected: [], pending: [], unavailable: false };
    let runOf = options.runOf;
    if (runOf === undefined) {
      const run = `write#${++anonymousWrites}`;
      runOf = () => run;
    }
    const call: WriteCall = { deadlineMs, outcome, runOf };
    const { bodies, oversized } = packRequestBodies(points);
    for (const point of oversized)
      outcome.rejected.push({ point, reason: 'datapoint larger than a request may be' });
    for (const body of bodies) await this.writeBatch(body.points, body, call);
    if (outcome.rejected.length > 0) this.logRejected(outcome.rejected);
    return outcome;
  }

  /** The URL of a put that may take `timeoutMs`; the few distinct ones are kept, not parsed per request. */
  private putUrl(timeoutMs: number): URL {
    const syncTimeout = this.sync ? syncTimeoutFor(timeoutMs) : 0;
    let url = this.putUrls.get(syncTimeout);
    if (url === undefined) {
      url = new URL(
        this.sync
          ? `${this.baseUrl}/api/put?details&sync&sync_timeout=${syncTimeout}`
          : `${this.baseUrl}/api/put?details`,
      );
      // Near a deadline every request has its own timeout: keep the map small.
      if (this.putUrls.size >= 16) this.putUrls.clear();
      this.putUrls.set(syncTimeout, url);
    }
    return url;
  }

  private async writeBatch(
    firstPoints: readonly Datapoint[],
    firstBody: RequestBody | undefined,
    call: WriteCall,
  ): Promise<void> {
    const { deadlineMs, outcome } = call;
    let points = firstPoints;
    let body = firstBody;
    let attempt = 0;
    // Whether the last attempt met OpenTSDB failing (rather than an answer about these points).
    let failing = false;
    // Names registered during this batch: one that is still unknown afterwards waits like any transient.
    // Made when first needed: nearly every batch is stored at once.
    let registered: Set<string> | undefined;
    while (points.length > 0) {
      const remaining = deadlineMs - this.now();
      if (remaining < this.minRequestMs) {
        outcome.pending.push(...points);
        if (failing) outcome.unavailable = true;
        outcome.lastError ??= 'no time left for another request';
        return;
      }
      if (body === undefined) {
        const packed = packRequestBodies(points);
        for (const point of packed.oversized) outcome.rejected.push({ point, reason: 'datapoint too large' });
        if (packed.bodies.length !== 1) {
          for (const b of packed.bodies) await this.writeBatch(b.points, b, call);
          return;
        }
        body = packed.bodies[0]!;
        points = body.points;
      }
      attempt++;
      const timeoutMs = Math.min(this.options.timeoutMs, remaining);
      const sent = await this.requests.send(
        this.putUrl(timeoutMs),
        body.bytes,
        HEADERS[body.encoding],
        timeoutMs,
        () => wholeRequest(points, call.runOf),
      );
      if (sent.kind === 'blocked') {
        outcome.pending.push(...points);
        outcome.unavailable = true;
        // A write that met the failure itself says what it met; the others why they did not ask.
        if (!failing)
          outcome.lastError = `OpenTSDB failing, not asked before the next probe: ${this.breaker.lastFailure ?? 'unknown'}`;
        return;
      }
      if (sent.kind === 'failed') {
        outcome.lastError = sent.reason;
        if (sent.effect.suspect) return this.suspect(points, outcome);
        failing = true;
        await this.backoff(attempt, deadlineMs);
        continue;
      }
      const { admission } = sent;
      const put = readPutAnswer(sent.answer, points.length);
      switch (put.kind) {
        case 'stored':
          this.requests.succeeded(admission);
          outcome.written += points.length;
          return;
        case 'unreadable': {
          // Nothing is known to be stored: the same bytes go again (identical points are harmless), unless
          // this may be these points' own failure (an exception that follows some content).
          outcome.lastError = `OpenTSDB answered ${put.reason}`;
          const effect = this.requests.failed(admission, outcome.lastError, points.length, () =>
            wholeRequest(points, call.runOf),
          );
          if (effect.suspect) return this.suspect(points, outcome);
          failing = true;
          await this.backoff(attempt, deadlineMs);
          continue;
        }
        case 'too-large': {
          // Only a server configured with a lower limit than the standard one gets here: halve and go on.
          this.breaker.released(admission);
          failing = false;
          body = undefined;
          if (points.length === 1) {
            outcome.pending.push(points[0]!);
            outcome.lastError = 'OpenTSDB refused a single datapoint as too large ("chunked")';
            return;
          }
          const half = Math.ceil(points.length / 2);
          await this.writeBatch(points.slice(half), undefined, call);
          points = points.slice(0, half);
          continue;
        }
        case 'refused':
          // The whole request refused without details: nothing says which point is at fault, and sending
          // it again gets the same answer. The caller keeps the points (push spools, replay splits).
          this.breaker.released(admission);
          outcome.pending.push(...points);
          outcome.lastError = `OpenTSDB refused the request: ${put.reason}`;
          this.log.warn('opentsdb refused the request', { error: put.reason, points: points.length });
          return;
        case 'partial': {
          const sorted = sortFailures(points, put);
          if (sorted === undefined && put.timeouts !== undefined) {
            // A passed sync_timeout whose details do not name every point that failed or timed out: the
            // counts say how many were stored, not which, so none is settled as stored. All stay pending
            // (sent again they would be identical duplicates of the stored ones), without waiting another
            // sync_timeout here; the answer is read as the points' fates, as when they are named.
            outcome.lastError = `OpenTSDB's sync_timeout passed: ${put.success} stored, ${put.failed} failed, ${put.timeouts} timed out, not all named`;
            if (put.success > 0) this.requests.succeeded(admission);
            else if (
              this.requests.failed(admission, outcome.lastError, points.length, () =>
                wholeRequest(points, call.runOf),
              ).suspect
            )
              return this.suspect(points, outcome);
            else outcome.unavailable = true;
            outcome.pending.push(...points);
            return;
          }
          if (sorted === undefined) {
            outcome.lastError = `OpenTSDB answered details naming fewer than the ${put.failed} points it failed`;
            const effect = this.requests.failed(admission, outcome.lastError, points.length, () =>
              wholeRequest(points, call.runOf),
            );
            if (effect.suspect) return this.suspect(points, outcome);
            failing = true;
            await this.backoff(attempt, deadlineMs);
            continue;
          }
          body = undefined;
          outcome.written += put.success;
          outcome.rejected.push(...sorted.rejected);
          // Timed out (a passed sync_timeout): pending, not sent again now, which would wait as long again;
          // the write may still land, and a later identical one is a harmless duplicate.
          outcome.pending.push(...sorted.timedOut.map((t) => t.point));
          const firstTransient = sorted.transient[0] ?? sorted.timedOut[0];
          if (firstTransient) outcome.lastError = `OpenTSDB: ${firstTransient.reason}`;
          // Nothing stored and points failed for reasons of OpenTSDB's own ("Storage exception", "Write
          // timedout", "Please throttle", …): the storage behind the TSD may be failing for every writer.
          // This counts as a failure (otherwise, with `sync`, every push of an HBase outage would wait its
          // whole sync_timeout for the same answer): points of several runs failing so open the breaker,
          // one run's leave it closed and are handed back pending (they may be that run's own). One point
          // stored shows that the storage works: the others' reasons are their own.
          failing = put.success === 0 && firstTransient !== undefined;
          if (failing) {
            const failed = [...sorted.transient, ...sorted.timedOut];
            const effect = this.requests.failed(
              admission,
              outcome.lastError ?? 'every point failed',
              points.length,
              () => ({
                runs: new Set(failed.map((f) => call.runOf(f.point))),
                perPoint: true,
              }),
            );
            if (effect.suspect) {
              outcome.pending.push(...sorted.transient.map((t) => t.point));
              sorted.transient.length = 0;
              outcome.suspect = true;
              failing = false;
            } else if (sorted.timedOut.length > 0) outcome.unavailable = true;
          } else {
            this.requests.succeeded(admission);
            if (firstTransient) {
              this.log.warn('opentsdb write failed', {
                error: outcome.lastError,
                points: sorted.transient.length + sorted.timedOut.length,
                stored: put.success,
              });
            }
          }
          const retry = sorted.transient.map((t) => t.point);
          let wait = retry.length > 0;
          if (sorted.unknownMetric.length > 0) {
            registered ??= new Set();
            const registration = await this.registrar.register(sorted.unknownMetric, registered, deadlineMs);
            outcome.rejected.push(...registration.rejected);
            retry.push(...registration.retry);
            if (registration.failure) {
              outcome.lastError = registration.failure;
              wait = true;
            }
          }
          points = retry;
          if (wait) await this.backoff(attempt, deadlineMs);
        }
      }
    }
  }

  /**
   * A failure these points' runs alone have met (the breaker stayed closed): they are handed back pending
   * at once, not sent again, as the same content would likely fail the same way (a poisoned run); the
   * caller keeps them (push spools, replay finds the poison). Requests of other runs decide whether
   * OpenTSDB fails for everyone.
   */
  private suspect(points: readonly Datapoint[], outcome: WriteOutcome): void {
    outcome.pending.push(...points);
    outcome.suspect = true;
  }

  /** Waits before the next attempt, unless the breaker is open: then the next attempt returns at once. */
  private async backoff(attempt: number, deadlineMs: number): Promise<void> {
    if (this.breaker.state !== 'closed') return;
    const delay = backoffDelay(attempt, 100, 2000);
    const wait = Math.min(delay, Math.max(0, deadlineMs - this.now() - this.minRequestMs));
    if (wait > 0) await this.sleep(wait);
  }

  private logRejected(rejected: RejectedPoint[]): void {
    for (const { point, reason } of rejected.slice(0, 10)) {
      this.log.error('opentsdb rejected datapoint', { datapoint: serializeDatapoint(point), reason });
    }
    if (rejected.length > 10) {
      this.log.error('opentsdb rejected more datapoints', { more: rejected.length - 10 });
    }
  }
}
