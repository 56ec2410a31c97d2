import type { Log } from '../shared/log.js';
import type { Datapoint } from './datapoint.js';
import type { GuardedPost } from './guarded-post.js';
import { readAssignErrors } from './put-answer.js';
import type { RejectedPoint } from './put-failures.js';

export interface RegistrarSettings {
  /** OpenTSDB's base URL, no trailing slash. */
  baseUrl: string;
  requests: GuardedPost;
  /** Metric names that may be registered (the bridge's own). */
  mayRegister: (metric: string) => boolean;
  /** Upper bound of one request. */
  timeoutMs: number;
  /** Shortest request worth starting when the deadline is near. */
  minRequestMs: number;
  now: () => number;
  log: Log;
}

/**
 * Registers metric names OpenTSDB reports unknown with `/api/uid/assign` (so that
 * `tsd.core.auto_create_metrics` may stay off), only the names the bridge defines.
 */
export class MetricRegistrar {
  private readonly assignUrl: URL;

  constructor(private readonly settings: RegistrarSettings) {
    this.assignUrl = new URL(`${settings.baseUrl}/api/uid/assign`);
  }

  /**
   * Registers the unknown metric names of `points` that the bridge defines. Returns the points to send again
   * (at once when their name was registered now), those whose name can never be registered, and why a
   * registration did not go through, if one did not.
   */
  async register(
    points: Datapoint[],
    registered: Set<string>,
    deadlineMs: number,
  ): Promise<{ retry: Datapoint[]; rejected: RejectedPoint[]; failure?: string }> {
    const refused = new Map<string, string>();
    let failure: string | undefined;
    const toAssign: string[] = [];
    for (const name of new Set(points.map((p) => p.metric))) {
      if (!this.settings.mayRegister(name))
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
    const remaining = deadlineMs - this.settings.now();
    if (remaining < this.settings.minRequestMs)
      return { refused, failure: 'no time left to register metric names' };
    const timeoutMs = Math.min(this.settings.timeoutMs, remaining);
    const sent = await this.settings.requests.send(
      this.assignUrl,
      Buffer.from(JSON.stringify({ metric: names })),
      { 'Content-Type': 'application/json' },
      timeoutMs,
    );
    if (sent.kind === 'blocked') return { refused, failure: 'OpenTSDB failing: metric names not registered' };
    if (sent.kind === 'failed') {
      this.settings.log.warn('opentsdb metric registration failed', { metrics: names, error: sent.reason });
      return { refused, failure: `OpenTSDB metric registration failed: ${sent.reason}` };
    }
    const errors = readAssignErrors(sent.answer);
    if (errors === undefined) {
      const failure = `OpenTSDB metric registration failed: HTTP ${sent.answer.status}`;
      this.settings.requests.failed(sent.admission, failure);
      this.settings.log.warn('opentsdb metric registration failed', { metrics: names, error: failure });
      return { refused, failure };
    }
    this.settings.requests.succeeded(sent.admission);
    for (const [name, error] of errors) if (!/already exists/i.test(error)) refused.set(name, error);
    const registered = names.filter((n) => !refused.has(n));
    if (registered.length > 0)
      this.settings.log.info('opentsdb metric names registered', { metrics: registered });
    if (refused.size > 0) {
      this.settings.log.warn('opentsdb metric registration refused', {
        metrics: [...refused.keys()],
        error: [...refused.values()][0],
      });
    }
    return { refused };
  }
}
