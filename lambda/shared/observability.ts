import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * CloudWatch namespace of every metric the bridge emits (EMF). Refresh and replay publish with the dimension
 * `service` = their ServiceName; the push function's metrics have no dimension (lambda/push/push-record.ts).
 * The stack's alarms and dashboard name the same metrics.
 */
export const METRICS_NAMESPACE = 'CatchpointBridge';

export type ServiceName = 'push' | 'refresh' | 'replay' | 'backfill';

/** Names of the custom metrics; the CDK stack imports these so alarms and code cannot drift apart. */
export const MetricName = {
  PushesRejected: 'PushesRejected',
  PushesSpooled: 'PushesSpooled',
  PushesFailed: 'PushesFailed',
  DatapointsWritten: 'DatapointsWritten',
  DatapointsRejected: 'DatapointsRejected',
  UnknownNodes: 'UnknownNodes',
  OpenTsdbErrors: 'OpenTsdbErrors',
  /** Pushes whose write found OpenTSDB failing or its breaker open (points spooled, or the push answered 503). */
  OpenTsdbUnavailable: 'OpenTsdbUnavailable',
  NodesFetched: 'NodesFetched',
  NodesWritten: 'NodesWritten',
  RefreshFailures: 'RefreshFailures',
  SpoolDepth: 'SpoolDepth',
  SpoolOldestAgeSeconds: 'SpoolOldestAgeSeconds',
  DatapointsReplayed: 'DatapointsReplayed',
  RunsReplayed: 'RunsReplayed',
  /** Runs replay parked in this invocation (moved out of the drain order after repeated refusals). */
  RunsParked: 'RunsParked',
  /** Runs waiting in the parked partition: a gauge, published by every replay. */
  ParkedRuns: 'ParkedRuns',
  /**
   * Pushes refused for throttling: answered 429 by the stage, or not run because Lambda throttled the push
   * function. Published by the stack's metric filter on the API access log (no dimension), not by a function.
   */
  PushesThrottled: 'PushesThrottled',
  /** Gap repair (service backfill): runs whose webhook failed, put into the spool this run. */
  RunsBackfilled: 'RunsBackfilled',
  /** Gap repair: runs Catchpoint answered that were not spooled (the same run twice in one answer). */
  RunsBackfillSkipped: 'RunsBackfillSkipped',
  DatapointsBackfilled: 'DatapointsBackfilled',
  /** Gap repair: Catchpoint metric names no rule maps, each time one is seen (never guessed). */
  UnmappedMetricNames: 'UnmappedMetricNames',
  CatchpointRequests: 'CatchpointRequests',
  /** Gap repair runs that failed (nothing of theirs half-written: each spooled run is whole). */
  BackfillFailures: 'BackfillFailures',
} as const;

export { MetricUnit };

export function createLogger(service: ServiceName): Logger {
  return new Logger({ serviceName: service });
}

export function createMetrics(service: ServiceName): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service });
}

export type MetricNameValue = (typeof MetricName)[keyof typeof MetricName];

export type MetricUnitValue = (typeof MetricUnit)[keyof typeof MetricUnit];

/** The slice of Powertools Metrics the functions use; tests record with their own. */
export interface MetricsRecorder {
  addMetric(name: string, unit: MetricUnitValue, value: number): unknown;
  publishStoredMetrics(): void;
}
