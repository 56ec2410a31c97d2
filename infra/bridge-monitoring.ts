// Alarms (to an SNS topic) and the dashboard. Custom metrics are named through lambda/shared/observability.ts, the
// module the functions publish with, so that a renamed metric cannot silently orphan an alarm.
import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  METRICS_NAMESPACE,
  MetricName,
  type MetricNameValue,
  type ServiceName,
} from '../lambda/shared/observability.js';
import type { BridgeFunction } from './bridge-function.js';

export interface BridgeMonitoringProps {
  stage: apigwv2.HttpStage;
  /** The stage's access log (JSON, one line per request, `status` and `integrationStatus` as strings). */
  accessLogs: logs.ILogGroup;
  /** Drawn on the push concurrency graph, when reserved: the line where Lambda starts throttling pushes. */
  pushReservedConcurrency: number | undefined;
  /** Named in the ParkedRuns alarm's command (`npm run spool -- list --table …`). */
  spoolTableName: string;
  push: BridgeFunction;
  refresh: BridgeFunction;
  replay: BridgeFunction;
  refreshDeadLetterQueue: sqs.IQueue;
  alarmTopic: sns.ITopic;
}

const FIVE_MINUTES = Duration.minutes(5);

/** Alarm thresholds, named so the tests and docs/operations.md can quote them. */
export const ALARM_THRESHOLDS = {
  /** Alarm above this percent of push requests answered 5xx in 5 minutes, in 2 of 3 periods. */
  push5xxPercent: 5,
  /** The spool's oldest entry, in seconds: OpenTSDB has not taken a write for this long. */
  spoolOldestAgeSeconds: 900,
} as const;

/**
 * A metric a bridge function publishes (EMF). Refresh and replay publish with the dimension `service`; the
 * push function's metrics have none: they ride in its one log line per push, held to 300 bytes
 * (lambda/push/push-record.ts).
 */
function bridgeMetric(
  service: ServiceName,
  metricName: MetricNameValue,
  options: { statistic?: string; period?: Duration; label?: string } = {},
): cw.Metric {
  return new cw.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: service === 'push' ? undefined : { service },
    statistic: options.statistic ?? cw.Stats.SUM,
    period: options.period ?? FIVE_MINUTES,
    label: options.label,
  });
}

/**
 * The access-log lines of pushes refused for throttling. A stage throttle answers 429 itself; a push function
 * throttled by Lambda is answered 500 by API Gateway ("If the Lambda API rejects the invocation request, API
 * Gateway returns a 500"), and only `integrationStatus`, the status of Lambda's Invoke call, says 429 then.
 */
const THROTTLED_PUSH_PATTERN = logs.FilterPattern.any(
  logs.FilterPattern.stringValue('$.status', '=', '429'),
  logs.FilterPattern.stringValue('$.integrationStatus', '=', '429'),
);

/** The push lines of runs from nodes missing in the nodes table (lambda/push/push-record.ts). */
const UNKNOWN_NODE_PATTERN = logs.FilterPattern.numberValue('$.unknownNode', '=', 1);

/** The same, labelled with its service for graphs that mix services. */
function graphMetric(
  service: ServiceName,
  metricName: MetricNameValue,
  options: { statistic?: string; period?: Duration } = {},
): cw.Metric {
  return bridgeMetric(service, metricName, { ...options, label: `${metricName} (${service})` });
}

export class BridgeMonitoring extends Construct {
  readonly alarms: cw.Alarm[] = [];
  readonly dashboard: cw.Dashboard;
  private readonly alarmAction: actions.SnsAction;
  private readonly prefix: string;

  constructor(scope: Construct, id: string, props: BridgeMonitoringProps) {
    super(scope, id);
    this.alarmAction = new actions.SnsAction(props.alarmTopic);
    this.prefix = Stack.of(this).stackName;
    const { stage, push, refresh, replay } = props;

    // ---- Push.
    const requests = stage.metricCount({ statistic: cw.Stats.SUM, period: FIVE_MINUTES });
    const serverErrors = stage.metricServerError({ statistic: cw.Stats.SUM, period: FIVE_MINUTES });
    const server5xxRate = new cw.MathExpression({
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: { requests, errors: serverErrors },
      period: FIVE_MINUTES,
      label: 'push 5xx (%)',
    });
    this.alarm('Push5xxRate', {
      metric: server5xxRate,
      threshold: ALARM_THRESHOLDS.push5xxPercent,
      // "More than", as the description says: exactly 5 % is not an alarm.
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      alarmDescription:
        `More than ${ALARM_THRESHOLDS.push5xxPercent}% of pushes answered 5xx: datapoints were neither written ` +
        'nor spooled (Catchpoint retries for about an hour). See the push log group for outcome "failed", ' +
        'and PushThrottles: a push Lambda throttled is answered 500 too.',
    });
    this.alarm('OpenTsdbWriteFailures', {
      metric: bridgeMetric('push', MetricName.OpenTsdbErrors),
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      alarmDescription:
        'OpenTSDB has failed push writes for 15 minutes: pushes are being spooled (or, without the spool, ' +
        'answered 503). Look for "opentsdb write failed" in the push log group.',
    });

    // The HTTP API publishes no metric of its own for 429s (they count among its 4xx, with the 401s and 400s),
    // so the stack counts them in the access log: one metric, no dimension, 1 per throttled request.
    const throttledFilter = new logs.MetricFilter(this, 'PushesThrottledFilter', {
      logGroup: props.accessLogs,
      filterPattern: THROTTLED_PUSH_PATTERN,
      metricNamespace: METRICS_NAMESPACE,
      metricName: MetricName.PushesThrottled,
      metricValue: '1',
      unit: cw.Unit.COUNT,
    });
    // A push from a node missing in the nodes table says so in its line; counting it here keeps the line short
    // (lambda/push/push-record.ts).
    new logs.MetricFilter(this, 'UnknownNodesFilter', {
      logGroup: push.logGroup,
      filterPattern: UNKNOWN_NODE_PATTERN,
      metricNamespace: METRICS_NAMESPACE,
      metricName: MetricName.UnknownNodes,
      metricValue: '1',
    });
    const throttledPushes = throttledFilter.metric({ statistic: cw.Stats.SUM, period: FIVE_MINUTES });
    this.alarm('PushesThrottled', {
      metric: throttledPushes,
      threshold: 1,
      evaluationPeriods: 1,
      alarmDescription:
        'Pushes were refused for throttling: answered 429 by the stage (pushRateLimit/pushBurstLimit) or 500 ' +
        'because Lambda throttled the push function (pushReservedConcurrency, or the account concurrency). ' +
        'Catchpoint retries them for about an hour. Raise the limits: docs/capacity.md.',
    });
    this.alarm('PushDatapointsRejected', {
      metric: bridgeMetric('push', MetricName.DatapointsRejected),
      threshold: 0,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      alarmDescription:
        'OpenTSDB refused datapoints of pushes for good (a validation reason: bad name, value, timestamp or ' +
        'tags); they are not stored. Look for "opentsdb rejected datapoint" in the push log group.',
    });

    // ---- Refresh.
    this.alarm('RefreshFailures', {
      metric: bridgeMetric('refresh', MetricName.RefreshFailures),
      threshold: 1,
      evaluationPeriods: 1,
      alarmDescription:
        'The node refresh failed: node metadata is ageing (nodes expire after NODE_TTL_DAYS). Look for ' +
        '"node refresh failed" in the refresh log group.',
    });
    // On letters arriving, not on the queue's content: messages stay there 14 days, so an alarm on the
    // messages visible would stay in ALARM after the first and say nothing of a second. Lambda and EventBridge
    // put dead letters with SendMessage, which NumberOfMessagesSent counts.
    this.alarm('RefreshDeadLetters', {
      metric: props.refreshDeadLetterQueue.metricNumberOfMessagesSent({
        statistic: cw.Stats.SUM,
        period: FIVE_MINUTES,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      alarmDescription:
        'A scheduled refresh failed after its retries and was dead-lettered (a new message in the ' +
        'RefreshDeadLetterQueueUrl queue). Read the message and the refresh log group, then refresh by hand ' +
        'and purge the queue: docs/operations.md.',
    });

    // ---- Spool and replay.
    this.alarm('SpoolOldestAge', {
      metric: bridgeMetric('replay', MetricName.SpoolOldestAgeSeconds, { statistic: cw.Stats.MAXIMUM }),
      threshold: ALARM_THRESHOLDS.spoolOldestAgeSeconds,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      alarmDescription:
        `The spool holds datapoints older than ${ALARM_THRESHOLDS.spoolOldestAgeSeconds} s: OpenTSDB is not ` +
        'taking the replay writes, or the replay fails. Spooled entries expire after 14 days.',
    });
    this.alarm('ReplayDatapointsRejected', {
      metric: bridgeMetric('replay', MetricName.DatapointsRejected),
      threshold: 0,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      alarmDescription:
        'OpenTSDB refused spooled datapoints for good (a validation reason); they are not stored. Look for ' +
        '"opentsdb rejected datapoint" in the replay log group.',
    });
    this.alarm('ParkedRuns', {
      metric: bridgeMetric('replay', MetricName.ParkedRuns, { statistic: cw.Stats.MAXIMUM }),
      threshold: 0,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      alarmDescription:
        'Spooled runs that OpenTSDB kept refusing are parked, out of the drain order (they expire after 14 ' +
        `days): list them with \`npm run spool -- list --table ${props.spoolTableName}\` (from a checkout ` +
        'with AWS credentials), then retry or drop them.',
    });

    // ---- Every function: errors and throttles.
    for (const fn of [push, refresh, replay]) {
      this.alarm(`${capitalise(fn.service)}Errors`, {
        metric: fn.function.metricErrors({ statistic: cw.Stats.SUM, period: FIVE_MINUTES }),
        threshold: 1,
        // One failed refresh is worth a look; push and replay run often enough to ride out a single error.
        evaluationPeriods: fn.service === 'refresh' ? 1 : 3,
        datapointsToAlarm: fn.service === 'refresh' ? 1 : 2,
        alarmDescription: `The ${fn.service} function failed invocations (errors or timeouts).`,
      });
    }
    // Not replay's: a throttled schedule is retried by Lambda within its minute, and a replay that cannot run for
    // long shows as SpoolOldestAge, the alarm that matters (an empty spool loses nothing by a skipped minute).
    this.alarm('PushThrottles', {
      metric: push.function.metricThrottles({ statistic: cw.Stats.SUM, period: FIVE_MINUTES }),
      threshold: 1,
      evaluationPeriods: 1,
      alarmDescription:
        "Lambda throttled the push function: the account's concurrency (or, when set, " +
        'pushReservedConcurrency) was all in use, so API Gateway answered those pushes 500 (Catchpoint ' +
        'retries). OpenTSDB slow, or more pushes than planned: docs/capacity.md.',
    });
    this.alarm('RefreshThrottles', {
      metric: refresh.function.metricThrottles({ statistic: cw.Stats.SUM, period: FIVE_MINUTES }),
      threshold: 1,
      evaluationPeriods: 1,
      alarmDescription:
        "The refresh function was throttled: the account's unreserved concurrency was exhausted. Lambda " +
        'retries the scheduled event for up to an hour; see docs/operations.md.',
    });

    // ---- Dashboard.
    this.dashboard = new cw.Dashboard(this, 'Dashboard', {
      dashboardName: this.prefix,
      defaultInterval: Duration.hours(24),
    });
    const graph = (title: string, left: cw.IMetric[], right: cw.IMetric[] = []) =>
      new cw.GraphWidget({ title, left, right, width: 8, height: 6 });
    this.dashboard.addWidgets(
      graph('Pushes', [
        // Every accepted push reports DatapointsWritten (0 when none were), so its count is the pushes'.
        bridgeMetric('push', MetricName.DatapointsWritten, {
          statistic: cw.Stats.SAMPLE_COUNT,
          label: 'Pushes (push)',
        }),
        graphMetric('push', MetricName.PushesRejected),
        graphMetric('push', MetricName.PushesSpooled),
        graphMetric('push', MetricName.PushesFailed),
      ]),
      graph(
        'Push API responses',
        [
          requests.with({ label: 'requests' }),
          stage.metricClientError({ statistic: cw.Stats.SUM, period: FIVE_MINUTES, label: '4xx' }),
          serverErrors.with({ label: '5xx' }),
        ],
        [server5xxRate],
      ),
      new cw.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 8, height: 6 }),
    );
    this.dashboard.addWidgets(
      graph('Datapoints', [
        graphMetric('push', MetricName.DatapointsWritten),
        graphMetric('push', MetricName.DatapointsRejected),
        graphMetric('replay', MetricName.DatapointsReplayed),
        graphMetric('replay', MetricName.DatapointsRejected),
      ]),
      graph('Push latency (ms)', [
        stage.metricLatency({ statistic: cw.Stats.p(50), period: FIVE_MINUTES, label: 'API p50' }),
        stage.metricLatency({ statistic: cw.Stats.p(99), period: FIVE_MINUTES, label: 'API p99' }),
        push.function.metricDuration({
          statistic: cw.Stats.p(99),
          period: FIVE_MINUTES,
          label: 'function p99',
        }),
      ]),
      graph('Unknown nodes and OpenTSDB errors', [
        graphMetric('push', MetricName.UnknownNodes),
        graphMetric('push', MetricName.OpenTsdbErrors),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Spool',
        [graphMetric('replay', MetricName.SpoolDepth, { statistic: cw.Stats.MAXIMUM })],
        [graphMetric('replay', MetricName.SpoolOldestAgeSeconds, { statistic: cw.Stats.MAXIMUM })],
      ),
      graph('Node refresh', [
        graphMetric('refresh', MetricName.NodesFetched, { period: Duration.hours(1) }),
        graphMetric('refresh', MetricName.NodesWritten, { period: Duration.hours(1) }),
        graphMetric('refresh', MetricName.RefreshFailures, { period: Duration.hours(1) }),
      ]),
      graph(
        'Function errors and throttles',
        [push, refresh, replay].map((fn) =>
          fn.function.metricErrors({
            statistic: cw.Stats.SUM,
            period: FIVE_MINUTES,
            label: `${fn.service} errors`,
          }),
        ),
        [push, refresh, replay].map((fn) =>
          fn.function.metricThrottles({
            statistic: cw.Stats.SUM,
            period: FIVE_MINUTES,
            label: `${fn.service} throttles`,
          }),
        ),
      ),
    );
    this.dashboard.addWidgets(
      graph('Throttled pushes', [
        throttledPushes.with({ label: 'throttled pushes (access log: 429, or Lambda 429 → 500)' }),
        push.function.metricThrottles({
          statistic: cw.Stats.SUM,
          period: FIVE_MINUTES,
          label: 'push function throttles (Lambda)',
        }),
      ]),
      new cw.GraphWidget({
        title: 'Push concurrency',
        left: [
          push.function.metric('ConcurrentExecutions', {
            statistic: cw.Stats.MAXIMUM,
            period: Duration.minutes(1),
            label: 'push concurrent executions (max)',
          }),
        ],
        leftAnnotations:
          props.pushReservedConcurrency === undefined
            ? undefined
            : [{ value: props.pushReservedConcurrency, label: 'reserved concurrency: throttled above' }],
        width: 8,
        height: 6,
      }),
      graph(
        'Replay: runs',
        [graphMetric('replay', MetricName.RunsReplayed), graphMetric('replay', MetricName.RunsParked)],
        [graphMetric('replay', MetricName.ParkedRuns, { statistic: cw.Stats.MAXIMUM })],
      ),
    );
    this.dashboard.addWidgets(
      new cw.LogQueryWidget({
        title: 'Unknown nodes (pushes from nodes missing in the nodes table)',
        logGroupNames: [push.logGroup.logGroupName],
        queryLines: [
          'filter unknownNode = 1',
          'stats count(*) as pushes, latest(@timestamp) as lastSeen by nodeId',
          'sort pushes desc',
          'limit 50',
        ],
        width: 12,
        height: 6,
      }),
      new cw.LogQueryWidget({
        title: 'Rejected and failed pushes',
        logGroupNames: [push.logGroup.logGroupName],
        queryLines: [
          'filter outcome in ["rejected", "failed"]',
          'stats count(*) as pushes by outcome, status, reason',
          'sort pushes desc',
          'limit 50',
        ],
        width: 12,
        height: 6,
      }),
    );
    this.dashboard.addWidgets(
      new cw.LogQueryWidget({
        title: 'Throttled requests per minute (429: stage throttle; 500 with integrationStatus 429: Lambda)',
        logGroupNames: [props.accessLogs.logGroupName],
        // The access log's values are strings.
        queryLines: [
          'filter status = "429" or integrationStatus = "429"',
          'stats count(*) as requests by bin(1m) as minute, status',
          'sort minute desc',
          'limit 100',
        ],
        width: 24,
        height: 6,
      }),
    );
  }

  private alarm(id: string, props: Omit<cw.AlarmProps, 'alarmName' | 'treatMissingData'>): cw.Alarm {
    const alarm = new cw.Alarm(this, id, {
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...props,
      alarmName: `${this.prefix}-${id}`,
      // No data means nothing happened (no pushes, no failures, empty spool).
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.alarmAction);
    alarm.addOkAction(this.alarmAction);
    this.alarms.push(alarm);
    return alarm;
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
