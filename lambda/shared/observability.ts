import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * CloudWatch namespace of every metric the bridge emits (EMF). Each function publishes with the
 * dimension `service` = its ServiceName; the stack's alarms and dashboard name the same pairs.
 */
export const METRICS_NAMESPACE = 'CatchpointBridge';

export type ServiceName = 'push' | 'refresh' | 'replay';

/** Names of the custom metrics; the CDK stack imports these so alarms and code cannot drift apart. */
export const MetricName = {
  Pushes: 'Pushes',
  PushesRejected: 'PushesRejected',
  PushesSpooled: 'PushesSpooled',
  PushesFailed: 'PushesFailed',
  DatapointsWritten: 'DatapointsWritten',
  DatapointsRejected: 'DatapointsRejected',
  UnknownNodes: 'UnknownNodes',
  OpenTsdbErrors: 'OpenTsdbErrors',
  NodesFetched: 'NodesFetched',
  NodesWritten: 'NodesWritten',
  RefreshFailures: 'RefreshFailures',
  SpoolDepth: 'SpoolDepth',
  SpoolOldestAgeSeconds: 'SpoolOldestAgeSeconds',
  DatapointsReplayed: 'DatapointsReplayed',
  /** Spooled runs replay wrote to OpenTSDB and deleted (per invocation). */
  RunsReplayed: 'RunsReplayed',
  /** Runs replay parked in this invocation (OpenTSDB kept refusing them). */
  RunsParked: 'RunsParked',
  /** Runs waiting in the parked partition when a replay ended (a gauge). */
  ParkedRuns: 'ParkedRuns',
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

/** The slice of Powertools Metrics the domain code uses, so it can be counted in tests without EMF. */
export interface Counters {
  add(name: MetricNameValue, value: number): void;
}

export function countersOf(metrics: MetricsRecorder): Counters {
  return {
    add(name, value) {
      metrics.addMetric(name, MetricUnit.Count, value);
    },
  };
}
