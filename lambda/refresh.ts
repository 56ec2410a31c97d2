// Refresh function (EventBridge schedule, outside the VPC): Catchpoint node list → nodes table.
import { boundedDynamoClient } from './aws/dynamo-client.js';
import { boundedSsmClient } from './aws/ssm-client.js';
import { readRefreshConfig } from './config.js';
import { NodeTable } from './nodes/node-table.js';
import { createRefreshHandler } from './nodes/refresh-handler.js';
import { createLogger, createMetrics } from './shared/observability.js';

/**
 * Each attempt of an SSM or DynamoDB call (one GetParameter, one Scan page of at most 1 MB, one batch of 25
 * writes) answers in well under a second; 5 s absorbs a slow moment, and with the one retry a call that gets
 * no answer fails in about 10 s, far inside the function's 3 minutes.
 */
const AWS_REQUEST_TIMEOUT_MS = 5000;

const config = readRefreshConfig(process.env);

export const handler = createRefreshHandler({
  config,
  ssm: boundedSsmClient(AWS_REQUEST_TIMEOUT_MS),
  store: new NodeTable(boundedDynamoClient(AWS_REQUEST_TIMEOUT_MS), config.nodesTable),
  logger: createLogger('refresh'),
  metrics: createMetrics('refresh'),
});
