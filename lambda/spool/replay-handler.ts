// The replay function's factory (EventBridge, every minute, inside the VPC): drains the spool into OpenTSDB
// until shortly before the invocation's limit, and reports the spool's depth, age and parked runs.
import type { ScheduledEvent } from 'aws-lambda';
import {
  type Admission,
  CircuitBreaker,
  type FailureEffect,
  type FailureEvidence,
} from '../opentsdb/circuit-breaker.js';
import { type DatapointSink, type OpenTsdbSettings, OpenTsdbWriter } from '../opentsdb/writer.js';
import { errorText } from '../shared/error-text.js';
import { type InvocationTools, type LambdaHandler, wrapInvocation } from '../shared/invocation.js';
import type { Log } from '../shared/log.js';
import { MetricName, type MetricsRecorder, MetricUnit } from '../shared/observability.js';
import {
  ageSeconds,
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
/** Longest the opening count may take before the replay starts without it. */
const OPENING_COUNT_MS = 3000;

/**
 * The replay's breaker: it never opens, and it leaves every failure OpenTSDB answered (or dropped) to the
 * replay as a suspect, so that the writer hands those points back at once rather than send the same content
 * again until the write's budget is spent. Replay decides itself, by what its other writes show, whether a
 * run is at fault or OpenTSDB is down (poison-evidence.ts); a shared breaker would refuse the other runs it
 * sends to find out, and every poisoned write would look like an outage. A request that got no answer at
 * all is still sent again within the budget.
 */
class ReplayBreaker extends CircuitBreaker {
  override failed(_admission: Admission, _reason: string, evidence?: FailureEvidence): FailureEffect {
    return evidence === undefined ? { opened: false } : { opened: false, suspect: true };
  }
}

/** The replay's writer, with a breaker of its own (ReplayBreaker). */
export function replayWriter(settings: OpenTsdbSettings, log: Log): OpenTsdbWriter {
  return new OpenTsdbWriter(settings.openTsdbUrl, {
    timeoutMs: settings.openTsdbTimeoutMs,
    sync: settings.openTsdbSync,
    log,
    breaker: new ReplayBreaker(),
  });
}

export function createReplayHandler(deps: ReplayHandlerDeps): ReplayHandler {
  const { logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  return wrapInvocation(deps, async (_event, context) => {
    const remaining = context.getRemainingTimeInMillis();
    const finishByMs = now() + Math.max(1000, remaining - FINISH_MARGIN_MS);
    // The oldest run's age is sent before the work, so that a replay that then fails (or never gets
    // through) still shows the spool ageing: SpoolOldestAge alarms on it within its own period.
    await publishOpeningAge(deps, now);
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
      // What a failed replay did still counts; its closing gauges are unknown, so not sent (the replay
      // logged which, with what it had done).
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

async function publishOpeningAge(deps: ReplayHandlerDeps, now: () => number): Promise<void> {
  try {
    const stats = await deps.spool.queueStats(AbortSignal.timeout(OPENING_COUNT_MS));
    deps.metrics.addMetric(
      MetricName.SpoolOldestAgeSeconds,
      MetricUnit.Seconds,
      ageSeconds(stats.oldestQueuedAtMs, now()),
    );
  } catch (error) {
    deps.logger.warn('spool age not counted before the replay', {
      error: errorText(error, { withName: true }),
    });
  }
}

function countDone(metrics: MetricsRecorder, done: ReplayResult): void {
  metrics.addMetric(MetricName.RunsReplayed, MetricUnit.Count, done.replayed);
  metrics.addMetric(MetricName.DatapointsReplayed, MetricUnit.Count, done.datapoints);
  metrics.addMetric(MetricName.DatapointsRejected, MetricUnit.Count, done.rejected);
  metrics.addMetric(MetricName.RunsParked, MetricUnit.Count, done.parked);
}
