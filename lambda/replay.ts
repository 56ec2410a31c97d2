// Replay function (EventBridge, every minute, inside the VPC): spool → OpenTSDB.
import { boundedDynamoClient } from './aws/dynamo-client.js';
import { readReplayConfig } from './config.js';
import { OpenTsdbWriter } from './opentsdb/writer.js';
import { createLogger, createMetrics } from './shared/observability.js';
import { DynamoSpool } from './spool/dynamo-spool.js';
import { createReplayHandler } from './spool/replay-handler.js';

const config = readReplayConfig(process.env);
const logger = createLogger('replay');

export const handler = createReplayHandler({
  spool: new DynamoSpool(boundedDynamoClient(5000), config.spoolTable),
  sink: new OpenTsdbWriter(config.openTsdbUrl, {
    timeoutMs: config.openTsdbTimeoutMs,
    sync: config.openTsdbSync,
    log: logger,
  }),
  logger,
  metrics: createMetrics('replay'),
});
