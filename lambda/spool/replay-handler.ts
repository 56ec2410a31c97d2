// The replay function's factory (EventBridge, every minute, inside the VPC): drains the spool into OpenTSDB
// until shortly before the invocation's limit, and reports the spool's depth, age and parked runs.
import type { ScheduledEvent } from 'aws-lambda';
import type { DatapointSink } from '../opentsdb/writer.js';
import { type InvocationTools, type LambdaHandler, wrapInvocation } from '../shared/invocation.js';
import { MetricName, type MetricsRecorder, MetricUnit } from '../shared/observability.js';
import {
  ReplayFailed,
  type ReplayOptions,
  type ReplayResult,
  replaySpool,
  type SpoolStore,
} from './replay-spool.js';

export interface ReplayHandlerDeps extends InvocationTools {
  metrics: MetricsRecorder;
  spool: SpoolStore;
  sink: DatapointSink;
  now?: () => number;
  /** Overrides of the replay's tuning (tests, the drain benchmark). */
  tuning?: Omit<ReplayOptions, 'deadlineMs' | 'finishByMs' | 'log' | 'now'>;
}

export type ReplayHandler = LambdaHandler<ScheduledEvent | undefined, ReplayResult>;

/** Kept back from the invocation's limit: the last deletes, attempt counts and gauges fit in it. */
const FINISH_MARGIN_MS = 1500;
/** From the deadline on, nothing new is read or written; what is under way finishes within this. */
const DRAIN_MARGIN_MS = 4000;

export function createReplayHandler(deps: ReplayHandlerDeps): ReplayHandler {
  const { logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  return wrapInvocation(deps, async (_event, context) => {
    const remaining = context.getRemainingTimeInMillis();
    const finishByMs = now() + Math.max(1000, remaining - FINISH_MARGIN_MS);
    let result: ReplayResult;
    try {
      result = await replaySpool(deps.spool, deps.sink, {
        ...deps.tuning,
        deadlineMs: Math.max(now() + 500, finishByMs - DRAIN_MARGIN_MS),
        finishByMs,
        log: logger,
        now,
      });
    } catch (error) {
      // What a failed replay did still counts; its gauges (depth, age, parked) are unknown, so not sent.
      if (error instanceof ReplayFailed) countDone(metrics, error.partial);
      throw error;
    }
    countDone(metrics, result);
    metrics.addMetric(MetricName.ParkedRuns, MetricUnit.Count, result.parkedRuns);
    metrics.addMetric(MetricName.SpoolDepth, MetricUnit.Count, result.depth);
    metrics.addMetric(MetricName.SpoolOldestAgeSeconds, MetricUnit.Seconds, result.oldestAgeSeconds);
    logger.info('spool replay', { ...result });
    return result;
  });
}

function countDone(metrics: MetricsRecorder, done: ReplayResult): void {
  metrics.addMetric(MetricName.RunsReplayed, MetricUnit.Count, done.replayed);
  metrics.addMetric(MetricName.DatapointsReplayed, MetricUnit.Count, done.datapoints);
  metrics.addMetric(MetricName.DatapointsRejected, MetricUnit.Count, done.rejected);
  metrics.addMetric(MetricName.RunsParked, MetricUnit.Count, done.parked);
}
