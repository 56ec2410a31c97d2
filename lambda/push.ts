// Lambda entry of the push path (API Gateway HTTP API → here). Configuration and clients are built once
// per execution environment; a bad configuration fails the cold start, not a push.
import { readPushConfig } from './config.js';
import { composePushHandler, pushDynamoClient } from './push/compose-push.js';
import { createLogger, createMetrics } from './shared/observability.js';

const logger = createLogger('push');
const metrics = createMetrics('push');

export const handler = composePushHandler(readPushConfig(process.env), {
  dynamo: pushDynamoClient(),
  logger,
  metrics,
});
