// The replay function's factory (EventBridge, every minute, inside the VPC): drains the spool into OpenTSDB
// until shortly before the invocation's limit, and reports the spool's depth and age as metrics.
import type { ScheduledEvent } from 'aws-lambda';
import type { DatapointSink } from '../opentsdb/writer.js';
import { type InvocationTools, type LambdaHandler, wrapInvocation } from '../shared/invocation.js';
import { countersOf, MetricName, type MetricsRecorder, MetricUnit } from '../shared/observability.js';
import { type ReplayResult, replaySpool, type SpoolStore } from './replay-spool.js';

export interface ReplayHandlerDeps extends InvocationTools {
  metrics: MetricsRecorder;
  spool: SpoolStore;
  sink: DatapointSink;
  now?: () => number;
}

export type ReplayHandler = LambdaHandler<ScheduledEvent | undefined, ReplayResult>;

/** Time left for the last write and the metrics when the invocation's limit nears. */
const MARGIN_MS = 5000;

export function createReplayHandler(deps: ReplayHandlerDeps): ReplayHandler {
  const { logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  return wrapInvocation(deps, async (_event, context) => {
    const result = await replaySpool(deps.spool, deps.sink, {
      deadlineMs: now() + Math.max(1000, context.getRemainingTimeInMillis() - MARGIN_MS),
      log: logger,
      now,
    });
    const counters = countersOf(metrics);
    counters.add(MetricName.DatapointsReplayed, result.datapoints);
    counters.add(MetricName.DatapointsRejected, result.rejected);
    metrics.addMetric(MetricName.SpoolDepth, MetricUnit.Count, result.depth);
    metrics.addMetric(MetricName.SpoolOldestAgeSeconds, MetricUnit.Seconds, result.oldestAgeSeconds);
    logger.info('spool replay', { ...result });
    return result;
  });
}
