/**
 * Backfill core: Catchpoint's raw test data → the datapoints a push of the same run would have given.
 * Entry module; the API the CLI (scripts/backfill.ts) and the scheduled gap repair build on:
 *
 * - `readWindowRuns(source, window, query)`: one window's runs as TestResults, asking again with narrower
 *   windows while an answer says it has more (`hasMore`: v2 has no page parameters). Runs outside the
 *   window and repeats are dropped; unmapped metric names are counted.
 * - `runDatapoints(run, node, metrics)`: a run's datapoints, exactly as the push path makes them
 *   (`toDatapoints` with the node's dimensions, the run's own timestamp).
 * - request-plan.ts: `planWindows`, `estimatePlan`, `splitWindow`, `windowKey` (aligned windows, several
 *   tests per request). rate-limits.ts: `RateLimits`, `DEFAULT_RATE_LIMITS`, `parseRateLimits`,
 *   `RequestLimiter` (never more than the limits in any second, minute, hour, day).
 * - raw-runs.ts: `rawToRuns(data)` (one answer → TestResults); metric-map.ts: `RAW_METRIC_RULES`, the one
 *   table of raw metric names (docs/metrics.md).
 * - lambda/catchpoint-api/raw-client.ts: `createRawClient(credentials, {baseUrl, limiter})` with
 *   `raw(window, {failedDeliveries})` and `enumeration()`; it is a `RawSource`.
 * - lambda/opentsdb/stored-runs.ts: `storedRuns(...)`, the runs OpenTSDB already holds (`/api/query`).
 */
import type { MetricOptions } from '../config.js';
import { toDatapoints } from '../metrics/datapoints.js';
import { nodeDimensions } from '../metrics/node-dimensions.js';
import type { NodeRecord } from '../nodes/node-record.js';
import type { Datapoint } from '../opentsdb/datapoint.js';
import type { TestResult } from '../webhook/test-result.js';
import type { RawData } from './raw-answer.js';
import { type RawRunsOptions, rawToRuns } from './raw-runs.js';
import { type RawWindow, splitWindow, windowKey } from './request-plan.js';

/** Where raw answers come from: the Catchpoint client, or a test's fake. */
export interface RawSource {
  raw(window: RawWindow, query: { failedDeliveries?: boolean }): Promise<{ data: RawData; hasMore: boolean }>;
}

export interface WindowRuns {
  /** Each run once, with its timestamp (whole seconds) inside the window. */
  runs: TestResult[];
  unmapped: Map<string, number>;
  unreadable: number;
  statusUnknown: number;
  /** Requests made (a window that had more took several). */
  requests: number;
  /** Windows that still had more at the narrowest width and a single test: what they held is all we got. */
  truncated: string[];
}

export interface WindowQuery extends RawRunsOptions {
  failedDeliveries?: boolean;
}

/** The identity of a run, as the push path keys it (push-service.ts `runKey`). */
export function runIdentity(run: Pick<TestResult, 'testId' | 'nodeId'>, timestamp: number): string {
  return `${run.testId}:${run.nodeId}:${timestamp}`;
}

/** One window's runs; see the module comment. */
export async function readWindowRuns(
  source: RawSource,
  window: RawWindow,
  query: WindowQuery = {},
): Promise<WindowRuns> {
  const out: WindowRuns = {
    runs: [],
    unmapped: new Map(),
    unreadable: 0,
    statusUnknown: 0,
    requests: 0,
    truncated: [],
  };
  const seen = new Set<string>();
  const pending: RawWindow[] = [window];
  while (pending.length > 0) {
    const current = pending.shift()!;
    const answer = await source.raw(current, { failedDeliveries: query.failedDeliveries });
    out.requests++;
    if (answer.hasMore) {
      const halves = splitWindow(current);
      // What this answer held comes again in the halves' answers: only the halves are read.
      if (halves) {
        pending.unshift(...halves);
        continue;
      }
      out.truncated.push(windowKey(current));
    }
    const read = rawToRuns(answer.data, query);
    out.unreadable += read.unreadable;
    out.statusUnknown += read.statusUnknown;
    for (const [name, count] of read.unmapped) out.unmapped.set(name, (out.unmapped.get(name) ?? 0) + count);
    const startS = Math.ceil(current.startMs / 1000);
    const endS = Math.ceil(current.endMs / 1000);
    const tests = new Set(current.testIds);
    for (const run of read.runs) {
      const timestamp = run.timestamp!;
      if (timestamp < startS || timestamp >= endS || !tests.has(run.testId)) continue;
      const key = runIdentity(run, timestamp);
      if (seen.has(key)) continue;
      seen.add(key);
      out.runs.push(run);
    }
  }
  return out;
}

/** A backfilled run's datapoints: the push path's own `toDatapoints`, at the run's timestamp. */
export function runDatapoints(
  run: TestResult,
  node: NodeRecord | undefined,
  metrics: MetricOptions,
): Datapoint[] {
  return toDatapoints(run, nodeDimensions(run, node), metrics, run.timestamp!);
}

/** Adds `from`'s counts into `into`. */
export function addCounts(into: Map<string, number>, from: ReadonlyMap<string, number>): void {
  for (const [name, count] of from) into.set(name, (into.get(name) ?? 0) + count);
}
