import type { MetricOptions } from '../config.js';
import { type Datapoint, datapoint } from '../opentsdb/datapoint.js';
import type { Measurements, TestResult } from '../webhook/test-result.js';
import {
  DETAIL_PREFIX,
  detailMetric,
  ERROR_METRIC,
  rttMetric,
  SLICES,
  statusMetric,
  TRACEROUTE_METRICS,
} from './metric-names.js';
import type { NodeDimensions } from './node-dimensions.js';
import { cleanTagValue } from './tag-value.js';

/**
 * One test run → its datapoints, exactly as docs/metrics.md says. Pure: the same run and node always give
 * the same points in the same order.
 */
export function toDatapoints(
  result: TestResult,
  dims: NodeDimensions,
  options: MetricOptions,
  receivedAtSeconds: number,
): Datapoint[] {
  const perTest = options.naming === 'per-test';
  const testId = String(result.testId);
  const nodeId = String(result.nodeId);
  const timestamp = result.timestamp ?? receivedAtSeconds;
  const points: Datapoint[] = [];
  const name = (metric: string): string => (perTest ? `${metric}.${testId}` : metric);
  // Tags are built by assignment, not object spread: this runs ~30 times a push, and spread is far slower.
  const base = (): Record<string, string> => {
    const tags: Record<string, string> = {};
    if (!perTest) tags.testid = testId;
    tags.nodeid = nodeId;
    return tags;
  };
  const add = (metric: string, value: number, tags: Record<string, string>): void => {
    if (Number.isFinite(value)) points.push(datapoint(name(metric), timestamp, value, tags));
  };

  const total = result.timing.get('total');
  const status = result.failed ? 'error' : 'ok';
  for (const slice of SLICES) {
    const sliceTags = (): Record<string, string> => {
      const tags = base();
      if (slice !== 'node') tags[slice] = dims[slice];
      return tags;
    };
    if (total !== undefined) add(rttMetric(slice), total, sliceTags());
    const statusTags = sliceTags();
    statusTags.status = status;
    add(statusMetric(slice), 1, statusTags);
  }
  if (result.failed) {
    const errorTags = base();
    errorTags.error = cleanTagValue(result.errorName ?? 'any');
    add(ERROR_METRIC, 1, errorTags);
  }

  // Every detail metric has the same tags: one object for all of them, so it is serialised once
  // (packRequestBodies keeps the JSON of each tags object of a body).
  let detail: Record<string, string> | undefined;
  const detailTags = (): Record<string, string> => {
    if (detail) return detail;
    detail = base();
    detail.asn = dims.asn;
    detail.continent = dims.continent;
    detail.country = dims.country;
    detail.isp = dims.isp;
    return detail;
  };
  const addGroup = (prefix: string, group: Measurements): void => {
    for (const [suffix, value] of group) add(detailMetric(prefix, suffix), value, detailTags());
  };
  if (options.sets.has('timing')) addGroup(DETAIL_PREFIX.timing, result.timing);
  if (options.sets.has('ping')) addGroup(DETAIL_PREFIX.ping, result.ping);
  if (options.sets.has('traceroute') && result.traceroute) {
    const { hops, lastHopRoundTrips } = result.traceroute;
    add(TRACEROUTE_METRICS.hops, hops, detailTags());
    const replies = lastHopRoundTrips.filter((t): t is number => t !== null);
    if (replies.length > 0) add(TRACEROUTE_METRICS.rttAvg, mean(replies), detailTags());
    if (lastHopRoundTrips.length > 0) {
      const lost = lastHopRoundTrips.length - replies.length;
      add(TRACEROUTE_METRICS.packetLossPct, (lost / lastHopRoundTrips.length) * 100, detailTags());
    }
  }
  if (options.sets.has('bytes')) addGroup(DETAIL_PREFIX.bytes, result.bytes);
  if (options.sets.has('counters')) addGroup(DETAIL_PREFIX.counters, result.counters);
  return points;
}

/** The mean, even of values whose sum would overflow. */
function mean(values: readonly number[]): number {
  const sum = values.reduce((a, b) => a + b, 0);
  if (Number.isFinite(sum)) return sum / values.length;
  return values.reduce((a, b) => a + b / values.length, 0);
}
