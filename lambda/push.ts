// Push function (API Gateway HTTP API → here, inside the VPC). Built once per execution environment; a bad
// configuration fails the cold start, not a push.
import { readPushConfig } from './config.js';
import { createPushHandler, pushDynamoClient } from './push/push-handler.js';
import { createLogger } from './shared/observability.js';

export const handler = createPushHandler({
  config: readPushConfig(process.env),
  dynamo: pushDynamoClient(),
  logger: createLogger('push'),
});
