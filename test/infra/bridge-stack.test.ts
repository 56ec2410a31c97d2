import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { CONTEXT_DEFAULTS, EXAMPLE_PUSH_TOKEN_HASH } from '../../infra/bridge-context.js';
import { ALARM_THRESHOLDS } from '../../infra/bridge-monitoring.js';
import { readPushConfig, readRefreshConfig, readReplayConfig } from '../../lambda/config.js';
import { DEFAULT_WRITE_BUDGET_MS, PUSH_TIMEOUT_SECONDS } from '../../lambda/push/push-limits.js';
import { METRICS_NAMESPACE, MetricName } from '../../lambda/shared/observability.js';
import {
  cdkJsonContext,
  deployedEnvironment,
  PROJECT_ROOT,
  resourceByPrefix,
  synthBridge,
} from './synth-bridge.js';

type Json = Record<string, unknown>;

// One synth with README's example context, one with every optional key set; bundles are cached in between.
const example = synthBridge();
const t = example.template;
const MULTI_REGION_KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/mrk-0a1b2c3d11112222333344445555aaaa';
const customSynth = synthBridge({
  vpcId: 'vpc-0aaaaaaaaaaaaaaaa',
  subnetIds: ['subnet-0aaaaaaaaaaaaaaaa'],
  openTsdbUrl: 'https://opentsdb.example.internal/',
  openTsdbSecurityGroupId: 'sg-0bbbbbbbbbbbbbbbb',
  pushTokenHashes: `${'a'.repeat(64)},${'B'.repeat(64)}`,
  createDynamoDbEndpoint: 'false',
  routeTableIds: undefined,
  dynamoDbPrefixListId: 'pl-02cd2c6b',
  refreshSchedule: 'cron(15 * * * ? *)',
  metricSets: 'core,bytes',
  metricNaming: 'per-test',
  catchpointApiUrl: 'https://io.catchpoint.example',
  catchpointCredentialsKmsKeyArn: MULTI_REGION_KEY_ARN,
  nodeTtlDays: '3',
  alarmEmail: 'ops@example.com',
  logRetentionDays: 90,
  pushRateLimit: 20,
  pushBurstLimit: 40,
  pushReservedConcurrency: '10',
  openTsdbSync: 'false',
  pushSystemLogLevel: 'info',
  pushMemorySize: '192',
  // The opt-in scheduled gap repair, with its function, queue and four alarms.
  backfillSchedule: 'rate(1 hour)',
});
const push = resourceByPrefix(t, 'AWS::Lambda::Function', 'PushApiFunction');
const refresh = resourceByPrefix(t, 'AWS::Lambda::Function', 'NodeRefreshFunction');
const replay = resourceByPrefix(t, 'AWS::Lambda::Function', 'SpoolReplayFunction');
const bridgeFunctions = { push, refresh, replay };
const custom = customSynth.template;
const sgId = resourceByPrefix(t, 'AWS::EC2::SecurityGroup', 'NetworkFunctionSecurityGroup').id;

function props(resource: { resource: Json }): Json {
  return resource.resource.Properties as Json;
}

function policyStatementsOf(roleIdPrefix: string): { Action: string | string[]; Resource: unknown }[] {
  const statements: { Action: string | string[]; Resource: unknown }[] = [];
  const role = resourceByPrefix(t, 'AWS::IAM::Role', roleIdPrefix);
  for (const p of (props(role).Policies as { PolicyDocument: { Statement: [] } }[] | undefined) ?? []) {
    statements.push(...p.PolicyDocument.Statement);
  }
  for (const policy of Object.values(t.findResources('AWS::IAM::Policy'))) {
    const roles = (policy.Properties.Roles as { Ref: string }[]).map((r) => r.Ref);
    if (roles.includes(role.id)) statements.push(...policy.Properties.PolicyDocument.Statement);
  }
  return statements;
}

function actionsOn(roleIdPrefix: string, resourceLogicalId: string): string[] {
  return policyStatementsOf(roleIdPrefix)
    .filter((s) => JSON.stringify(s.Resource).includes(`"${resourceLogicalId}"`))
    .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))
    .sort();
}

describe('functions', () => {
  it('runs every bridge function on a pinned supported Node runtime, ARM64, JSON logs, source maps', () => {
    for (const [name, fn] of Object.entries(bridgeFunctions)) {
      const p = props(fn);
      assert.ok(['nodejs22.x', 'nodejs24.x'].includes(p.Runtime as string), `${name} runtime ${p.Runtime}`);
      assert.deepEqual(p.Architectures, ['arm64'], name);
      assert.equal(p.Handler, 'index.handler', name);
      const logging = p.LoggingConfig as Json;
      assert.equal(logging.LogFormat, 'JSON', name);
      assert.ok(logging.LogGroup, `${name} has its own log group`);
      const env = deployedEnvironment(fn.resource);
      assert.equal(env.NODE_OPTIONS, '--enable-source-maps', name);
      assert.equal(env.POWERTOOLS_SERVICE_NAME, name);
      assert.equal(env.POWERTOOLS_METRICS_NAMESPACE, METRICS_NAMESPACE);
    }
  });

  it("drops Lambda's START and REPORT lines of push (system log level WARN); refresh and replay keep them", () => {
    const level = (fn: { resource: Json }) =>
      ((props(fn).LoggingConfig as Json).SystemLogLevel as string | undefined) ?? 'INFO';
    assert.equal(level(push), 'WARN');
    assert.equal(level(refresh), 'INFO');
    assert.equal(level(replay), 'INFO');
    // Application lines stay at INFO: the push's one line per push is one of them.
    assert.equal((props(push).LoggingConfig as Json).ApplicationLogLevel, 'INFO');
  });

  it('runs every function of the stack on ARM64, the prefix-list lookup of the custom resource included', () => {
    const functions = Object.entries(t.findResources('AWS::Lambda::Function'));
    assert.equal(functions.length, 4, 'the three bridge functions and the AwsCustomResource provider');
    for (const [id, fn] of functions) assert.deepEqual(fn.Properties.Architectures, ['arm64'], id);
  });

  it('gives every function log group a retention', () => {
    const groups = t.findResources('AWS::Logs::LogGroup');
    assert.ok(Object.keys(groups).length >= 4);
    for (const [id, group] of Object.entries(groups)) assert.equal(group.Properties.RetentionInDays, 30, id);
  });

  it('gives each function the environment lambda/config.ts requires', () => {
    assert.doesNotThrow(() => readPushConfig(deployedEnvironment(push.resource)));
    assert.doesNotThrow(() => readRefreshConfig(deployedEnvironment(refresh.resource)));
    assert.doesNotThrow(() => readReplayConfig(deployedEnvironment(replay.resource)));
    const pushConfig = readPushConfig(deployedEnvironment(push.resource));
    assert.deepEqual(pushConfig.pushTokenHashes, [EXAMPLE_PUSH_TOKEN_HASH]);
    assert.equal(pushConfig.openTsdbUrl, 'http://10.0.12.34:4242');
    assert.equal(pushConfig.writeBudgetMs, DEFAULT_WRITE_BUDGET_MS);
    assert.ok(pushConfig.spoolTable, 'push spools');
    assert.equal(
      readRefreshConfig(deployedEnvironment(refresh.resource)).credentialsParameter,
      '/catchpoint-bridge/credentials',
    );
    // Without nodeTtlDays the refresh keeps its own default.
    assert.equal(deployedEnvironment(refresh.resource).NODE_TTL_DAYS, undefined);
  });

  it('runs push and replay in the given subnets with the stack security group, refresh outside the VPC', () => {
    for (const fn of [push, replay]) {
      assert.deepEqual(props(fn).VpcConfig, {
        SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
        SecurityGroupIds: [{ 'Fn::GetAtt': [sgId, 'GroupId'] }],
      });
    }
    assert.equal(props(refresh).VpcConfig, undefined);
  });

  it("reserves no concurrency anywhere by default: a new account's quota of 10 can deploy it", () => {
    // Any reservation fails a deploy whose account cannot keep 100 unreserved beside it.
    for (const [id, fn] of Object.entries(t.findResources('AWS::Lambda::Function'))) {
      assert.equal(fn.Properties.ReservedConcurrentExecutions, undefined, id);
    }
    // Chosen by measurement (docs/cost.md): a push mostly waits for OpenTSDB, billed by memory × time.
    assert.equal(props(push).MemorySize, 256);
    assert.equal(CONTEXT_DEFAULTS.pushMemorySize, 256);
  });

  it('leaves OPENTSDB_SYNC unset by default (the functions then write with sync)', () => {
    for (const fn of Object.values(bridgeFunctions)) {
      assert.equal(deployedEnvironment(fn.resource).OPENTSDB_SYNC, undefined);
    }
  });

  it('bounds the timeouts: push answers Catchpoint in time, replay ends before the next minute', () => {
    // The push limits are the ones the function and the local server read (lambda/push/push-limits.ts).
    assert.equal(props(push).Timeout, PUSH_TIMEOUT_SECONDS);
    assert.equal(deployedEnvironment(push.resource).WRITE_BUDGET_MS, String(DEFAULT_WRITE_BUDGET_MS));
    assert.ok(DEFAULT_WRITE_BUDGET_MS < PUSH_TIMEOUT_SECONDS * 1000);
    assert.ok((props(push).Timeout as number) <= 15);
    assert.ok((props(replay).Timeout as number) < 60);
    const refreshTimeout = props(refresh).Timeout as number;
    assert.ok(refreshTimeout >= 120 && refreshTimeout <= 300);
  });
});

describe('least privilege', () => {
  const nodes = resourceByPrefix(t, 'AWS::DynamoDB::Table', 'NodesTable').id;
  const spool = resourceByPrefix(t, 'AWS::DynamoDB::Table', 'ShardedSpoolTable').id;

  /** Every action a role is granted, logs and the VPC network interfaces aside. */
  function rightsOf(roleIdPrefix: string): string[] {
    const actions = policyStatementsOf(roleIdPrefix).flatMap((s) =>
      Array.isArray(s.Action) ? s.Action : [s.Action],
    );
    return [...new Set(actions.filter((a) => !a.startsWith('logs:') && !a.startsWith('ec2:')))].sort();
  }

  it('lets push read nodes and put into the spool, nothing more', () => {
    assert.deepEqual(actionsOn('PushApiFunctionRole', nodes), ['dynamodb:GetItem', 'dynamodb:Scan']);
    // The spool writer's conditional put (attribute_not_exists) needs no read right.
    assert.deepEqual(actionsOn('PushApiFunctionRole', spool), ['dynamodb:PutItem']);
    assert.deepEqual(rightsOf('PushApiFunctionRole'), [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Scan',
    ]);
  });

  it('lets refresh scan and batch-write nodes and get only its SSM parameter, not its history', () => {
    assert.deepEqual(actionsOn('NodeRefreshFunctionRole', nodes), [
      'dynamodb:BatchWriteItem',
      'dynamodb:Scan',
    ]);
    assert.deepEqual(actionsOn('NodeRefreshFunctionRole', spool), []);
    const ssm = policyStatementsOf('NodeRefreshFunctionRole').filter((s) =>
      JSON.stringify(s.Action).includes('ssm:'),
    );
    assert.equal(ssm.length, 1);
    assert.equal(ssm[0]!.Action, 'ssm:GetParameter');
    assert.match(JSON.stringify(ssm[0]!.Resource), /:parameter\/catchpoint-bridge\/credentials"\]\]\}$/);
    assert.deepEqual(rightsOf('NodeRefreshFunctionRole'), [
      'dynamodb:BatchWriteItem',
      'dynamodb:Scan',
      'sqs:SendMessage',
      'ssm:GetParameter',
    ]);
  });

  it('lets replay query, drain and park in the spool (no scan) and not touch the nodes', () => {
    const drain = [
      'dynamodb:BatchWriteItem',
      'dynamodb:DeleteItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ];
    assert.deepEqual(actionsOn('SpoolReplayFunctionRole', spool), drain);
    assert.deepEqual(actionsOn('SpoolReplayFunctionRole', nodes), []);
    assert.deepEqual(rightsOf('SpoolReplayFunctionRole'), drain);
  });

  it('grants the spool rights on the table itself and nothing else (it has no index)', () => {
    for (const role of ['PushApiFunctionRole', 'SpoolReplayFunctionRole']) {
      const onSpool = policyStatementsOf(role).filter((s) =>
        JSON.stringify(s.Resource).includes(`"${spool}"`),
      );
      assert.ok(onSpool.length > 0, role);
      for (const s of onSpool) {
        const resources = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
        assert.deepEqual(resources, [{ 'Fn::GetAtt': [spool, 'Arn'] }], role);
      }
    }
  });

  it('grants no wildcard actions, and * resources only for the VPC network interfaces', () => {
    for (const role of ['PushApiFunctionRole', 'NodeRefreshFunctionRole', 'SpoolReplayFunctionRole']) {
      for (const s of policyStatementsOf(role)) {
        const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
        assert.ok(!actions.some((a) => a.includes('*')), `${role}: ${actions}`);
        if (s.Resource === '*')
          assert.ok(
            actions.every((a) => a.startsWith('ec2:')),
            `${role}: ${actions}`,
          );
      }
    }
    const refreshResources = policyStatementsOf('NodeRefreshFunctionRole').map((s) => s.Resource);
    assert.ok(!refreshResources.includes('*'), 'refresh needs no network interfaces');
    assert.equal(Object.keys(t.findResources('AWS::IAM::ManagedPolicy')).length, 0);
    for (const role of Object.values(t.findResources('AWS::IAM::Role'))) {
      assert.equal(role.Properties.ManagedPolicyArns, undefined);
    }
  });
});

describe('network', () => {
  it('allows egress only to OpenTSDB and to the DynamoDB prefix list', () => {
    const sg = resourceByPrefix(t, 'AWS::EC2::SecurityGroup', 'NetworkFunctionSecurityGroup');
    assert.deepEqual(props(sg).SecurityGroupEgress, [
      { CidrIp: '10.0.12.34/32', Description: 'OpenTSDB', FromPort: 4242, IpProtocol: 'tcp', ToPort: 4242 },
    ]);
    assert.equal(props(sg).SecurityGroupIngress, undefined);
    const egress = Object.values(t.findResources('AWS::EC2::SecurityGroupEgress'));
    assert.equal(egress.length, 1);
    assert.equal(egress[0]!.Properties.FromPort, 443);
    assert.equal(egress[0]!.Properties.ToPort, 443);
    assert.deepEqual(egress[0]!.Properties.DestinationPrefixListId, {
      'Fn::GetAtt': [
        resourceByPrefix(t, 'Custom::AWS', 'NetworkDynamoDbPrefixListLookup').id,
        'PrefixLists.0.PrefixListId',
      ],
    });
  });

  it('looks the DynamoDB prefix list up at deploy time', () => {
    const lookup = resourceByPrefix(t, 'Custom::AWS', 'NetworkDynamoDbPrefixListLookup');
    assert.match(JSON.stringify(props(lookup).Create), /DescribeManagedPrefixLists/);
    assert.match(JSON.stringify(props(lookup).Create), /\.dynamodb/);
  });

  it('creates a DynamoDB gateway endpoint on the given route tables', () => {
    t.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      VpcId: 'vpc-0123456789abcdef0',
      RouteTableIds: ['rtb-0123456789abcdef0'],
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.dynamodb']] },
    });
  });
});

describe('tables', () => {
  for (const [name, keySchema, attributes] of [
    [
      'NodesTable',
      [{ AttributeName: 'nodeId', KeyType: 'HASH' }],
      [{ AttributeName: 'nodeId', AttributeType: 'N' }],
    ],
    // Drain order without a scan: shard queue-00 … queue-15 (or parked), entry <spooledAt>#<runKey>#<nonce>.
    [
      'ShardedSpoolTable',
      [
        { AttributeName: 'shard', KeyType: 'HASH' },
        { AttributeName: 'entry', KeyType: 'RANGE' },
      ],
      [
        { AttributeName: 'shard', AttributeType: 'S' },
        { AttributeName: 'entry', AttributeType: 'S' },
      ],
    ],
  ] as const) {
    it(`${name}: on demand, PITR, TTL on expiresAt, kept when the stack is deleted`, () => {
      const table = resourceByPrefix(t, 'AWS::DynamoDB::Table', name);
      assert.deepEqual(props(table).KeySchema, keySchema);
      assert.deepEqual(props(table).AttributeDefinitions, attributes);
      assert.equal(props(table).BillingMode, 'PAY_PER_REQUEST');
      assert.deepEqual(props(table).PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
      assert.deepEqual(props(table).TimeToLiveSpecification, { AttributeName: 'expiresAt', Enabled: true });
      assert.equal(table.resource.DeletionPolicy, 'Retain');
      assert.equal(table.resource.UpdateReplacePolicy, 'Retain');
    });
  }
  it('has exactly the two tables', () => t.resourceCountIs('AWS::DynamoDB::Table', 2));
});

describe('push API', () => {
  it('has one route, POST /push, proxied to the push function with payload 2.0', () => {
    t.resourceCountIs('AWS::ApiGatewayV2::Route', 1);
    t.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /push' });
    t.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [push.id, 'Arn'] },
    });
  });

  it('throttles the stage at the defaults, which carry 167 pushes/s in minute bursts (issue 9: ≥ 500/s, ≥ 2,000)', () => {
    const stage = resourceByPrefix(t, 'AWS::ApiGatewayV2::Stage', 'PushApiDefaultStage');
    assert.equal(props(stage).StageName, '$default');
    assert.deepEqual(props(stage).DefaultRouteSettings, {
      ThrottlingBurstLimit: CONTEXT_DEFAULTS.pushBurstLimit,
      ThrottlingRateLimit: CONTEXT_DEFAULTS.pushRateLimit,
    });
    assert.ok(CONTEXT_DEFAULTS.pushRateLimit >= 500);
    assert.ok(CONTEXT_DEFAULTS.pushBurstLimit >= 2000);
  });

  it('keeps access logs that cannot hold the token', () => {
    const stage = resourceByPrefix(t, 'AWS::ApiGatewayV2::Stage', 'PushApiDefaultStage');
    const logs = props(stage).AccessLogSettings as { DestinationArn: unknown; Format: string };
    assert.deepEqual(logs.DestinationArn, {
      'Fn::GetAtt': [resourceByPrefix(t, 'AWS::Logs::LogGroup', 'PushApiAccessLogs').id, 'Arn'],
    });
    const format = JSON.parse(logs.Format) as Record<string, string>;
    assert.equal(format.requestId, '$context.requestId');
    assert.equal(format.status, '$context.status');
    assert.doesNotMatch(logs.Format, /query|token|\$request\./i);
  });
});

describe('schedules', () => {
  it('refreshes on the default schedule with bounded retries and a dead-letter queue', () => {
    const queue = resourceByPrefix(t, 'AWS::SQS::Queue', 'NodeRefreshDeadLetterQueue').id;
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [refresh.id, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queue, 'Arn'] } },
        },
      ],
    });
    assert.deepEqual(props(refresh).DeadLetterConfig, { TargetArn: { 'Fn::GetAtt': [queue, 'Arn'] } });
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: refresh.id },
      MaximumRetryAttempts: 2,
    });
  });

  it('replays every minute without retries (the next run is the retry)', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [replay.id, 'Arn'] },
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }),
        }),
      ],
    });
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: replay.id },
      MaximumRetryAttempts: 0,
    });
  });
});

describe('operations', () => {
  const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties as Json);
  const topic = resourceByPrefix(t, 'AWS::SNS::Topic', 'AlarmTopic').id;

  /** The alarm on a function's metric: refresh and replay publish with `service`, push with no dimension. */
  function customAlarm(metricName: string, service: string): Json {
    const dimensions = service === 'push' ? undefined : [{ Name: 'service', Value: service }];
    const found = alarms.filter(
      (a) =>
        a.Namespace === METRICS_NAMESPACE &&
        a.MetricName === metricName &&
        JSON.stringify(a.Dimensions) === JSON.stringify(dimensions),
    );
    assert.equal(found.length, 1, `one alarm on ${metricName} (${service})`);
    return found[0]!;
  }

  it('alarms on the bridge metrics, named through lambda/shared/observability.ts', () => {
    customAlarm(MetricName.OpenTsdbErrors, 'push');
    customAlarm(MetricName.RefreshFailures, 'refresh');
    const spool = customAlarm(MetricName.SpoolOldestAgeSeconds, 'replay');
    assert.equal(spool.Threshold, ALARM_THRESHOLDS.spoolOldestAgeSeconds);
    assert.equal(spool.Statistic, 'Maximum');
    assert.equal(spool.ComparisonOperator, 'GreaterThanThreshold');
  });

  it('alarms on the push 5xx rate', () => {
    const rate = alarms.filter((a) => JSON.stringify(a.Metrics ?? '').includes('100 * errors / requests'));
    assert.equal(rate.length, 1);
    const metrics = JSON.stringify(rate[0]!.Metrics);
    assert.match(metrics, /"MetricName":"5xx"/);
    assert.match(metrics, /"MetricName":"Count"/);
    assert.equal(rate[0]!.Threshold, ALARM_THRESHOLDS.push5xxPercent);
    // "More than 5 %", as its description says.
    assert.equal(rate[0]!.ComparisonOperator, 'GreaterThanThreshold');
    assert.match(
      String(rate[0]!.AlarmDescription),
      new RegExp(`^More than ${ALARM_THRESHOLDS.push5xxPercent}%`),
    );
  });

  function lambdaAlarms(metric: string, fn: { id: string }): Json[] {
    return alarms.filter(
      (a) =>
        a.Namespace === 'AWS/Lambda' &&
        a.MetricName === metric &&
        JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: { Ref: fn.id } }]),
    );
  }

  it('alarms on errors of every function, throttles of push and refresh, and dead-lettered refreshes', () => {
    for (const fn of Object.values(bridgeFunctions)) {
      assert.equal(lambdaAlarms('Errors', fn).length, 1, `Errors of ${fn.id}`);
    }
    for (const fn of [push, refresh]) {
      const [throttles, ...more] = lambdaAlarms('Throttles', fn);
      assert.equal(more.length, 0);
      assert.equal(throttles?.Statistic, 'Sum');
      assert.equal(throttles?.Threshold, 1);
      assert.equal(throttles?.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
    }
    // A throttled replay schedule is retried within its minute; a replay that cannot run shows as SpoolOldestAge.
    assert.equal(lambdaAlarms('Throttles', replay).length, 0);
  });

  it('alarms on each new dead letter of the refresh, not on what the queue still holds', () => {
    const queue = resourceByPrefix(t, 'AWS::SQS::Queue', 'NodeRefreshDeadLetterQueue').id;
    const onQueue = alarms.filter((a) => JSON.stringify(a.Dimensions ?? '').includes(`"${queue}"`));
    assert.equal(onQueue.length, 1);
    const alarm = onQueue[0]!;
    // Messages stay 14 days: an alarm on the messages visible stays in ALARM and hides a second failure.
    assert.equal(alarm.Namespace, 'AWS/SQS');
    assert.equal(alarm.MetricName, 'NumberOfMessagesSent');
    assert.equal(alarm.Statistic, 'Sum');
    assert.equal(alarm.Period, 300);
    assert.equal(alarm.Threshold, 1);
    assert.equal(alarm.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
    assert.equal(alarm.TreatMissingData, 'notBreaching');
    // Nor on the gap repair's queue, when the backfill schedule is on.
    for (const template of [t, custom]) {
      const all = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
      assert.equal(
        all.filter((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible').length,
        0,
      );
    }
  });

  it('alarms on datapoints OpenTSDB refused for good, from push and from replay (> 0 in 5 minutes)', () => {
    for (const service of ['push', 'replay']) {
      const alarm = customAlarm(MetricName.DatapointsRejected, service);
      assert.equal(alarm.Statistic, 'Sum');
      assert.equal(alarm.Period, 300);
      assert.equal(alarm.Threshold, 0);
      assert.equal(alarm.ComparisonOperator, 'GreaterThanThreshold');
      assert.equal(alarm.EvaluationPeriods, 1);
    }
  });

  it('alarms while runs wait parked (the ParkedRuns gauge of replay above 0)', () => {
    const alarm = customAlarm(MetricName.ParkedRuns, 'replay');
    assert.equal(alarm.Statistic, 'Maximum');
    assert.equal(alarm.Threshold, 0);
    assert.equal(alarm.ComparisonOperator, 'GreaterThanThreshold');
    // The whole command, with the table's name: `npm run spool -- list` alone exits 2.
    const spoolTable = resourceByPrefix(t, 'AWS::DynamoDB::Table', 'ShardedSpoolTable').id;
    const description = JSON.stringify(alarm.AlarmDescription);
    assert.ok(description.includes(`npm run spool -- list --table ",{"Ref":"${spoolTable}"}`), description);
  });

  it('counts pushes from unknown nodes with a metric filter on the push log (the line says unknownNode 1)', () => {
    const pushLogs = resourceByPrefix(t, 'AWS::Logs::LogGroup', 'PushApiFunctionLogGroup').id;
    const filters = Object.values(t.findResources('AWS::Logs::MetricFilter'))
      .map((f) => f.Properties as Json)
      .filter((f) => JSON.stringify(f.LogGroupName) === JSON.stringify({ Ref: pushLogs }));
    assert.equal(filters.length, 1);
    assert.equal(filters[0]!.FilterPattern, '{ $.unknownNode = 1 }');
    assert.deepEqual(filters[0]!.MetricTransformations, [
      { MetricNamespace: METRICS_NAMESPACE, MetricName: MetricName.UnknownNodes, MetricValue: '1' },
    ]);
  });

  describe('throttled pushes', () => {
    const accessLogs = resourceByPrefix(t, 'AWS::Logs::LogGroup', 'PushApiAccessLogs').id;
    const stage = resourceByPrefix(t, 'AWS::ApiGatewayV2::Stage', 'PushApiDefaultStage');
    const filters = Object.values(t.findResources('AWS::Logs::MetricFilter')).map(
      (f) => f.Properties as Json,
    );

    it('counts them with a metric filter on the access log the stage writes', () => {
      const onAccessLog = filters.filter(
        (f) => JSON.stringify(f.LogGroupName) === JSON.stringify({ Ref: accessLogs }),
      );
      assert.equal(onAccessLog.length, 1);
      const filter = onAccessLog[0]!;
      assert.deepEqual(filter.LogGroupName, { Ref: accessLogs });
      assert.deepEqual((props(stage).AccessLogSettings as Json).DestinationArn, {
        'Fn::GetAtt': [accessLogs, 'Arn'],
      });
      // A stage throttle answers 429; a push Lambda throttled is answered 500 with integrationStatus 429.
      assert.equal(filter.FilterPattern, '{ ($.status = "429") || ($.integrationStatus = "429") }');
      assert.deepEqual(filter.MetricTransformations, [
        {
          MetricNamespace: METRICS_NAMESPACE,
          MetricName: MetricName.PushesThrottled,
          MetricValue: '1',
          Unit: 'Count',
        },
      ]);
    });

    it('filters on fields the access log really has, written as strings as the pattern compares them', () => {
      const format = (props(stage).AccessLogSettings as { Format: string }).Format;
      const fields = JSON.parse(format) as Record<string, string>;
      assert.equal(fields.status, '$context.status');
      assert.equal(fields.integrationStatus, '$context.integrationStatus');
      // Quoted in the format, so each line carries "status":"429", which = "429" matches.
      assert.match(format, /"status":"\$context\.status"/);
      assert.match(format, /"integrationStatus":"\$context\.integrationStatus"/);
    });

    it('alarms on the metric that filter publishes (no dimension: the filter gives it none)', () => {
      const found = alarms.filter((a) => a.MetricName === MetricName.PushesThrottled);
      assert.equal(found.length, 1);
      const alarm = found[0]!;
      assert.equal(alarm.Namespace, METRICS_NAMESPACE);
      assert.equal(alarm.Dimensions, undefined);
      assert.equal(alarm.Statistic, 'Sum');
      assert.equal(alarm.Period, 300);
      assert.equal(alarm.Threshold, 1);
      assert.equal(alarm.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
      assert.equal(alarm.TreatMissingData, 'notBreaching');
    });
  });

  it('has a runbook entry in docs/operations.md for each alarm, by name, and none for an alarm it lacks', () => {
    const page = readFileSync(new URL('docs/operations.md', PROJECT_ROOT), 'utf8');
    const section = page.slice(
      page.indexOf('\n## Alarms\n'),
      page.indexOf('\n## ', page.indexOf('\n## Alarms\n') + 1),
    );
    const entries = [...section.matchAll(/^### `([A-Za-z0-9]+)`$/gm)].map((m) => m[1]!);
    const alarmNames = (template: typeof t) =>
      Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => {
        const name = String(a.Properties.AlarmName);
        assert.match(name, /^CatchpointBridge-[A-Za-z0-9]+$/);
        return name.slice('CatchpointBridge-'.length);
      });
    // The example's alarms, and those every optional key adds (the scheduled gap repair's four).
    const names = [...new Set([...alarmNames(t), ...alarmNames(custom)])].sort();
    assert.ok(
      names.includes('BackfillDeadLetters'),
      'the template with the backfill schedule has its alarms',
    );
    assert.deepEqual([...entries].sort(), names);
    // Each entry says what fired, what to look at and what to do.
    for (const name of names) {
      const start = section.indexOf(`### \`${name}\``);
      const next = section.indexOf('\n### ', start + 1);
      const entry = section.slice(start, next === -1 ? undefined : next);
      for (const part of ['**Fired:**', '**Look at:**', '**Do:**'])
        assert.ok(entry.includes(part), `${name}: ${part}`);
    }
    // And the table above them lists the same alarms.
    const table = [...section.matchAll(/^\| `([A-Za-z0-9]+)` +\|/gm)].map((m) => m[1]!);
    assert.deepEqual([...table].sort(), names);
  });

  it('sends every alarm and its recovery to the alarm topic', () => {
    assert.equal(alarms.length, 14);
    for (const a of alarms) {
      assert.deepEqual(a.AlarmActions, [{ Ref: topic }], String(a.AlarmName));
      assert.deepEqual(a.OKActions, [{ Ref: topic }], String(a.AlarmName));
      assert.ok(JSON.stringify(a.AlarmDescription ?? '').length > 30, `${a.AlarmName} says what it means`);
    }
    t.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  /** The dashboard's JSON, its references (function names, region) replaced by placeholders. */
  function dashboardBody(): { widgets: { type: string; properties: Json }[] } {
    const dashboard = resourceByPrefix(t, 'AWS::CloudWatch::Dashboard', 'MonitoringDashboard');
    const join = props(dashboard).DashboardBody as { 'Fn::Join': [string, unknown[]] };
    const text = join['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'REF')).join('');
    return JSON.parse(text);
  }

  it('has a dashboard for pushes, datapoints, latency, unknown nodes, throttling and replay', () => {
    const body = dashboardBody();
    const text = JSON.stringify(body);
    for (const needle of [
      'Pushes (push)',
      MetricName.DatapointsWritten,
      MetricName.UnknownNodes,
      MetricName.SpoolDepth,
      MetricName.RunsReplayed,
      MetricName.RunsParked,
      MetricName.ParkedRuns,
      MetricName.PushesThrottled,
      'Latency',
      'unknownNode = 1',
    ]) {
      assert.ok(text.includes(needle), needle);
    }
    const titled = (title: string) => {
      const widget = body.widgets.find((w) => w.properties.title === title);
      assert.ok(widget, title);
      return widget.properties;
    };
    // The push concurrency graph; no reservation line, as nothing is reserved by default.
    const concurrency = titled('Push concurrency');
    assert.match(JSON.stringify(concurrency.metrics), /"AWS\/Lambda","ConcurrentExecutions","FunctionName"/);
    assert.equal(concurrency.annotations, undefined);
    const throttled = body.widgets.find((w) => String(w.properties.title).startsWith('Throttled requests'));
    assert.match(String(throttled?.properties.query), /filter status = "429" or integrationStatus = "429"/);
  });

  it('outputs the push URL without a token, and the log group names', () => {
    const outputs = t.findOutputs('*');
    const url = JSON.stringify(outputs.PushUrl?.Value);
    assert.match(url, /execute-api/);
    assert.match(url, /\/push"\]\]\}$/);
    assert.doesNotMatch(url, /token/);
    for (const [output, prefix] of [
      ['PushLogGroupName', 'PushApiFunctionLogGroup'],
      ['RefreshLogGroupName', 'NodeRefreshFunctionLogGroup'],
      ['ReplayLogGroupName', 'SpoolReplayFunctionLogGroup'],
      ['ApiAccessLogGroupName', 'PushApiAccessLogs'],
    ] as const) {
      assert.deepEqual(outputs[output]?.Value, {
        Ref: resourceByPrefix(t, 'AWS::Logs::LogGroup', prefix).id,
      });
    }
  });

  it("warns when README's example token and network are about to be deployed", () => {
    const annotations = Annotations.fromStack(example.stack);
    annotations.hasWarning('/CatchpointBridge', Match.stringLikeRegexp('example token'));
    annotations.hasWarning('/CatchpointBridge', Match.stringLikeRegexp("vpcId is README's example value"));
  });

  it('has no capacity warning with the default limits: they fit each other and the default account', () => {
    const annotations = Annotations.fromStack(example.stack);
    annotations.hasNoWarning(
      '/CatchpointBridge',
      Match.stringLikeRegexp('pushReservedConcurrency|pushRateLimit'),
    );
  });

  it('never puts a push token into the template', () => {
    assert.doesNotMatch(JSON.stringify(t.toJSON()), /example-token"/);
  });
});

describe('with every optional context value set', () => {
  const customPush = resourceByPrefix(custom, 'AWS::Lambda::Function', 'PushApiFunction');
  const customRefresh = resourceByPrefix(custom, 'AWS::Lambda::Function', 'NodeRefreshFunction');
  const customReplay = resourceByPrefix(custom, 'AWS::Lambda::Function', 'SpoolReplayFunction');
  const customSg = resourceByPrefix(custom, 'AWS::EC2::SecurityGroup', 'NetworkFunctionSecurityGroup').id;

  it('gives push the system log level and the memory asked for', () => {
    assert.equal((props(customPush).LoggingConfig as Json).SystemLogLevel, 'INFO');
    assert.equal(props(customPush).MemorySize, 192);
  });

  it('passes the options to the functions', () => {
    const env = deployedEnvironment(customPush.resource);
    assert.equal(env.PUSH_TOKEN_HASHES, `${'a'.repeat(64)},${'b'.repeat(64)}`);
    assert.equal(env.OPENTSDB_URL, 'https://opentsdb.example.internal');
    assert.equal(env.METRIC_SETS, 'core,bytes');
    assert.equal(env.METRIC_NAMING, 'per-test');
    const config = readPushConfig(env);
    assert.deepEqual([...config.metrics.sets].sort(), ['bytes', 'core']);
    const refreshConfig = readRefreshConfig(deployedEnvironment(customRefresh.resource));
    assert.equal(refreshConfig.catchpointApiUrl, 'https://io.catchpoint.example');
    assert.equal(refreshConfig.nodeTtlDays, 3);
    custom.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(15 * * * ? *)' });
  });

  it('uses the given prefix list and creates neither endpoint nor lookup', () => {
    custom.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    custom.resourceCountIs('Custom::AWS', 0);
    custom.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [customSg, 'GroupId'] },
      DestinationPrefixListId: 'pl-02cd2c6b',
      FromPort: 443,
      ToPort: 443,
    });
  });

  it("opens OpenTSDB's security group to the functions on its port, and only that", () => {
    custom.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [customSg, 'GroupId'] },
      DestinationSecurityGroupId: 'sg-0bbbbbbbbbbbbbbbb',
      FromPort: 443,
      ToPort: 443,
      IpProtocol: 'tcp',
    });
    custom.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: 'sg-0bbbbbbbbbbbbbbbb',
      SourceSecurityGroupId: { 'Fn::GetAtt': [customSg, 'GroupId'] },
      FromPort: 443,
      ToPort: 443,
    });
    custom.resourceCountIs('AWS::EC2::SecurityGroupEgress', 2);
    custom.resourceCountIs('AWS::EC2::SecurityGroupIngress', 1);
    const sg = resourceByPrefix(custom, 'AWS::EC2::SecurityGroup', 'NetworkFunctionSecurityGroup');
    assert.equal(props(sg).SecurityGroupEgress, undefined);
  });

  it('lets refresh decrypt the credentials with their customer managed (multi-region) key, and only that', () => {
    const refreshRole = resourceByPrefix(custom, 'AWS::IAM::Role', 'NodeRefreshFunctionRole').id;
    const statements = Object.values(custom.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(refreshRole))
      .flatMap(
        (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
      );
    const kms = statements.filter((s) => JSON.stringify(s.Action).includes('kms:'));
    assert.equal(kms.length, 1);
    assert.deepEqual(kms[0]!.Action, 'kms:Decrypt');
    assert.equal(kms[0]!.Resource, MULTI_REGION_KEY_ARN);
  });

  it('subscribes the alarm e-mail, sets the log retention and the throttle', () => {
    custom.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    // The subscription's logical id is the topic's and the address's: kept, so the address stays subscribed.
    assert.deepEqual(Object.keys(custom.findResources('AWS::SNS::Subscription')), [
      'AlarmTopicopsexamplecom7B0F70A1',
    ]);
    for (const group of Object.values(custom.findResources('AWS::Logs::LogGroup'))) {
      assert.equal(group.Properties.RetentionInDays, 90);
    }
    custom.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingBurstLimit: 40, ThrottlingRateLimit: 20 },
    });
  });

  it("sets the push function's reserved concurrency (and only its), warning of the quota it needs", () => {
    assert.equal(props(customPush).ReservedConcurrentExecutions, 10);
    assert.equal(props(customReplay).ReservedConcurrentExecutions, undefined);
    assert.equal(props(customRefresh).ReservedConcurrentExecutions, undefined);
    const annotations = Annotations.fromStack(customSynth.stack);
    // 10 + the 100 Lambda keeps unreserved: a new account's quota of 10 fails the deploy.
    annotations.hasWarning(
      '/CatchpointBridge',
      Match.stringLikeRegexp(
        "pushReservedConcurrency \\(10\\): the deploy fails unless the account's Lambda " +
          'concurrency quota is at least 110',
      ),
    );
    annotations.hasWarning(
      '/CatchpointBridge',
      Match.stringLikeRegexp('pushReservedConcurrency \\(10\\) is below pushRateLimit'),
    );
  });

  it('draws the reservation on the push concurrency graph', () => {
    const dashboard = resourceByPrefix(custom, 'AWS::CloudWatch::Dashboard', 'MonitoringDashboard');
    const join = props(dashboard).DashboardBody as { 'Fn::Join': [string, unknown[]] };
    const text = join['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'REF')).join('');
    const body = JSON.parse(text) as { widgets: { properties: Json }[] };
    const concurrency = body.widgets.find((w) => w.properties.title === 'Push concurrency');
    assert.ok(concurrency, 'Push concurrency');
    assert.deepEqual((concurrency.properties.annotations as Json).horizontal, [
      { value: 10, label: 'reserved concurrency: throttled above', yAxis: 'left' },
    ]);
  });

  it('turns sync off on push and replay (OPENTSDB_SYNC=false), and only there', () => {
    assert.equal(deployedEnvironment(customPush.resource).OPENTSDB_SYNC, 'false');
    assert.equal(deployedEnvironment(customReplay.resource).OPENTSDB_SYNC, 'false');
    assert.equal(deployedEnvironment(customRefresh.resource).OPENTSDB_SYNC, undefined);
  });
});

describe('logical ids', () => {
  // A resource whose logical id changes is replaced: created anew, then the old one deleted.
  const kept: Record<string, { ids: string[]; why: string }> = {
    // The spool's key schema changed in issue 9 (runKey → shard + entry), which needs a new table: a new
    // logical id (the earlier SpoolTableA8CDED2F is removed from the stack and kept, DeletionPolicy Retain)
    // makes that replacement explicit. Drain the old spool first: docs/deployment.md, upgrading.
    'AWS::DynamoDB::Table': {
      ids: ['NodesTable91BDF1A8', 'ShardedSpoolTable4CA94935'],
      why: 'they hold the data',
    },
    'AWS::EC2::VPCEndpoint': {
      ids: ['DynamoDbEndpoint'],
      why: 'a second DynamoDB endpoint on the same route tables is refused, failing the update',
    },
    'AWS::ApiGatewayV2::Api': { ids: ['PushApi4D1EAD43'], why: 'Catchpoint is configured with its URL' },
    // With the API kept, a new $default stage or POST /push route would collide with the existing ones.
    'AWS::ApiGatewayV2::Stage': { ids: ['PushApiDefaultStage8F54F274'], why: 'it is part of the URL' },
    'AWS::ApiGatewayV2::Route': { ids: ['PushApiPOSTpush095703F9'], why: 'a route key is unique per API' },
    'AWS::SNS::Topic': { ids: ['AlarmTopicD01E77F9'], why: 'it is subscribed to by ARN from outside' },
  };

  for (const [type, { ids, why }] of Object.entries(kept)) {
    it(`keeps those of ${type} (${why})`, () => {
      assert.deepEqual(Object.keys(t.findResources(type)).sort(), ids);
    });
  }
});

describe('cdk.json', () => {
  it('holds no network values, no token nor token hash: every deploy names its own', () => {
    const context = cdkJsonContext();
    const networkKeys = [
      'vpcId',
      'subnetIds',
      'routeTableIds',
      'openTsdbUrl',
      'catchpointCredentialsParameter',
    ];
    for (const key of [...networkKeys, 'pushTokenHashes']) {
      assert.equal(context[key], undefined, `${key} in cdk.json`);
    }
    assert.doesNotMatch(JSON.stringify(context), new RegExp(EXAMPLE_PUSH_TOKEN_HASH));
    assert.doesNotMatch(JSON.stringify(context), /example-token|vpc-|subnet-|rtb-/);
  });
});
