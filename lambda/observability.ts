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
} as const;

export { MetricUnit };

export function createLogger(service: ServiceName): Logger {
  return new Logger({ serviceName: service });
}

export function createMetrics(service: ServiceName): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service });
}
