// The node refresh: on a schedule, the refresh function reads the Catchpoint credentials from SSM and writes
// Catchpoint's node list into the nodes table. It runs outside the VPC, because the Catchpoint API is on the
// internet. A refresh that still fails after its retries lands in a dead-letter queue.
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { BridgeFunction } from './bridge-function.js';
import { addScheduledCatchpointFunction } from './catchpoint-function.js';

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

    const { fn, deadLetterQueue } = addScheduledCatchpointFunction(this, {
      entry: 'refresh.ts',
      service: 'refresh',
      description: 'Catchpoint node list → nodes table (scheduled)',
      timeout: REFRESH_TIMEOUT,
      memorySize: 256,
      logRetention: props.logRetention,
      environment: {
        ...(props.catchpointApiUrl ? { CATCHPOINT_API_URL: props.catchpointApiUrl } : {}),
        ...(props.nodeTtlDays ? { NODE_TTL_DAYS: String(props.nodeTtlDays) } : {}),
      },
      credentialsParameter: props.credentialsParameter,
      credentialsKmsKeyArn: props.credentialsKmsKeyArn,
      schedule: props.schedule,
      scheduleDescription: 'Refreshes the Catchpoint node metadata',
      // The refresh scans the table and writes it in batches; it never reads single items.
      grant: (refresh) => refresh.bindTable(props.nodesTable, 'NODES_TABLE', ['BatchWriteItem', 'Scan']),
    });
    this.refresh = fn;
    this.deadLetterQueue = deadLetterQueue;
  }
}
