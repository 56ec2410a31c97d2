// Refresh function (EventBridge schedule, outside the VPC): Catchpoint node list → nodes table.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SSMClient } from '@aws-sdk/client-ssm';
import { readRefreshConfig } from './config.js';
import { NodeTable } from './nodes/node-table.js';
import { createRefreshHandler } from './nodes/refresh-handler.js';
import { createLogger, createMetrics } from './shared/observability.js';

const config = readRefreshConfig(process.env);

export const handler = createRefreshHandler({
  config,
  ssm: new SSMClient({}),
  store: new NodeTable(new DynamoDBClient({}), config.nodesTable),
  logger: createLogger('refresh'),
  metrics: createMetrics('refresh'),
});
