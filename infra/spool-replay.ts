// The spool replay: every minute, in the VPC, the replay function sends what the push function spooled on to
// OpenTSDB. A missed or failed run is simply the next minute's work, so there are no retries.
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BridgeFunction, type FunctionNetwork } from './bridge-function.js';

/** Shorter than the one-minute schedule, so that two replays rarely overlap. */
export const REPLAY_TIMEOUT = Duration.seconds(50);

export interface SpoolReplayProps {
  network: FunctionNetwork;
  spoolTable: dynamodb.ITable;
  openTsdbUrl: string;
  logRetention: logs.RetentionDays;
}

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
      environment: { OPENTSDB_URL: props.openTsdbUrl },
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
    });
    this.replay.bindTable(props.spoolTable, 'SPOOL_TABLE', ['Scan', 'GetItem', 'DeleteItem']);

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
