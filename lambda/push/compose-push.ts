import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { boundedDynamoClient } from '../aws/dynamo-client.js';
import type { PushConfig } from '../config.js';
import { NodeCache } from '../nodes/node-cache.js';
import { NodeTable } from '../nodes/node-table.js';
import { type DatapointSink, OpenTsdbWriter } from '../opentsdb/writer.js';
import { countersOf } from '../shared/observability.js';
import { DynamoSpool } from '../spool/dynamo-spool.js';
import { createPushHandler, type PushHandler } from './push-handler.js';
import { PushService } from './push-service.js';

/** How long a push waits for node metadata before using the payload's own tags. */
const NODE_WAIT_MS = 1500;

/** DynamoDB calls on the push path must be short: a slow table costs tags, never the push. */
export function pushDynamoClient(): DynamoDBClient {
  return boundedDynamoClient(2000);
}

/** Wires the push path from its configuration: used by the Lambda entry and by the local server alike. */
export function composePushHandler(
  config: PushConfig,
  parts: { dynamo: DynamoDBClient; logger: Logger; metrics: Metrics; sink?: DatapointSink },
): PushHandler {
  const { dynamo, logger, metrics } = parts;
  const nodes = new NodeCache(new NodeTable(dynamo, config.nodesTable), {
    ttlMs: config.nodeCacheTtlMs,
    waitMs: NODE_WAIT_MS,
    log: logger,
  });
  const sink =
    parts.sink ??
    new OpenTsdbWriter(requireUrl(config.openTsdbUrl), { timeoutMs: config.openTsdbTimeoutMs, log: logger });
  const service = new PushService({
    tokenHashes: config.pushTokenHashes,
    metrics: config.metrics,
    nodes,
    sink,
    spool: config.spoolTable ? new DynamoSpool(dynamo, config.spoolTable) : undefined,
    log: logger,
    counters: countersOf(metrics),
  });
  return createPushHandler(service, { logger, metrics, writeBudgetMs: config.writeBudgetMs });
}

function requireUrl(url: string | undefined): string {
  if (url === undefined) throw new Error('OPENTSDB_URL is required unless another datapoint sink is given');
  return url;
}
