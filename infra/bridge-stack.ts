// The whole bridge in one stack, as README's diagram draws it: the network the functions run in, the push API
// (HTTP API → push function in the VPC), the node refresh (scheduled, outside the VPC), the spool replay
// (scheduled, in the VPC) and their monitoring. The stack itself creates only what must outlive any
// reorganisation of those constructs, the two tables and the alarm topic, and connects the constructs.
import { Annotations, CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { BackfillSchedule } from './backfill-schedule.js';
import type { BridgeContext } from './bridge-context.js';
import { EXAMPLE_PUSH_TOKEN_HASH, EXAMPLE_VPC_ID } from './bridge-context.js';
import { BridgeMonitoring } from './bridge-monitoring.js';
import { BridgeNetwork } from './bridge-network.js';
import { NodeRefresh } from './node-refresh.js';
import { PushApi } from './push-api.js';
import { pushCapacityWarnings } from './push-capacity.js';
import { SpoolReplay } from './spool-replay.js';

export interface BridgeStackProps extends StackProps {
  context: BridgeContext;
}

export class BridgeStack extends Stack {
  readonly nodesTable: dynamodb.Table;
  readonly spoolTable: dynamodb.Table;
  readonly alarmTopic: sns.Topic;
  readonly network: BridgeNetwork;
  readonly pushApi: PushApi;
  readonly nodeRefresh: NodeRefresh;
  readonly spoolReplay: SpoolReplay;
  readonly monitoring: BridgeMonitoring;
  /** The opt-in scheduled gap repair; undefined unless `-c backfillSchedule=…` is given. */
  readonly backfillSchedule: BackfillSchedule | undefined;

  constructor(scope: Construct, id: string, props: BridgeStackProps) {
    super(scope, id, props);
    const ctx = props.context;
    const logRetention = ctx.logRetentionDays as logs.RetentionDays;
    this.warnAboutExampleValues(ctx);
    for (const { id: warningId, message } of pushCapacityWarnings(ctx)) {
      Annotations.of(this).addWarningV2(warningId, message);
    }

    // The tables hold state and are kept when the stack is deleted. They stay children of the stack itself:
    // their logical ids must never change by accident, or CloudFormation would create new, empty tables and
    // orphan the old ones.
    this.nodesTable = new dynamodb.Table(this, 'NodesTable', {
      partitionKey: { name: 'nodeId', type: dynamodb.AttributeType.NUMBER },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // The spool, keyed for draining oldest first without a scan: `shard` = queue-00 … queue-15 (or `parked`),
    // `entry` = <spooledAt ms>#<runKey>#<nonce>, so one Query per shard reads in time order and no partition
    // takes more than its write limit. A new key schema means a new table: this one has a new logical id
    // (the earlier one was SpoolTable, keyed by runKey), so an update visibly adds it and removes the old
    // one from the stack, which keeps that table (Retain). Drain the old spool first: docs/deployment.md.
    this.spoolTable = new dynamodb.Table(this, 'ShardedSpoolTable', {
      partitionKey: { name: 'shard', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'entry', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Entries the replay could not deliver expire after 14 days (set by the writer).
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Subscribed to by ARN from outside the stack (the AlarmTopicArn output): also a child of the stack, so
    // that it is never replaced, which would silently drop those subscriptions.
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Catchpoint bridge alarms',
      enforceSSL: true,
    });
    if (ctx.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(ctx.alarmEmail));
    }

    this.network = new BridgeNetwork(this, 'Network', {
      vpcId: ctx.vpcId,
      subnetIds: ctx.subnetIds,
      createDynamoDbEndpoint: ctx.createDynamoDbEndpoint,
      routeTableIds: ctx.routeTableIds,
      dynamoDbPrefixListId: ctx.dynamoDbPrefixListId,
      openTsdbUrl: ctx.openTsdbUrl,
      openTsdbPort: ctx.openTsdbPort,
      openTsdbSecurityGroupId: ctx.openTsdbSecurityGroupId,
      logRetention,
    });

    this.pushApi = new PushApi(this, 'PushApi', {
      network: this.network.functionNetwork,
      nodesTable: this.nodesTable,
      spoolTable: this.spoolTable,
      openTsdbUrl: ctx.openTsdbUrl,
      pushTokenHashes: ctx.pushTokenHashes,
      metricSets: ctx.metricSets,
      metricNaming: ctx.metricNaming,
      openTsdbSync: ctx.openTsdbSync,
      rateLimit: ctx.pushRateLimit,
      burstLimit: ctx.pushBurstLimit,
      reservedConcurrency: ctx.pushReservedConcurrency,
      systemLogLevel: ctx.pushSystemLogLevel,
      memorySize: ctx.pushMemorySize,
      logRetention,
    });

    this.nodeRefresh = new NodeRefresh(this, 'NodeRefresh', {
      nodesTable: this.nodesTable,
      credentialsParameter: ctx.catchpointCredentialsParameter,
      credentialsKmsKeyArn: ctx.catchpointCredentialsKmsKeyArn,
      catchpointApiUrl: ctx.catchpointApiUrl,
      nodeTtlDays: ctx.nodeTtlDays,
      schedule: ctx.refreshSchedule,
      logRetention,
    });

    this.spoolReplay = new SpoolReplay(this, 'SpoolReplay', {
      network: this.network.functionNetwork,
      spoolTable: this.spoolTable,
      openTsdbUrl: ctx.openTsdbUrl,
      openTsdbSync: ctx.openTsdbSync,
      logRetention,
    });

    this.monitoring = new BridgeMonitoring(this, 'Monitoring', {
      stage: this.pushApi.stage,
      accessLogs: this.pushApi.accessLogs,
      pushReservedConcurrency: ctx.pushReservedConcurrency,
      spoolTableName: this.spoolTable.tableName,
      push: this.pushApi.push,
      refresh: this.nodeRefresh.refresh,
      replay: this.spoolReplay.replay,
      refreshDeadLetterQueue: this.nodeRefresh.deadLetterQueue,
      alarmTopic: this.alarmTopic,
    });

    this.backfillSchedule = ctx.backfill
      ? new BackfillSchedule(this, 'BackfillSchedule', {
          ...ctx.backfill,
          nodesTable: this.nodesTable,
          spoolTable: this.spoolTable,
          credentialsParameter: ctx.catchpointCredentialsParameter,
          credentialsKmsKeyArn: ctx.catchpointCredentialsKmsKeyArn,
          catchpointApiUrl: ctx.catchpointApiUrl,
          metricSets: ctx.metricSets,
          metricNaming: ctx.metricNaming,
          alarmTopic: this.alarmTopic,
          logRetention,
        })
      : undefined;

    this.addOutputs();
  }

  /** What an operator needs after a deploy. Their ids are part of the stack's interface: docs quote them. */
  private addOutputs(): void {
    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output(
      'PushUrl',
      this.pushApi.pushUrl,
      'Catchpoint Test Data Webhook URL: append ?token=<your push token> (never stored here)',
    );
    output('PushLogGroupName', this.pushApi.push.logGroup.logGroupName, 'Logs of the push function');
    output('RefreshLogGroupName', this.nodeRefresh.refresh.logGroup.logGroupName, 'Logs of the node refresh');
    output('ReplayLogGroupName', this.spoolReplay.replay.logGroup.logGroupName, 'Logs of the spool replay');
    output(
      'ApiAccessLogGroupName',
      this.pushApi.accessLogs.logGroupName,
      'HTTP API access logs (no query strings)',
    );
    output('NodesTableName', this.nodesTable.tableName, 'Catchpoint nodes table (kept on stack deletion)');
    output('SpoolTableName', this.spoolTable.tableName, 'Spool table (kept on stack deletion)');
    output(
      'RefreshFunctionName',
      this.nodeRefresh.refresh.function.functionName,
      'Invoke it to refresh the nodes now',
    );
    output(
      'RefreshDeadLetterQueueUrl',
      this.nodeRefresh.deadLetterQueue.queueUrl,
      'Refreshes that failed for good',
    );
    if (this.backfillSchedule) {
      output(
        'BackfillLogGroupName',
        this.backfillSchedule.backfill.logGroup.logGroupName,
        'Logs of the scheduled gap repair',
      );
      output(
        'BackfillFunctionName',
        this.backfillSchedule.backfill.function.functionName,
        'Invoke it to repair the last window now',
      );
      output(
        'BackfillDeadLetterQueueUrl',
        this.backfillSchedule.deadLetterQueue.queueUrl,
        'Gap repairs that failed for good',
      );
    }
    output('AlarmTopicArn', this.alarmTopic.topicArn, 'Subscribe here to receive the alarms');
    output('DashboardName', this.monitoring.dashboard.dashboardName, 'CloudWatch dashboard of the bridge');
  }

  private warnAboutExampleValues(ctx: BridgeContext): void {
    if (ctx.pushTokenHashes.includes(EXAMPLE_PUSH_TOKEN_HASH)) {
      Annotations.of(this).addWarningV2(
        'catchpoint-bridge:examplePushToken',
        'pushTokenHashes holds the digest of the example token "example-token", which anyone can read in ' +
          'README: pass the digest of your own token with -c pushTokenHashes=… before deploying.',
      );
    }
    if (ctx.vpcId === EXAMPLE_VPC_ID) {
      Annotations.of(this).addWarningV2(
        'catchpoint-bridge:exampleNetwork',
        `vpcId is README's example value (${EXAMPLE_VPC_ID}), not a VPC of yours: pass your VPC, subnets, ` +
          'route tables and OpenTSDB URL with -c before deploying.',
      );
    }
  }
}
