// Which runs OpenTSDB already holds, from its `/api/query`: every run writes one
// `catchpoint.status.by_node` point (testid, nodeid, status tags) at its timestamp, so a point of that
// metric for (test, node) at a second means the run is stored. Used by the backfill to skip such runs.

import type { MetricNaming } from '../config.js';
import { statusMetric } from '../metrics/metric-names.js';
import { isObject } from '../shared/json-fields.js';

export class StoredRunsError extends Error {
  override name = 'StoredRunsError';
}

export interface StoredRunsOptions {
  baseUrl: string;
  naming: MetricNaming;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Keys `testId:nodeId:timestamp` of the runs of `testId` stored in [startS, endS). OpenTSDB's "No such
 * name" answer (the metric, tag or value was never written) means none. Any other failure throws
 * StoredRunsError: nothing is then known, and the caller must not write.
 */
export async function storedRuns(
  options: StoredRunsOptions,
  testId: number,
  startS: number,
  endS: number,
): Promise<Set<string>> {
  const metric = statusMetric('node');
  const expression =
    options.naming === 'per-test'
      ? `zimsum:${metric}.${testId}{nodeid=*}`
      : `zimsum:${metric}{testid=${testId},nodeid=*}`;
  // OpenTSDB's end is inclusive.
  const path = `/api/query?start=${startS}&end=${Math.max(startS, endS - 1)}&m=${encodeURIComponent(expression)}`;
  const url = `${options.baseUrl.replace(/\/+$/, '')}${path}`;
  let response: Response;
  let text: string;
  try {
    response = await (options.fetch ?? fetch)(url, {
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    text = await response.text();
  } catch (error) {
    throw new StoredRunsError(
      `OpenTSDB GET /api/query failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const body = parseJson(text);
  if (response.status !== 200) {
    const message = errorMessage(body) ?? text.slice(0, 200);
    if (/No such name for '(metrics|metric|tagk|tagv)'/i.test(message)) return new Set();
    throw new StoredRunsError(`OpenTSDB GET /api/query answered ${response.status}: ${message}`);
  }
  if (!Array.isArray(body))
    throw new StoredRunsError('OpenTSDB GET /api/query answered 200 without a JSON array');
  const keys = new Set<string>();
  for (const series of body) {
    if (!isObject(series) || !isObject(series.tags)) continue;
    const nodeId = series.tags.nodeid;
    if (typeof nodeId !== 'string') continue;
    for (const timestamp of timestampsOf(series.dps)) {
      if (timestamp >= startS && timestamp < endS) keys.add(`${testId}:${nodeId}:${timestamp}`);
    }
  }
  return keys;
}

/** The seconds of `dps`: `{"<ts>": value}` (the default) or `[[ts, value]]` (`arrays`). */
function timestampsOf(dps: unknown): number[] {
  const raw = Array.isArray(dps)
    ? dps.map((pair) => (Array.isArray(pair) ? Number(pair[0]) : Number.NaN))
    : isObject(dps)
      ? Object.keys(dps).map(Number)
      : [];
  // A millisecond timestamp (13 digits) is read as its second.
  return raw.filter(Number.isFinite).map((t) => (t > 1e11 ? Math.floor(t / 1000) : t));
}

function errorMessage(body: unknown): string | undefined {
  if (isObject(body) && isObject(body.error) && typeof body.error.message === 'string')
    return body.error.message;
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
