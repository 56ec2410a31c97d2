// Backfill function (opt-in EventBridge schedule, outside the VPC): Catchpoint's failed webhook deliveries →
// spool, which the replay delivers. docs/backfill.md, "Scheduled gap repair".
import { boundedDynamoClient } from './aws/dynamo-client.js';
import { boundedSsmClient } from './aws/ssm-client.js';
import { loadCredentials } from './aws/ssm-credentials.js';
import { catchpointFailedRuns } from './backfill/failed-run-source.js';
import { createGapRepairHandler } from './backfill/gap-repair-handler.js';
import { readGapRepairConfig } from './config.js';
import { NodeTable } from './nodes/node-table.js';
import { createLogger, createMetrics } from './shared/observability.js';
import { DynamoSpool } from './spool/dynamo-spool.js';

/** Each SSM or DynamoDB call answers in well under a second; 5 s absorbs a slow moment (as the refresh's). */
const AWS_REQUEST_TIMEOUT_MS = 5000;

const config = readGapRepairConfig(process.env);
const logger = createLogger('backfill');
const ssm = boundedSsmClient(AWS_REQUEST_TIMEOUT_MS);
const dynamo = boundedDynamoClient(AWS_REQUEST_TIMEOUT_MS);

export const handler = createGapRepairHandler({
  config,
  connect: async (signal, deadline) =>
    catchpointFailedRuns(await loadCredentials(ssm, config.credentialsParameter, signal), {
      baseUrl: config.catchpointApiUrl,
      deadline,
      onRetry: (retry) => logger.warn('Catchpoint request retried', { ...retry }),
    }),
  nodes: new NodeTable(dynamo, config.nodesTable),
  spool: new DynamoSpool(dynamo, config.spoolTable),
  logger,
  metrics: createMetrics('backfill'),
});
