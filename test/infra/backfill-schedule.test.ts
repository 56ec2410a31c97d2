import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  BACKFILL_MAX_WINDOW_MINUTES,
  BACKFILL_WINDOW_MARGIN_MINUTES,
  parseBackfillSchedule,
} from '../../infra/backfill-schedule.js';
import { BridgeContextError, parseBridgeContext } from '../../infra/bridge-context.js';
import { readGapRepairConfig } from '../../lambda/config.js';
import { METRICS_NAMESPACE, MetricName } from '../../lambda/shared/observability.js';
import { deployedEnvironment, exampleContext, resourceByPrefix, synthBridge } from './synth-bridge.js';

type Json = Record<string, unknown>;

const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef';

// One synth per setting: off (README's example), on with an hourly rate and the optional keys around it.
const off = synthBridge();
const on = synthBridge({
  backfillSchedule: 'rate(1 hour)',
  catchpointCredentialsKmsKeyArn: KEY_ARN,
  catchpointApiUrl: 'https://io.catchpoint.example',
  metricSets: 'core,timing,bytes',
  metricNaming: 'per-test',
});
const t = on.template;
const fn = resourceByPrefix(t, 'AWS::Lambda::Function', 'BackfillScheduleFunction');
const fnProps = fn.resource.Properties as Json;

function statementsOf(roleIdPrefix: string): { Action: string | string[]; Resource: unknown }[] {
  const role = resourceByPrefix(t, 'AWS::IAM::Role', roleIdPrefix);
  const out: { Action: string | string[]; Resource: unknown }[] = [];
  for (const policy of Object.values(t.findResources('AWS::IAM::Policy'))) {
    const roles = (policy.Properties.Roles as { Ref: string }[]).map((r) => r.Ref);
    if (roles.includes(role.id)) out.push(...policy.Properties.PolicyDocument.Statement);
  }
  const inline = (role.resource.Properties as Json).Policies as
    | { PolicyDocument: { Statement: [] } }[]
    | undefined;
  for (const p of inline ?? []) out.push(...p.PolicyDocument.Statement);
  return out;
}

const actionsOf = (s: { Action: string | string[] }): string[] =>
  Array.isArray(s.Action) ? s.Action : [s.Action];

describe('scheduled gap repair: off by default', () => {
  it('has no backfill function, schedule, queue, alarm or output without backfillSchedule', () => {
    const text = JSON.stringify(off.template.toJSON());
    assert.doesNotMatch(text, /BackfillSchedule|Backfill[A-Z]/);
    assert.equal(off.stack.backfillSchedule, undefined);
    // Turning it on adds exactly the function, its schedule, its dead-letter queue and its four alarms.
    const count = (template: typeof t, type: string) => Object.keys(template.findResources(type)).length;
    const added = (type: string) => count(t, type) - count(off.template, type);
    assert.equal(added('AWS::Lambda::Function'), 1);
    assert.equal(added('AWS::Events::Rule'), 1);
    assert.equal(added('AWS::SQS::Queue'), 1);
    assert.equal(added('AWS::CloudWatch::Alarm'), 4);
  });
});

describe('scheduled gap repair: -c backfillSchedule=rate(1 hour)', () => {
  it('runs outside the VPC on the given schedule, with bounded retries and a dead-letter queue', () => {
    assert.equal(fnProps.VpcConfig, undefined);
    const queue = resourceByPrefix(t, 'AWS::SQS::Queue', 'BackfillScheduleDeadLetterQueue').id;
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [fn.id, 'Arn'] },
          Id: 'Target0',
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queue, 'Arn'] } },
        },
      ],
    });
    assert.deepEqual(fnProps.DeadLetterConfig, { TargetArn: { 'Fn::GetAtt': [queue, 'Arn'] } });
    const timeout = fnProps.Timeout as number;
    assert.ok(timeout >= 300 && timeout <= 900, `timeout ${timeout} s`);
  });

  it("gives the function a valid configuration: the push path's metric settings and a window of period + margin", () => {
    const env = deployedEnvironment(fn.resource);
    assert.equal(env.POWERTOOLS_SERVICE_NAME, 'backfill');
    const config = readGapRepairConfig(env);
    assert.equal(config.windowMinutes, 60 + BACKFILL_WINDOW_MARGIN_MINUTES);
    assert.equal(config.catchpointApiUrl, 'https://io.catchpoint.example');
    assert.equal(config.credentialsParameter, '/catchpoint-bridge/credentials');
    assert.equal(config.metrics.naming, 'per-test');
    assert.deepEqual([...config.metrics.sets].sort(), ['bytes', 'core', 'timing']);
    // Exactly the push function's metric settings, so a repaired run gives the points its push would have.
    const push = deployedEnvironment(
      resourceByPrefix(t, 'AWS::Lambda::Function', 'PushApiFunction').resource,
    );
    assert.equal(env.METRIC_SETS, push.METRIC_SETS);
    assert.equal(env.METRIC_NAMING, push.METRIC_NAMING);
    const tables = { NODES_TABLE: 'NodesTable', SPOOL_TABLE: 'ShardedSpoolTable' };
    const vars = (fnProps.Environment as { Variables: Json }).Variables;
    for (const [name, table] of Object.entries(tables)) {
      assert.deepEqual(vars[name], { Ref: resourceByPrefix(t, 'AWS::DynamoDB::Table', table).id });
    }
  });

  it('grants only what it uses: scan the nodes, put into the spool, get its SSM parameter, decrypt with its key', () => {
    const statements = statementsOf('BackfillScheduleFunctionRole');
    const nodes = resourceByPrefix(t, 'AWS::DynamoDB::Table', 'NodesTable').id;
    const spool = resourceByPrefix(t, 'AWS::DynamoDB::Table', 'ShardedSpoolTable').id;
    const on = (id: string) =>
      statements
        .filter((s) => JSON.stringify(s.Resource).includes(`"${id}"`))
        .flatMap(actionsOf)
        .sort();
    assert.deepEqual(on(nodes), ['dynamodb:Scan']);
    assert.deepEqual(on(spool), ['dynamodb:PutItem']);
    const ssm = statements.filter((s) => JSON.stringify(s.Action).includes('ssm:'));
    assert.equal(ssm.length, 1);
    assert.equal(ssm[0]!.Action, 'ssm:GetParameter');
    assert.match(JSON.stringify(ssm[0]!.Resource), /:parameter\/catchpoint-bridge\/credentials"\]\]\}$/);
    const kms = statements.filter((s) => JSON.stringify(s.Action).includes('kms:'));
    assert.deepEqual(
      kms.map((s) => [s.Action, s.Resource]),
      [['kms:Decrypt', KEY_ARN]],
    );
    const rights = [...new Set(statements.flatMap(actionsOf).filter((a) => !a.startsWith('logs:')))].sort();
    assert.deepEqual(rights, [
      'dynamodb:PutItem',
      'dynamodb:Scan',
      'kms:Decrypt',
      'sqs:SendMessage',
      'ssm:GetParameter',
    ]);
    for (const s of statements) {
      assert.ok(!actionsOf(s).some((a) => a.includes('*')), JSON.stringify(s.Action));
      assert.notEqual(s.Resource, '*');
    }
  });

  it('alarms like the refresh: its failures, errors, throttles and dead letters, to the alarm topic', () => {
    const topic = resourceByPrefix(t, 'AWS::SNS::Topic', 'AlarmTopic').id;
    const alarms = Object.entries(t.findResources('AWS::CloudWatch::Alarm'))
      .filter(([id]) => id.startsWith('BackfillSchedule'))
      .map(([, a]) => a.Properties as Json);
    const byName = new Map(alarms.map((a) => [String(a.AlarmName).replace(/^CatchpointBridge-/, ''), a]));
    assert.deepEqual([...byName.keys()].sort(), [
      'BackfillDeadLetters',
      'BackfillErrors',
      'BackfillFailures',
      'BackfillThrottles',
    ]);
    const failures = byName.get('BackfillFailures')!;
    assert.equal(failures.Namespace, METRICS_NAMESPACE);
    assert.equal(failures.MetricName, MetricName.BackfillFailures);
    assert.deepEqual(failures.Dimensions, [{ Name: 'service', Value: 'backfill' }]);
    for (const [metric, name] of [
      ['Errors', 'BackfillErrors'],
      ['Throttles', 'BackfillThrottles'],
    ] as const) {
      const alarm = byName.get(name)!;
      assert.equal(alarm.Namespace, 'AWS/Lambda');
      assert.equal(alarm.MetricName, metric);
      assert.deepEqual(alarm.Dimensions, [{ Name: 'FunctionName', Value: { Ref: fn.id } }]);
    }
    // Each new dead letter, not the queue's 14-day content: a second failure is not hidden by the first.
    const deadLetters = byName.get('BackfillDeadLetters')!;
    const queue = resourceByPrefix(t, 'AWS::SQS::Queue', 'BackfillScheduleDeadLetterQueue').id;
    assert.equal(deadLetters.Namespace, 'AWS/SQS');
    assert.equal(deadLetters.MetricName, 'NumberOfMessagesSent');
    assert.equal(deadLetters.Statistic, 'Sum');
    assert.equal(deadLetters.Period, 300);
    assert.deepEqual(deadLetters.Dimensions, [
      { Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } },
    ]);
    for (const alarm of alarms) {
      assert.equal(alarm.Threshold, 1);
      assert.equal(alarm.EvaluationPeriods, 1);
      assert.equal(alarm.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
      assert.equal(alarm.TreatMissingData, 'notBreaching');
      assert.deepEqual(alarm.AlarmActions, [{ Ref: topic }]);
      assert.ok(String(alarm.AlarmDescription).length > 40);
    }
  });

  it('bundles a minified ESM handler that imports with its deployed environment', async () => {
    const code = fnProps.Code as { S3Key: string };
    const dir = join(on.assembly.directory, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
    const file = join(dir, 'index.mjs');
    assert.ok(existsSync(file), `${file} exists`);
    assert.ok(!readFileSync(file, 'utf8').includes('Dynamic require of'), 'no CommonJS require() shim');
    const env: Record<string, string> = { ...deployedEnvironment(fn.resource), AWS_REGION: 'eu-west-1' };
    delete env.NODE_OPTIONS;
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const module = (await import(pathToFileURL(file).href)) as { handler?: unknown };
      assert.equal(typeof module.handler, 'function');
    } finally {
      for (const key of Object.keys(env)) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });

  it('names its log group and function in the outputs', () => {
    const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;
    assert.deepEqual(outputs.BackfillFunctionName?.Value, { Ref: fn.id });
    assert.deepEqual(outputs.BackfillDeadLetterQueueUrl?.Value, {
      Ref: resourceByPrefix(t, 'AWS::SQS::Queue', 'BackfillScheduleDeadLetterQueue').id,
    });
    assert.deepEqual(outputs.BackfillLogGroupName?.Value, {
      Ref: resourceByPrefix(t, 'AWS::Logs::LogGroup', 'BackfillScheduleFunctionLogGroup').id,
    });
  });

  it('passes cdk-nag with no acknowledgement of its own', () => {
    const report = new AwsSolutionsChecks().validateScope(on.app);
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`),
    );
    assert.deepEqual(findings, []);
    const raw = new AwsSolutionsChecks();
    (raw as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
    const ours = raw
      .validateScope(on.app)
      .violations.flatMap((v) => v.violatingResources.map((r) => r.constructPath))
      .filter((path) => path?.includes('/BackfillSchedule/'));
    assert.deepEqual(ours, []);
  });
});

describe('backfillSchedule and backfillWindowMinutes', () => {
  const parse = (schedule: string | undefined, window?: number) => {
    const problems: string[] = [];
    return { setting: parseBackfillSchedule(schedule, window, problems), problems };
  };

  it('takes rate and cron expressions; a rate gives its period plus the margin as the window', () => {
    assert.deepEqual(parse('rate(1 hour)').setting, { schedule: 'rate(1 hour)', windowMinutes: 75 });
    assert.deepEqual(parse('rate(30 minutes)').setting, { schedule: 'rate(30 minutes)', windowMinutes: 45 });
    assert.deepEqual(parse('rate(1 day)').setting, { schedule: 'rate(1 day)', windowMinutes: 1440 + 15 });
    assert.deepEqual(parse('rate(2 hours)', 150).setting, { schedule: 'rate(2 hours)', windowMinutes: 150 });
    assert.deepEqual(parse('cron(5 * * * ? *)', 75).setting, {
      schedule: 'cron(5 * * * ? *)',
      windowMinutes: 75,
    });
    assert.deepEqual(parse(undefined), { setting: undefined, problems: [] });
  });

  it('refuses what EventBridge or Catchpoint would not take, or what would leave gaps, saying why', () => {
    const cases: [string | undefined, number | undefined, RegExp][] = [
      ['rate(1 hours)', undefined, /singular unit for 1/],
      ['rate(2 hour)', undefined, /singular unit for 1/],
      ['rate(0 minutes)', undefined, /not an EventBridge rate/],
      ['rate(5 minutes)', undefined, /more often than every 15 minutes/],
      ['hourly', undefined, /must be an EventBridge schedule expression/],
      ['cron(5 * * * ? *)', undefined, /give backfillWindowMinutes too/],
      ['rate(2 hours)', 90, /shorter than the schedule's period \(120 minutes\)/],
      ['rate(1 day)', 2000, new RegExp(`at most ${BACKFILL_MAX_WINDOW_MINUTES}`)],
      [undefined, 75, /backfillSchedule is not/],
    ];
    for (const [schedule, window, message] of cases) {
      const { setting, problems } = parse(schedule, window);
      assert.equal(setting, undefined, String(schedule));
      assert.equal(problems.length, 1, String(schedule));
      assert.match(problems[0]!, message);
    }
  });

  it('fails the synth with the context error, listing the problem with the key', () => {
    const context: Record<string, unknown> = { ...exampleContext(), backfillSchedule: 'rate(1 hours)' };
    assert.throws(
      () => parseBridgeContext((key) => context[key]),
      (error: unknown) =>
        error instanceof BridgeContextError && error.problems.some((p) => p.startsWith('backfillSchedule ')),
    );
    const window: Record<string, unknown> = {
      ...exampleContext(),
      backfillSchedule: 'rate(1 hour)',
      backfillWindowMinutes: 'soon',
    };
    assert.throws(
      () => parseBridgeContext((key) => window[key]),
      /backfillWindowMinutes must be a positive integer/,
    );
  });
});
