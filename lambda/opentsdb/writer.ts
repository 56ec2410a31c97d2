import { isBridgeMetricName } from '../metrics/metric-names.js';
import { backoffDelay, sleep } from '../shared/backoff.js';
import type { Log } from '../shared/log.js';
import {
  type Admission,
  type CircuitBreaker,
  circuitBreakerFor,
  type FailureEffect,
  type FailureEvidence,
} from './circuit-breaker.js';
import { type Datapoint, serializeDatapoint } from './datapoint.js';
import { httpPost, type PostAnswer } from './http-post.js';
import { readAssignErrors, readPutAnswer } from './put-answer.js';
import {
  describeFailure,
  isDropped,
  type RejectedPoint,
  sortFailures,
  wholeRequest,
} from './put-failures.js';
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
  post?: (
    url: URL,
    body: string | Buffer,
    headers: Record<string, string>,
    timeoutMs: number,
  ) => Promise<PostAnswer>;
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

/** One request through the circuit breaker. */
type Exchange =
  /** Not sent: the breaker is open and this is not the probe. */
  | { kind: 'blocked' }
  /** No answer (refused, reset, timed out); already reported to the breaker, with what it did. */
  | { kind: 'failed'; reason: string; effect: FailureEffect }
  /** Answered; the caller reports to the breaker what the answer shows. */
  | { kind: 'answered'; answer: PostAnswer; admission: Admission };

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
  private readonly assignUrl: URL;
  private readonly sync: boolean;
  private readonly breaker: CircuitBreaker;
  private readonly mayRegister: (metric: string) => boolean;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly post: NonNullable<WriterOptions['post']>;
  private readonly minRequestMs: number;
  private readonly log: Log;
  private readonly putUrls = new Map<number, URL>();

  constructor(
    baseUrl: string,
    private readonly options: WriterOptions,
  ) {
    this.baseUrl = baseUrl;
    this.assignUrl = new URL(`${baseUrl}/api/uid/assign`);
    this.sync = options.sync ?? true;
    this.breaker = options.breaker ?? circuitBreakerFor(baseUrl);
    this.mayRegister = options.mayRegister ?? isBridgeMetricName;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? sleep;
    this.post = options.post ?? httpPost;
    this.minRequestMs = options.minRequestMs ?? 100;
    this.log = options.log;
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
      const sent = await this.send(
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
          this.reportSuccess(admission);
          outcome.written += points.length;
          return;
        case 'unreadable': {
          // Nothing is known to be stored: the same bytes go again (identical points are harmless), unless
          // this may be these points' own failure (an exception that follows some content).
          outcome.lastError = `OpenTSDB answered ${put.reason}`;
          const effect = this.reportFailure(admission, outcome.lastError, points.length, () =>
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
            if (put.success > 0) this.reportSuccess(admission);
            else if (
              this.reportFailure(admission, outcome.lastError, points.length, () =>
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
            const effect = this.reportFailure(admission, outcome.lastError, points.length, () =>
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
            const effect = this.reportFailure(
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
            } else if (sorted.timedOut.length > 0) outcome.unavailable = true;
          } else {
            this.reportSuccess(admission);
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
            const registration = await this.register(sorted.unknownMetric, registered, deadlineMs);
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
   * One request, if the breaker admits it; a request without an answer is reported as a failure: with
   * `blame` (the runs it held) when the connection was dropped after it was sent (which some content can
   * cause), without evidence when no answer came at all (which none can: see circuit-breaker.ts).
   */
  private async send(
    url: URL,
    bytes: string | Buffer,
    headers: Record<string, string>,
    timeoutMs: number,
    blame?: () => FailureEvidence,
  ): Promise<Exchange> {
    const admission = this.breaker.admit();
    if (!admission) return { kind: 'blocked' };
    try {
      return { kind: 'answered', answer: await this.post(url, bytes, headers, timeoutMs), admission };
    } catch (error) {
      const reason = describeFailure(error);
      const effect = this.reportFailure(admission, reason, undefined, isDropped(error) ? blame : undefined);
      return { kind: 'failed', reason, effect };
    }
  }

  private reportFailure(
    admission: Admission,
    reason: string,
    points?: number,
    evidence?: () => FailureEvidence,
  ): FailureEffect {
    const effect = this.breaker.failed(admission, reason, evidence?.());
    this.log.warn('opentsdb write failed', {
      error: reason,
      ...(points === undefined ? {} : { points }),
      probe: admission.probe,
      circuit: this.breaker.state,
      ...(effect.suspect ? { suspect: true } : {}),
    });
    if (effect.opened)
      this.log.warn('opentsdb circuit opened', { error: reason, probeInMs: effect.probeInMs });
    return effect;
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

  private reportSuccess(admission: Admission): void {
    const openForMs = this.breaker.succeeded(admission);
    if (openForMs !== undefined) this.log.info('opentsdb circuit closed', { openForMs });
  }

  /**
   * Registers the unknown metric names of `points` that the bridge defines. Returns the points to send again
   * (at once when their name was registered now), those whose name can never be registered, and why a
   * registration did not go through, if one did not.
   */
  private async register(
    points: Datapoint[],
    registered: Set<string>,
    deadlineMs: number,
  ): Promise<{ retry: Datapoint[]; rejected: RejectedPoint[]; failure?: string }> {
    const refused = new Map<string, string>();
    let failure: string | undefined;
    const toAssign: string[] = [];
    for (const name of new Set(points.map((p) => p.metric))) {
      if (!this.mayRegister(name))
        refused.set(name, 'Unknown metric, and not a metric name the bridge writes: not registered');
      else if (registered.has(name)) failure = `OpenTSDB still reports ${name} unknown after registering it`;
      else toAssign.push(name);
    }
    if (toAssign.length > 0) {
      const result = await this.assign(toAssign, deadlineMs);
      if (result.failure !== undefined) failure = result.failure;
      for (const name of toAssign) {
        const error = result.refused.get(name);
        if (error !== undefined) refused.set(name, `Unknown metric; registration refused: ${error}`);
        else if (result.failure === undefined) registered.add(name);
      }
    }
    const retry: Datapoint[] = [];
    const rejected: RejectedPoint[] = [];
    for (const point of points) {
      const reason = refused.get(point.metric);
      if (reason !== undefined) rejected.push({ point, reason });
      else retry.push(point);
    }
    return failure === undefined ? { retry, rejected } : { retry, rejected, failure };
  }

  /**
   * `/api/uid/assign` for `names`: those refused in a readable answer (never to be accepted), or `failure`
   * when nothing is known to be registered. A name that "already exists" counts as registered.
   */
  private async assign(
    names: string[],
    deadlineMs: number,
  ): Promise<{ refused: Map<string, string>; failure?: string }> {
    const refused = new Map<string, string>();
    const remaining = deadlineMs - this.now();
    if (remaining < this.minRequestMs) return { refused, failure: 'no time left to register metric names' };
    const timeoutMs = Math.min(this.options.timeoutMs, remaining);
    const sent = await this.send(
      this.assignUrl,
      Buffer.from(JSON.stringify({ metric: names })),
      HEADERS.identity,
      timeoutMs,
    );
    if (sent.kind === 'blocked') return { refused, failure: 'OpenTSDB failing: metric names not registered' };
    if (sent.kind === 'failed') {
      this.log.warn('opentsdb metric registration failed', { metrics: names, error: sent.reason });
      return { refused, failure: `OpenTSDB metric registration failed: ${sent.reason}` };
    }
    const errors = readAssignErrors(sent.answer);
    if (errors === undefined) {
      const failure = `OpenTSDB metric registration failed: HTTP ${sent.answer.status}`;
      this.reportFailure(sent.admission, failure);
      this.log.warn('opentsdb metric registration failed', { metrics: names, error: failure });
      return { refused, failure };
    }
    this.reportSuccess(sent.admission);
    for (const [name, error] of errors) if (!/already exists/i.test(error)) refused.set(name, error);
    const registered = names.filter((n) => !refused.has(n));
    if (registered.length > 0) this.log.info('opentsdb metric names registered', { metrics: registered });
    if (refused.size > 0) {
      this.log.warn('opentsdb metric registration refused', {
        metrics: [...refused.keys()],
        error: [...refused.values()][0],
      });
    }
    return { refused };
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
