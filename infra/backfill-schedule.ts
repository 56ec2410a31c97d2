// The scheduled gap repair (opt-in, `-c backfillSchedule=rate(1 hour)`): on a schedule, a function outside the
// VPC (it needs Catchpoint's REST API) asks Catchpoint for the runs whose webhook delivery failed, turns them
// into exactly the datapoints their pushes would have given and puts them into the spool, which the replay
// (inside the VPC) delivers to OpenTSDB. It alarms like the node refresh: errors, throttles, dead letters,
// and its own failure metric. docs/backfill.md, "Scheduled gap repair".
import { Duration, Stack } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, MetricName, type MetricNameValue } from '../lambda/shared/observability.js';
import type { BridgeFunction } from './bridge-function.js';
import { addScheduledCatchpointFunction } from './catchpoint-function.js';

/**
 * Long enough for a period's requests at Catchpoint's default 20 requests a minute (the function stops asking
 * Catchpoint well before it, see lambda/backfill/gap-repair-handler.ts), short enough that a hung run is
 * over long before the next period.
 */
export const BACKFILL_TIMEOUT = Duration.minutes(10);
export const BACKFILL_MEMORY_MB = 256;

/** Added to the period for the default window, so that a late schedule or a slow run leaves no gap. */
export const BACKFILL_WINDOW_MARGIN_MINUTES = 15;
/** Below this period, the requests of a day would eat most of Catchpoint's default 2,000 a day. */
export const BACKFILL_MIN_PERIOD_MINUTES = 15;
/** The longest window one run asks for: a day and the margin. A longer outage is `npm run backfill`'s job. */
export const BACKFILL_MAX_WINDOW_MINUTES = 1440 + BACKFILL_WINDOW_MARGIN_MINUTES;

const FIVE_MINUTES = Duration.minutes(5);

/** What `backfillSchedule` (and `backfillWindowMinutes`) came to: the expression and the window's length. */
export interface BackfillScheduleSetting {
  schedule: string;
  windowMinutes: number;
}

/**
 * Validates the opt-in schedule. `rate(N minute|minutes|hour|hours|day|days)` gives its period, and the default
 * window is the period plus BACKFILL_WINDOW_MARGIN_MINUTES; a `cron(…)` expression has no single period, so it
 * needs `backfillWindowMinutes`. Problems are pushed to `problems`; undefined when off or invalid.
 */
export function parseBackfillSchedule(
  schedule: string | undefined,
  windowMinutes: number | undefined,
  problems: string[],
): BackfillScheduleSetting | undefined {
  if (schedule === undefined) {
    if (windowMinutes !== undefined) {
      problems.push('backfillWindowMinutes is set but backfillSchedule is not: the gap repair is off');
    }
    return undefined;
  }
  const rate = /^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$/.exec(schedule);
  let period: number | undefined;
  if (rate) {
    const count = Number(rate[1]);
    const unit = rate[2]!;
    // EventBridge's own rule: a value of 1 takes the singular unit, any other the plural.
    if (count === 0 || (count === 1) !== !unit.endsWith('s')) {
      problems.push(
        `backfillSchedule "${schedule}" is not an EventBridge rate: use "rate(1 hour)" or "rate(2 hours)" ` +
          '(singular unit for 1, plural otherwise)',
      );
      return undefined;
    }
    period = count * (unit.startsWith('minute') ? 1 : unit.startsWith('hour') ? 60 : 1440);
    if (period < BACKFILL_MIN_PERIOD_MINUTES) {
      problems.push(
        `backfillSchedule "${schedule}" runs more often than every ${BACKFILL_MIN_PERIOD_MINUTES} minutes: ` +
          "each run costs Catchpoint API requests out of the account's daily allowance (docs/backfill.md)",
      );
      return undefined;
    }
  } else if (!/^cron\(\S+( \S+){5}\)$/.test(schedule)) {
    problems.push(
      `backfillSchedule must be an EventBridge schedule expression such as "rate(1 hour)" or ` +
        `"cron(5 * * * ? *)", got "${schedule}"`,
    );
    return undefined;
  }
  const window =
    windowMinutes ?? (period === undefined ? undefined : period + BACKFILL_WINDOW_MARGIN_MINUTES);
  if (window === undefined) {
    problems.push(
      `backfillSchedule "${schedule}" is a cron expression: give backfillWindowMinutes too, the longest time ` +
        `between two of its runs plus a margin (e.g. -c backfillWindowMinutes=75 for an hourly cron)`,
    );
    return undefined;
  }
  if (period !== undefined && window < period) {
    problems.push(
      `backfillWindowMinutes (${window}) is shorter than the schedule's period (${period} minutes): ` +
        'runs between two windows would never be asked for',
    );
    return undefined;
  }
  if (window > BACKFILL_MAX_WINDOW_MINUTES) {
    problems.push(
      `backfillWindowMinutes must be at most ${BACKFILL_MAX_WINDOW_MINUTES} (a day and a margin); for longer gaps run ` +
        '`npm run backfill` (docs/backfill.md)',
    );
    return undefined;
  }
  return { schedule, windowMinutes: window };
}

export interface BackfillScheduleProps extends BackfillScheduleSetting {
  nodesTable: dynamodb.ITable;
  spoolTable: dynamodb.ITable;
  /** Name of the SSM SecureString parameter with the Catchpoint API credentials (the refresh's). */
  credentialsParameter: string;
  /** Customer managed KMS key of that parameter; undefined for the default aws/ssm key. */
  credentialsKmsKeyArn: string | undefined;
  /** undefined keeps the function's default (https://io.catchpoint.com). */
  catchpointApiUrl: string | undefined;
  /** The push function's settings: the repaired runs must give the datapoints a push gives. */
  metricSets: string | undefined;
  metricNaming: string | undefined;
  alarmTopic: sns.ITopic;
  logRetention: logs.RetentionDays;
}

export class BackfillSchedule extends Construct {
  readonly backfill: BridgeFunction;
  readonly deadLetterQueue: sqs.Queue;
  readonly rule: events.Rule;
  readonly alarms: cw.Alarm[] = [];

  constructor(scope: Construct, id: string, props: BackfillScheduleProps) {
    super(scope, id);

    const { fn, deadLetterQueue, rule } = addScheduledCatchpointFunction(this, {
      entry: 'backfill.ts',
      service: 'backfill',
      description: "Catchpoint's failed webhook deliveries → spool (scheduled gap repair)",
      timeout: BACKFILL_TIMEOUT,
      memorySize: BACKFILL_MEMORY_MB,
      logRetention: props.logRetention,
      environment: {
        BACKFILL_WINDOW_MINUTES: String(props.windowMinutes),
        ...(props.catchpointApiUrl ? { CATCHPOINT_API_URL: props.catchpointApiUrl } : {}),
        ...(props.metricSets ? { METRIC_SETS: props.metricSets } : {}),
        ...(props.metricNaming ? { METRIC_NAMING: props.metricNaming } : {}),
      },
      credentialsParameter: props.credentialsParameter,
      credentialsKmsKeyArn: props.credentialsKmsKeyArn,
      schedule: props.schedule,
      scheduleDescription: 'Spools the runs whose Catchpoint webhook delivery failed (gap repair)',
      // Reads the whole nodes table once a run (as the push path's cache does), and writes new spool items.
      grant: (backfill) => {
        backfill.bindTable(props.nodesTable, 'NODES_TABLE', ['Scan']);
        backfill.bindTable(props.spoolTable, 'SPOOL_TABLE', ['PutItem']);
      },
    });
    this.backfill = fn;
    this.deadLetterQueue = deadLetterQueue;
    this.rule = rule;

    this.addAlarms(props.alarmTopic);
  }

  private addAlarms(topic: sns.ITopic): void {
    const action = new actions.SnsAction(topic);
    const prefix = Stack.of(this).stackName;
    const alarm = (name: string, metric: cw.IMetric, description: string): void => {
      const created = new cw.Alarm(this, name, {
        alarmName: `${prefix}-${name}`,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // No data means no run in the period, or nothing went wrong.
        treatMissingData: cw.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      this.alarms.push(created);
    };
    const fn = this.backfill.function;
    alarm(
      'BackfillFailures',
      backfillMetric(MetricName.BackfillFailures),
      'A gap-repair run failed (Catchpoint refused, throttled or failed; SSM or DynamoDB failed): the runs ' +
        'of its window are not spooled yet; the schedule retries twice. Look for "gap repair failed" in ' +
        'the backfill log group.',
    );
    alarm(
      'BackfillErrors',
      fn.metricErrors({ statistic: cw.Stats.SUM, period: FIVE_MINUTES }),
      'The backfill function failed invocations (errors or timeouts).',
    );
    alarm(
      'BackfillThrottles',
      fn.metricThrottles({ statistic: cw.Stats.SUM, period: FIVE_MINUTES }),
      "The backfill function was throttled: the account's unreserved concurrency was exhausted; the " +
        'schedule retries the run.',
    );
    // On letters arriving, not on the queue's content (as RefreshDeadLetters): messages stay 14 days, so an
    // alarm on the messages visible would stay in ALARM after the first and say nothing of a second.
    alarm(
      'BackfillDeadLetters',
      this.deadLetterQueue.metricNumberOfMessagesSent({ statistic: cw.Stats.SUM, period: FIVE_MINUTES }),
      'A scheduled gap repair failed after its retries and was dead-lettered (a new message in the ' +
        'BackfillDeadLetterQueueUrl queue): its window was not repaired. Read the message and the backfill ' +
        'log group, repair the window, then purge the queue: docs/operations.md.',
    );
  }
}

function backfillMetric(metricName: MetricNameValue): cw.Metric {
  return new cw.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: 'backfill' },
    statistic: cw.Stats.SUM,
    period: FIVE_MINUTES,
  });
}
