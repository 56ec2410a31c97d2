// Lambda entry of the spool replay (EventBridge, every minute, inside the VPC).
import type { Context } from 'aws-lambda';
import { boundedDynamoClient } from './aws/dynamo-client.js';
import { readReplayConfig } from './config.js';
import { OpenTsdbWriter } from './opentsdb/writer.js';
import { countersOf, createLogger, createMetrics, MetricName } from './shared/observability.js';
import { DynamoSpool } from './spool/dynamo-spool.js';
import { type ReplayResult, replaySpool } from './spool/replay-spool.js';

const logger = createLogger('replay');
const metrics = createMetrics('replay');
const config = readReplayConfig(process.env);
const spool = new DynamoSpool(boundedDynamoClient(5000), config.spoolTable);
const writer = new OpenTsdbWriter(config.openTsdbUrl, { timeoutMs: config.openTsdbTimeoutMs, log: logger });

/** Time left for the last write and the metrics when the invocation's limit nears. */
const MARGIN_MS = 5000;

export async function handler(_event: unknown, context: Context): Promise<ReplayResult> {
  logger.addContext(context);
  const counters = countersOf(metrics);
  try {
    const result = await replaySpool(spool, writer, {
      deadlineMs: Date.now() + Math.max(1000, context.getRemainingTimeInMillis() - MARGIN_MS),
      log: logger,
    });
    counters.add(MetricName.DatapointsReplayed, result.datapoints);
    counters.add(MetricName.DatapointsRejected, result.rejected);
    metrics.addMetric(MetricName.SpoolDepth, 'Count', result.depth);
    metrics.addMetric(MetricName.SpoolOldestAgeSeconds, 'Seconds', result.oldestAgeSeconds);
    logger.info('spool replay', { ...result });
    return result;
  } finally {
    metrics.publishStoredMetrics();
  }
}
