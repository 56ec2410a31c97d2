// The node refresh: on a schedule, the refresh function reads the Catchpoint credentials from SSM and writes
// Catchpoint's node list into the nodes table. It runs outside the VPC, because the Catchpoint API is on the
// internet. A refresh that still fails after its retries lands in a dead-letter queue.
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { BridgeFunction } from './bridge-function.js';

const REFRESH_TIMEOUT = Duration.minutes(3);

export interface NodeRefreshProps {
  nodesTable: dynamodb.ITable;
  /** Name of the SSM SecureString parameter with the Catchpoint API credentials. */
  credentialsParameter: string;
  /** Customer managed KMS key of that parameter; undefined for the default aws/ssm key. */
  credentialsKmsKeyArn: string | undefined;
  /** undefined keeps the function's default (https://io.catchpoint.com). */
  catchpointApiUrl: string | undefined;
  /** Days until a node no longer listed expires; undefined keeps the function's default. */
  nodeTtlDays: number | undefined;
  /** An EventBridge schedule expression. */
  schedule: string;
  logRetention: logs.RetentionDays;
}

export class NodeRefresh extends Construct {
  readonly refresh: BridgeFunction;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: NodeRefreshProps) {
    super(scope, id);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const credentials = ssm.StringParameter.fromSecureStringParameterAttributes(this, 'Credentials', {
      parameterName: props.credentialsParameter,
    });
    this.refresh = new BridgeFunction(this, 'Function', {
      entry: 'refresh.ts',
      service: 'refresh',
      description: 'Catchpoint node list → nodes table (scheduled)',
      timeout: REFRESH_TIMEOUT,
      memorySize: 256,
      logRetention: props.logRetention,
      environment: {
        CATCHPOINT_CREDENTIALS_PARAMETER: props.credentialsParameter,
        ...(props.catchpointApiUrl ? { CATCHPOINT_API_URL: props.catchpointApiUrl } : {}),
        ...(props.nodeTtlDays ? { NODE_TTL_DAYS: String(props.nodeTtlDays) } : {}),
      },
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
      deadLetterQueue: this.deadLetterQueue,
    });
    // The refresh scans the table and writes it in batches; it never reads single items.
    this.refresh.bindTable(props.nodesTable, 'NODES_TABLE', ['BatchWriteItem', 'Scan']);
    // Exactly the call lambda/aws/ssm-credentials.ts makes (GetParameter, decrypted) on that one parameter; not grantRead,
    // which adds GetParameterHistory (every earlier value of the secret), GetParameters and DescribeParameters.
    this.refresh.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [credentials.parameterArn] }),
    );
    if (props.credentialsKmsKeyArn) {
      // With the default aws/ssm key, its key policy already lets the account's principals decrypt via SSM.
      kms.Key.fromKeyArn(this, 'CredentialsKey', props.credentialsKmsKeyArn).grantDecrypt(
        this.refresh.function,
      );
    }

    new events.Rule(this, 'Schedule', {
      description: 'Refreshes the Catchpoint node metadata',
      schedule: events.Schedule.expression(props.schedule),
      targets: [
        new targets.LambdaFunction(this.refresh.function, {
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });
  }
}
