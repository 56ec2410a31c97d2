// Replay function (EventBridge, every minute, inside the VPC): spool → OpenTSDB.
import { boundedDynamoClient } from './aws/dynamo-client.js';
import { readReplayConfig } from './config.js';
import { createLogger, createMetrics } from './shared/observability.js';
import { DynamoSpool } from './spool/dynamo-spool.js';
import { createReplayHandler, replayWriter } from './spool/replay-handler.js';

/** Longest one DynamoDB request may take: a spool call that hangs must not hold the drain for its minute. */
const DYNAMODB_REQUEST_TIMEOUT_MS = 5000;

const config = readReplayConfig(process.env);
const logger = createLogger('replay');

export const handler = createReplayHandler({
  spool: new DynamoSpool(boundedDynamoClient(DYNAMODB_REQUEST_TIMEOUT_MS), config.spoolTable),
  sink: replayWriter(config, logger),
  logger,
  metrics: createMetrics('replay'),
});
