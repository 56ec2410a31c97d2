// The datapoints the push function writes for a push body, worked out with its own domain code: what the
// end-to-end tests and `npm run load` expect to read back, and what `npm run bench`'s forwarder sends.
import { DEFAULT_METRIC_SETS, type MetricOptions } from '../lambda/config.js';
import { toDatapoints } from '../lambda/metrics/datapoints.js';
import { nodeDimensions } from '../lambda/metrics/node-dimensions.js';
import type { NodeRecord } from '../lambda/nodes/node-record.js';
import type { Datapoint } from '../lambda/opentsdb/datapoint.js';
import { parsePush } from '../lambda/webhook/parse-push.js';

const DEFAULT_OPTIONS: MetricOptions = { sets: new Set(DEFAULT_METRIC_SETS), naming: 'default' };

export function expectedDatapoints(
  body: string,
  nodeOf: (nodeId: number) => NodeRecord | undefined,
  options: MetricOptions = DEFAULT_OPTIONS,
  receivedAtMs = Date.now(),
): Datapoint[] {
  const result = parsePush(body, receivedAtMs);
  const dims = nodeDimensions(result, nodeOf(result.nodeId));
  return toDatapoints(result, dims, options, Math.floor(receivedAtMs / 1000));
}
