// The whole bridge in one stack: the push endpoint (HTTP API → push function in the VPC), the node refresh
// (scheduled, outside the VPC), the spool and its replay (scheduled, in the VPC), and their operations.
import {
  Annotations,
  Aws,
  CfnOutput,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { DEFAULT_WRITE_BUDGET_MS, PUSH_TIMEOUT_SECONDS } from '../lambda/push/push-limits.js';
import type { BridgeContext } from './bridge-context.js';
import { EXAMPLE_PUSH_TOKEN_HASH, EXAMPLE_VPC_ID } from './bridge-context.js';
import { BridgeFunction } from './bridge-function.js';
import { BridgeMonitoring } from './bridge-monitoring.js';

export interface BridgeStackProps extends StackProps {
  context: BridgeContext;
}

/**
 * Push answers within Catchpoint's 20 s and API Gateway's 30 s; the write itself gets WRITE_BUDGET_MS. Both
 * come from lambda/push/push-limits.ts, which the function and the local server also read.
 */
export const PUSH_TIMEOUT = Duration.seconds(PUSH_TIMEOUT_SECONDS);
/** Shorter than the one-minute schedule, so that two replays rarely overlap. */
export const REPLAY_TIMEOUT = Duration.seconds(50);
export const REFRESH_TIMEOUT = Duration.minutes(3);

export class BridgeStack extends Stack {
  readonly push: BridgeFunction;
  readonly refresh: BridgeFunction;
  readonly replay: BridgeFunction;
  readonly nodesTable: dynamodb.Table;
  readonly spoolTable: dynamodb.Table;
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly functionSecurityGroup: ec2.SecurityGroup;
  readonly refreshDeadLetterQueue: sqs.Queue;
  readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: BridgeStackProps) {
    super(scope, id, props);
    const ctx = props.context;
    const logRetention = ctx.logRetentionDays as logs.RetentionDays;
    this.warnAboutExampleValues(ctx);

    // ---- Network: the existing VPC and subnets, a security group that only reaches OpenTSDB and DynamoDB.
    // Only the VPC id is used: the subnets are named explicitly, so no lookup (and no AWS call) at synth time.
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: ctx.vpcId, availabilityZones: Fn.getAzs() });
    Validations.of(vpc).acknowledge({
      id: 'Annotation::@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
      reason: 'Nothing selects subnets of this VPC by availability zone: the subnets are given by id.',
    });
    const subnets = ctx.subnetIds.map((subnetId) => {
      const subnet = ec2.Subnet.fromSubnetId(this, `Subnet-${subnetId}`, subnetId);
      Validations.of(subnet).acknowledge({
        id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
        reason: "The stack never reads a subnet's route table: the DynamoDB endpoint takes routeTableIds.",
      });
      return subnet;
    });

    if (ctx.createDynamoDbEndpoint) {
      // A gateway endpoint: DynamoDB from the private subnets without a NAT gateway, at no charge.
      new ec2.CfnVPCEndpoint(this, 'DynamoDbEndpoint', {
        vpcId: ctx.vpcId,
        serviceName: `com.amazonaws.${Aws.REGION}.dynamodb`,
        vpcEndpointType: 'Gateway',
        routeTableIds: ctx.routeTableIds,
      });
    }

    this.functionSecurityGroup = new ec2.SecurityGroup(this, 'FunctionSecurityGroup', {
      vpc,
      description: 'Catchpoint bridge push and replay functions: egress to OpenTSDB and DynamoDB only',
      allowAllOutbound: false,
    });
    const sg = this.functionSecurityGroup;
    sg.addEgressRule(
      ec2.Peer.prefixList(ctx.dynamoDbPrefixListId ?? this.lookUpDynamoDbPrefixList(logRetention)),
      ec2.Port.tcp(443),
      'DynamoDB (its managed prefix list)',
    );
    const openTsdbPort = ec2.Port.tcp(ctx.openTsdbPort);
    const openTsdbHost = new URL(ctx.openTsdbUrl).hostname;
    if (ctx.openTsdbSecurityGroupId) {
      // Egress to OpenTSDB's security group, and ingress into it from this one (a rule on that group).
      const openTsdb = ec2.SecurityGroup.fromSecurityGroupId(
        this,
        'OpenTsdbSecurityGroup',
        ctx.openTsdbSecurityGroupId,
      );
      sg.connections.allowTo(openTsdb, openTsdbPort, 'OpenTSDB');
    } else if (/^\d{1,3}(\.\d{1,3}){3}$/.test(openTsdbHost)) {
      sg.addEgressRule(ec2.Peer.ipv4(`${openTsdbHost}/32`), openTsdbPort, 'OpenTSDB');
    } else {
      // A host name resolves to addresses unknown at synth time: only the port is restricted.
      sg.addEgressRule(ec2.Peer.anyIpv4(), openTsdbPort, 'OpenTSDB (any address, its port only)');
    }
    const network = { vpc, subnets, securityGroups: [sg] };

    // ---- Tables.
    this.nodesTable = new dynamodb.Table(this, 'NodesTable', {
      partitionKey: { name: 'nodeId', type: dynamodb.AttributeType.NUMBER },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.spoolTable = new dynamodb.Table(this, 'SpoolTable', {
      partitionKey: { name: 'runKey', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Entries the replay could not deliver expire after 14 days (set by the writer).
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // ---- Push: HTTP API → push function (in the VPC).
    this.push = new BridgeFunction(this, 'Push', {
      entry: 'push.ts',
      service: 'push',
      description: 'Catchpoint Test Data Webhook → OpenTSDB (spools what OpenTSDB cannot take)',
      timeout: PUSH_TIMEOUT,
      memorySize: 512,
      logRetention,
      network,
      environment: {
        OPENTSDB_URL: ctx.openTsdbUrl,
        PUSH_TOKEN_HASHES: ctx.pushTokenHashes.join(','),
        WRITE_BUDGET_MS: String(DEFAULT_WRITE_BUDGET_MS),
        ...(ctx.metricSets ? { METRIC_SETS: ctx.metricSets } : {}),
        ...(ctx.metricNaming ? { METRIC_NAMING: ctx.metricNaming } : {}),
      },
    });
    this.push.bindTable(this.nodesTable, 'NODES_TABLE', ['Scan', 'GetItem']);
    // The spool writer only puts, conditionally (attribute_not_exists): a conditional put needs no read right.
    this.push.bindTable(this.spoolTable, 'SPOOL_TABLE', ['PutItem']);

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigwv2.HttpApi(this, 'PushApi', {
      description: 'Catchpoint Test Data Webhook receiver: POST /push?token=…',
      createDefaultStage: false,
    });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: ctx.pushRateLimit, burstLimit: ctx.pushBurstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        // $context.path carries no query string, so the push token never reaches the access log.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            method: '$context.httpMethod',
            routeKey: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            error: '$context.error.message',
          }),
        ),
      },
    });
    const [pushRoute] = this.api.addRoutes({
      path: '/push',
      methods: [apigwv2.HttpMethod.POST],
      integration: new HttpLambdaIntegration('PushIntegration', this.push.function, {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      }),
    });
    if (pushRoute) {
      Validations.of(pushRoute).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          "Catchpoint's Test Data Webhook cannot sign requests or send custom headers: the push function " +
          'authenticates each request by the token in its query string, compared with SHA-256 digests ' +
          '(PUSH_TOKEN_HASHES), and answers 401 otherwise.',
      });
    }

    // ---- Node refresh: scheduled, outside the VPC (Catchpoint API on the internet, SSM).
    this.refreshDeadLetterQueue = new sqs.Queue(this, 'RefreshDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const credentials = ssm.StringParameter.fromSecureStringParameterAttributes(
      this,
      'CatchpointCredentials',
      { parameterName: ctx.catchpointCredentialsParameter },
    );
    this.refresh = new BridgeFunction(this, 'Refresh', {
      entry: 'refresh.ts',
      service: 'refresh',
      description: 'Catchpoint node list → nodes table (scheduled)',
      timeout: REFRESH_TIMEOUT,
      memorySize: 256,
      logRetention,
      environment: {
        CATCHPOINT_CREDENTIALS_PARAMETER: ctx.catchpointCredentialsParameter,
        ...(ctx.catchpointApiUrl ? { CATCHPOINT_API_URL: ctx.catchpointApiUrl } : {}),
      },
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
      deadLetterQueue: this.refreshDeadLetterQueue,
    });
    // The refresh scans the table and writes it in batches; it never reads single items.
    this.refresh.bindTable(this.nodesTable, 'NODES_TABLE', ['BatchWriteItem', 'Scan']);
    // Exactly the call lambda/refresh.ts makes (GetParameter, decrypted) on that one parameter; not grantRead,
    // which adds GetParameterHistory (every earlier value of the secret), GetParameters and DescribeParameters.
    this.refresh.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [credentials.parameterArn] }),
    );
    if (ctx.catchpointCredentialsKmsKeyArn) {
      // With the default aws/ssm key, its key policy already lets the account's principals decrypt via SSM.
      kms.Key.fromKeyArn(this, 'CatchpointCredentialsKey', ctx.catchpointCredentialsKmsKeyArn).grantDecrypt(
        this.refresh.function,
      );
    }
    new events.Rule(this, 'RefreshSchedule', {
      description: 'Refreshes the Catchpoint node metadata',
      schedule: events.Schedule.expression(ctx.refreshSchedule),
      targets: [
        new targets.LambdaFunction(this.refresh.function, {
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
          deadLetterQueue: this.refreshDeadLetterQueue,
        }),
      ],
    });

    // ---- Spool replay: every minute, in the VPC. A missed run is simply the next minute's work.
    this.replay = new BridgeFunction(this, 'Replay', {
      entry: 'replay.ts',
      service: 'replay',
      description: 'Spool → OpenTSDB (every minute)',
      timeout: REPLAY_TIMEOUT,
      memorySize: 512,
      logRetention,
      network,
      environment: { OPENTSDB_URL: ctx.openTsdbUrl },
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
    });
    this.replay.bindTable(this.spoolTable, 'SPOOL_TABLE', ['Scan', 'GetItem', 'DeleteItem']);
    new events.Rule(this, 'ReplaySchedule', {
      description: 'Drains the Catchpoint bridge spool into OpenTSDB',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [
        new targets.LambdaFunction(this.replay.function, {
          retryAttempts: 0,
          maxEventAge: Duration.minutes(1),
        }),
      ],
    });

    for (const fn of [this.push, this.replay]) {
      Validations.of(fn.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'The network-interface rights Lambda needs to run a function in a VPC (those of ' +
          'AWSLambdaVPCAccessExecutionRole): the interfaces do not exist before Lambda creates them and the ' +
          'ec2:Describe* actions support no resource-level permissions.',
      });
    }

    // ---- Operations: notifications, alarms, dashboard.
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Catchpoint bridge alarms',
      enforceSSL: true,
    });
    if (ctx.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(ctx.alarmEmail));
    }
    const monitoring = new BridgeMonitoring(this, 'Monitoring', {
      stage: this.stage,
      push: this.push,
      refresh: this.refresh,
      replay: this.replay,
      refreshDeadLetterQueue: this.refreshDeadLetterQueue,
      alarmTopic: this.alarmTopic,
    });

    // ---- Outputs.
    new CfnOutput(this, 'PushUrl', {
      description: 'Catchpoint Test Data Webhook URL: append ?token=<your push token> (never stored here)',
      value: `${this.stage.url}push`,
    });
    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output('PushLogGroupName', this.push.logGroup.logGroupName, 'Logs of the push function');
    output('RefreshLogGroupName', this.refresh.logGroup.logGroupName, 'Logs of the node refresh');
    output('ReplayLogGroupName', this.replay.logGroup.logGroupName, 'Logs of the spool replay');
    output('ApiAccessLogGroupName', accessLogs.logGroupName, 'HTTP API access logs (no query strings)');
    output('NodesTableName', this.nodesTable.tableName, 'Catchpoint nodes table (kept on stack deletion)');
    output('SpoolTableName', this.spoolTable.tableName, 'Spool table (kept on stack deletion)');
    output('RefreshFunctionName', this.refresh.function.functionName, 'Invoke it to refresh the nodes now');
    output(
      'RefreshDeadLetterQueueUrl',
      this.refreshDeadLetterQueue.queueUrl,
      'Refreshes that failed for good',
    );
    output('AlarmTopicArn', this.alarmTopic.topicArn, 'Subscribe here to receive the alarms');
    output('DashboardName', monitoring.dashboard.dashboardName, 'CloudWatch dashboard of the bridge');
  }

  /**
   * DynamoDB's managed prefix list id differs by region; it is read at deploy time (ec2:DescribeManagedPrefixLists)
   * so that the stack deploys anywhere without a lookup at synth time. `-c dynamoDbPrefixListId=pl-…` skips this.
   */
  private lookUpDynamoDbPrefixList(logRetention: logs.RetentionDays): string {
    const call: cr.AwsSdkCall = {
      service: 'EC2',
      action: 'DescribeManagedPrefixLists',
      parameters: {
        Filters: [{ Name: 'prefix-list-name', Values: [`com.amazonaws.${Aws.REGION}.dynamodb`] }],
      },
      physicalResourceId: cr.PhysicalResourceId.fromResponse('PrefixLists.0.PrefixListId'),
      outputPaths: ['PrefixLists.0.PrefixListId'],
    };
    const logGroup = new logs.LogGroup(this, 'DynamoDbPrefixListLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // A role of its own rather than the default one with AWSLambdaBasicExecutionRole (logs anywhere).
    const role = new iam.Role(this, 'DynamoDbPrefixListRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Looks up the DynamoDB prefix list for the Catchpoint bridge security group',
      inlinePolicies: {
        Logs: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [logGroup.logGroupArn],
            }),
          ],
        }),
      },
    });
    const lookup = new cr.AwsCustomResource(this, 'DynamoDbPrefixList', {
      onCreate: call,
      onUpdate: call,
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
      role,
      logGroup,
      installLatestAwsSdk: false,
    });
    Validations.of(lookup).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ec2:DescribeManagedPrefixLists supports no resource-level permissions; the call is read-only.',
    });
    return lookup.getResponseField('PrefixLists.0.PrefixListId');
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
        'vpcId is the example value from cdk.json: pass your VPC, subnets and route tables with -c before deploying.',
      );
    }
  }
}
