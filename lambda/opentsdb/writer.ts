import { backoffDelay, sleep } from '../shared/backoff.js';
import type { Log } from '../shared/log.js';
import { type Datapoint, serializeDatapoint } from './datapoint.js';
import { httpPost, type PostAnswer } from './http-post.js';
import {
  isTransientReason,
  isUnknownMetricReason,
  type PointError,
  readAssignErrors,
  readPutAnswer,
} from './put-answer.js';
import { packRequestBodies, type RequestBody } from './request-body.js';

export interface RejectedPoint {
  point: Datapoint;
  reason: string;
}

export interface WriteOutcome {
  /** Points OpenTSDB took. */
  written: number;
  /** Points OpenTSDB refused for good (bad name, too many tags…); resending them cannot help. */
  rejected: RejectedPoint[];
  /** Points not yet taken when the time ran out; the caller must keep them or have the sender retry. */
  pending: Datapoint[];
  /** Why the last attempt failed, when anything is pending. */
  lastError?: string;
  /**
   * OpenTSDB itself failed (connection refused/reset, timeout, 5xx, unreadable answer): nothing says the
   * pending points are at fault. Stop sending; keep them.
   */
  unavailable: boolean;
}

/** Where datapoints go: OpenTSDB, or the console when the local server has no OpenTSDB. */
export interface DatapointSink {
  write(points: readonly Datapoint[], deadlineMs: number): Promise<WriteOutcome>;
}

export interface WriterOptions {
  /** Upper bound of one HTTP request. */
  timeoutMs: number;
  log: Log;
  /** Shortest request worth starting when the deadline is near. */
  minRequestMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  post?: (url: URL, body: Buffer, headers: Record<string, string>, timeoutMs: number) => Promise<PostAnswer>;
}

const HEADERS = {
  gzip: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
  identity: { 'Content-Type': 'application/json' },
};

/**
 * Writes datapoints through OpenTSDB's `/api/put?details`, reading every answer: per-point rejections are
 * logged and counted, unknown metric names are registered once and resent, and transient failures are
 * retried with backoff until the deadline.
 */
export class OpenTsdbWriter implements DatapointSink {
  private readonly putUrl: URL;
  private readonly assignUrl: URL;
  private readonly assigned = new Set<string>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly post: NonNullable<WriterOptions['post']>;
  private readonly minRequestMs: number;

  constructor(
    baseUrl: string,
    private readonly options: WriterOptions,
  ) {
    this.putUrl = new URL(`${baseUrl}/api/put?details`);
    this.assignUrl = new URL(`${baseUrl}/api/uid/assign`);
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? sleep;
    this.post = options.post ?? httpPost;
    this.minRequestMs = options.minRequestMs ?? 100;
  }

  async write(points: readonly Datapoint[], deadlineMs: number): Promise<WriteOutcome> {
    const outcome: WriteOutcome = { written: 0, rejected: [], pending: [], unavailable: false };
    const { bodies, oversized } = packRequestBodies(points);
    for (const point of oversized)
      outcome.rejected.push({ point, reason: 'datapoint larger than a request may be' });
    for (const body of bodies) await this.writeBatch(body.points, body, deadlineMs, outcome);
    if (outcome.rejected.length > 0) this.logRejected(outcome.rejected);
    // Set on every server failure on the way; it only speaks for what is still pending at the end.
    outcome.unavailable &&= outcome.pending.length > 0;
    return outcome;
  }

  private async writeBatch(
    firstPoints: Datapoint[],
    firstBody: RequestBody | undefined,
    deadlineMs: number,
    outcome: WriteOutcome,
  ): Promise<void> {
    let points = firstPoints;
    let body = firstBody;
    let failures = 0;
    while (points.length > 0) {
      const remaining = deadlineMs - this.now();
      if (remaining < this.minRequestMs) {
        outcome.pending.push(...points);
        return;
      }
      if (body === undefined) {
        const packed = packRequestBodies(points);
        for (const point of packed.oversized) outcome.rejected.push({ point, reason: 'datapoint too large' });
        if (packed.bodies.length !== 1) {
          for (const b of packed.bodies) await this.writeBatch(b.points, b, deadlineMs, outcome);
          return;
        }
        body = packed.bodies[0]!;
        points = body.points;
      }
      let answer: PostAnswer;
      try {
        answer = await this.post(
          this.putUrl,
          body.bytes,
          HEADERS[body.encoding],
          Math.min(this.options.timeoutMs, remaining),
        );
      } catch (error) {
        outcome.lastError = describeFailure(error);
        outcome.unavailable = true;
        await this.backoff(++failures, deadlineMs, outcome.lastError);
        continue;
      }
      const put = readPutAnswer(answer);
      body = undefined;
      switch (put.kind) {
        case 'accepted':
          outcome.written += points.length;
          return;
        case 'too-large': {
          // Only a server configured with a lower limit than the standard one gets here: halve and go on.
          if (points.length === 1) {
            outcome.rejected.push({ point: points[0]!, reason: 'refused as too large' });
            return;
          }
          const half = Math.ceil(points.length / 2);
          await this.writeBatch(points.slice(half), undefined, deadlineMs, outcome);
          points = points.slice(0, half);
          continue;
        }
        case 'refused':
          for (const point of points) outcome.rejected.push({ point, reason: put.reason });
          return;
        case 'transient':
          outcome.lastError = `OpenTSDB answered ${put.reason}`;
          outcome.unavailable = true;
          await this.backoff(++failures, deadlineMs, outcome.lastError);
          continue;
        case 'partial': {
          const next = await this.sortFailures(points, put.errors, put.failed, deadlineMs, outcome);
          outcome.written += points.length - next.retry.length - next.rejectedCount;
          points = next.retry;
          if (next.transient) await this.backoff(++failures, deadlineMs, outcome.lastError ?? 'transient');
        }
      }
    }
  }

  /** Splits the failed points of a `details` answer into those to resend and those refused for good. */
  private async sortFailures(
    points: Datapoint[],
    errors: PointError[],
    failedCount: number,
    deadlineMs: number,
    outcome: WriteOutcome,
  ): Promise<{ retry: Datapoint[]; rejectedCount: number; transient: boolean }> {
    const byKey = new Map<string, Datapoint>();
    for (const point of points) byKey.set(pointKey(point.metric, point.timestamp, point.tags), point);
    const retry: Datapoint[] = [];
    const unknownMetric: Datapoint[] = [];
    const rejected: RejectedPoint[] = [];
    let transient = false;
    let matched = 0;
    for (const error of errors) {
      const key = pointKey(error.metric ?? '', error.timestamp ?? Number.NaN, error.tags ?? {});
      const point = byKey.get(key);
      if (!point) continue;
      byKey.delete(key);
      matched++;
      if (isTransientReason(error.reason)) {
        transient = true;
        outcome.lastError = `OpenTSDB: ${error.reason}`;
        retry.push(point);
      } else if (isUnknownMetricReason(error.reason) && !this.assigned.has(point.metric)) {
        unknownMetric.push(point);
      } else {
        rejected.push({ point, reason: error.reason });
      }
    }
    if (matched < failedCount) {
      // OpenTSDB did not say which points failed: resending all is safe, since a point always
      // serialises to the same bytes and an identical duplicate is harmless.
      this.options.log.warn('opentsdb reported failures it did not detail; resending the batch', {
        failed: failedCount,
        detailed: matched,
      });
      return { retry: points, rejectedCount: 0, transient: true };
    }
    outcome.rejected.push(...rejected);
    if (unknownMetric.length > 0) {
      const refused = await this.assignMetrics([...new Set(unknownMetric.map((p) => p.metric))], deadlineMs);
      for (const point of unknownMetric) {
        const reason = refused.get(point.metric);
        if (reason === undefined) {
          retry.push(point);
        } else if (reason.permanent) {
          rejected.push({ point, reason: reason.text });
          outcome.rejected.push({ point, reason: reason.text });
        } else {
          // Not registered yet (OpenTSDB busy or away): the points wait, as for any transient failure.
          transient = true;
          outcome.lastError = `OpenTSDB metric registration failed: ${reason.text}`;
          retry.push(point);
        }
      }
    }
    return { retry, rejectedCount: rejected.length, transient };
  }

  /**
   * Registers metric names with `/api/uid/assign`. Returns the names that could not be registered, with
   * why and whether trying again can help; a name that "already exists" counts as registered.
   */
  private async assignMetrics(
    names: string[],
    deadlineMs: number,
  ): Promise<Map<string, { text: string; permanent: boolean }>> {
    const refused = new Map<string, { text: string; permanent: boolean }>();
    let answer: PostAnswer;
    try {
      answer = await this.post(
        this.assignUrl,
        Buffer.from(JSON.stringify({ metric: names })),
        HEADERS.identity,
        Math.max(1, Math.min(this.options.timeoutMs, deadlineMs - this.now())),
      );
    } catch (error) {
      for (const name of names) refused.set(name, { text: describeFailure(error), permanent: false });
      this.options.log.warn('opentsdb metric registration failed', {
        metrics: names,
        error: describeFailure(error),
      });
      return refused;
    }
    const errors = readAssignErrors(answer);
    for (const name of names) {
      const error = errors === undefined ? `HTTP ${answer.status}` : errors.get(name);
      if (error === undefined || /already exists/i.test(error)) {
        this.assigned.add(name);
      } else {
        // A name refused in a readable answer (an illegal character) never will be accepted.
        refused.set(name, { text: error, permanent: errors !== undefined && answer.status === 400 });
      }
    }
    const registered = names.filter((n) => !refused.has(n));
    if (registered.length > 0)
      this.options.log.info('opentsdb metric names registered', { metrics: registered });
    if (refused.size > 0) {
      this.options.log.warn('opentsdb metric registration failed', {
        metrics: [...refused.keys()],
        error: [...refused.values()][0]?.text,
      });
    }
    return refused;
  }

  private async backoff(failures: number, deadlineMs: number, reason: string): Promise<void> {
    const delay = backoffDelay(failures, 100, 2000);
    this.options.log.warn('opentsdb write failed', { error: reason, attempt: failures });
    const wait = Math.min(delay, Math.max(0, deadlineMs - this.now() - this.minRequestMs));
    if (wait > 0) await this.sleep(wait);
  }

  private logRejected(rejected: RejectedPoint[]): void {
    for (const { point, reason } of rejected.slice(0, 10)) {
      this.options.log.error('opentsdb rejected datapoint', { datapoint: serializeDatapoint(point), reason });
    }
    if (rejected.length > 10) {
      this.options.log.error('opentsdb rejected more datapoints', { more: rejected.length - 10 });
    }
  }
}

function pointKey(metric: string, timestamp: number, tags: Readonly<Record<string, string>>): string {
  const sorted = Object.keys(tags)
    .sort()
    .map((k) => `${k}=${tags[k]}`)
    .join(',');
  return `${metric}|${timestamp}|${sorted}`;
}

function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'request timed out';
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
