// The push function's factory: builds the push path from its configuration and clients. The Lambda entry
// (lambda/push.ts) and the local server call it alike; tests pass their own clients and sink.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { boundedDynamoClient } from '../aws/dynamo-client.js';
import type { PushConfig } from '../config.js';
import { NodeCache } from '../nodes/node-cache.js';
import { NodeTable } from '../nodes/node-table.js';
import { type DatapointSink, openTsdbWriter } from '../opentsdb/writer.js';
import { contextOnDemand } from '../shared/context-on-demand.js';
import type { InvocationTools } from '../shared/invocation.js';
import { DynamoSpool } from '../spool/dynamo-spool.js';
import { apiGatewayPushHandler, type PushHandler } from './api-gateway.js';
import { PushService } from './push-service.js';

export type { PushHandler } from './api-gateway.js';

/** How long a push waits for node metadata before using the payload's own tags. */
const NODE_WAIT_MS = 1500;

/** DynamoDB calls on the push path must be short: a slow table costs tags, never the push. */
export function pushDynamoClient(): DynamoDBClient {
  return boundedDynamoClient(2000);
}

export interface PushHandlerDeps {
  config: PushConfig;
  /** Warnings and errors; each push's own line goes to `emit` (push-record.ts). */
  logger: InvocationTools['logger'];
  /** Where each push's line goes: stdout by default. */
  emit?: (line: string) => void;
  /** Holds the nodes table and the spool. */
  dynamo: DynamoDBClient;
  /** Where datapoints go instead of OpenTSDB (the local server's printer, a test's). */
  sink?: DatapointSink;
}

export function createPushHandler(deps: PushHandlerDeps): PushHandler {
  const { config, dynamo } = deps;
  const logger = contextOnDemand(deps.logger);
  const nodes = new NodeCache(new NodeTable(dynamo, config.nodesTable), {
    ttlMs: config.nodeCacheTtlMs,
    waitMs: NODE_WAIT_MS,
    log: logger,
  });
  const sink =
    deps.sink ?? openTsdbWriter({ ...config, openTsdbUrl: requireUrl(config.openTsdbUrl) }, logger);
  const service = new PushService({
    tokenHashes: config.pushTokenHashes,
    metrics: config.metrics,
    nodes,
    sink,
    spool: config.spoolTable ? new DynamoSpool(dynamo, config.spoolTable) : undefined,
    log: logger,
  });
  return apiGatewayPushHandler(service, { logger, emit: deps.emit, writeBudgetMs: config.writeBudgetMs });
}

function requireUrl(url: string | undefined): string {
  if (url === undefined) throw new Error('OPENTSDB_URL is required unless another datapoint sink is given');
  return url;
}
