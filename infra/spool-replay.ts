// The spool replay: every minute, in the VPC, the replay function sends what the push function spooled on to
// OpenTSDB. A missed or failed run is simply the next minute's work, so there are no retries. It reserves no
// concurrency (a reservation fails the deploy on an account with a small quota): two drains may overlap, and
// replay is safe to run beside itself (a run's delete names the exact item read; a run sent twice is the
// same bytes).
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BridgeFunction, type FunctionNetwork } from './bridge-function.js';

/** Shorter than the one-minute schedule: a drain normally ends before the next one starts. */
export const REPLAY_TIMEOUT = Duration.seconds(50);

export interface SpoolReplayProps {
  network: FunctionNetwork;
  spoolTable: dynamodb.ITable;
  openTsdbUrl: string;
  /** false: OPENTSDB_SYNC=false, for an OpenTSDB that cannot confirm storage. */
  openTsdbSync: boolean;
  logRetention: logs.RetentionDays;
}

/**
 * Replay's rights on the spool table: Query (each shard, oldest first) and the writes of draining and
 * parking. No Scan: the time-ordered keys make one unnecessary.
 */
const REPLAY_SPOOL_ACTIONS = ['Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'];

export class SpoolReplay extends Construct {
  readonly replay: BridgeFunction;

  constructor(scope: Construct, id: string, props: SpoolReplayProps) {
    super(scope, id);

    this.replay = new BridgeFunction(this, 'Function', {
      entry: 'replay.ts',
      service: 'replay',
      description: 'Spool → OpenTSDB (every minute)',
      timeout: REPLAY_TIMEOUT,
      memorySize: 512,
      logRetention: props.logRetention,
      network: props.network,
      environment: {
        OPENTSDB_URL: props.openTsdbUrl,
        ...(props.openTsdbSync ? {} : { OPENTSDB_SYNC: 'false' }),
      },
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
    });
    this.replay.bindTable(props.spoolTable, 'SPOOL_TABLE', REPLAY_SPOOL_ACTIONS);

    new events.Rule(this, 'Schedule', {
      description: 'Drains the Catchpoint bridge spool into OpenTSDB',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [
        new targets.LambdaFunction(this.replay.function, {
          retryAttempts: 0,
          maxEventAge: Duration.minutes(1),
        }),
      ],
    });
  }
}
