// `npm start`: the push path on localhost, with an embedded DynamoDB, through the same handler as the Lambda.
import { ConfigError, httpUrl, positiveInt, readPushConfig } from '../config.js';
import { NodeTable } from '../nodes/node-table.js';
import { readNodesFile } from '../nodes/nodes-file.js';
import { createLogger, createMetrics } from '../observability.js';
import { OpenTsdbWriter } from '../opentsdb/writer.js';
import { composePushHandler } from '../push/compose-push.js';
import { sha256Hex } from '../push/push-token.js';
import { DynamoSpool } from '../spool/dynamo-spool.js';
import { replaySpool } from '../spool/replay-spool.js';
import { createNodesTable, createSpoolTable, startEmbeddedDynamo } from './embedded-dynamo.js';
import { PrintingSink } from './printing-sink.js';
import { startLocalServer } from './server.js';

const NODES_TABLE = 'catchpoint-nodes';
const SPOOL_TABLE = 'catchpoint-spool';

async function main(): Promise<void> {
  const env = process.env;
  // EMF lines are for CloudWatch; locally they would only bury the logs.
  env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const logger = createLogger('push');
  const port = readPort(env.PORT);
  const openTsdbUrl = env.OPENTSDB_URL?.trim() ? httpUrl('OPENTSDB_URL', env.OPENTSDB_URL.trim()) : undefined;
  const replayIntervalMs = positiveInt(env, 'REPLAY_INTERVAL_SECONDS', 60) * 1000;
  const token = env.PUSH_TOKEN?.trim();
  const config = readPushConfig(
    {
      ...env,
      NODES_TABLE,
      SPOOL_TABLE: openTsdbUrl ? SPOOL_TABLE : undefined,
      PUSH_TOKEN_HASHES: token ? sha256Hex(token) : undefined,
    },
    true,
  );

  const dynamo = await startEmbeddedDynamo();
  await createNodesTable(dynamo.client, NODES_TABLE);
  await createSpoolTable(dynamo.client, SPOOL_TABLE);
  const nodeTable = new NodeTable(dynamo.client, NODES_TABLE);
  if (env.NODES_FILE?.trim()) {
    const records = await readNodesFile(env.NODES_FILE.trim());
    await nodeTable.putMany(records);
    logger.info('nodes loaded', { nodesFile: env.NODES_FILE.trim(), nodes: records.length });
  }

  if (!token) logger.warn('PUSH_TOKEN is not set: accepting every push without a token');
  const handler = composePushHandler(config, {
    dynamo: dynamo.client,
    logger,
    metrics: createMetrics('push'),
    sink: openTsdbUrl ? undefined : new PrintingSink(),
  });
  const server = await startLocalServer({ port, host: env.HOST?.trim() || '127.0.0.1', handler });

  let replayTimer: NodeJS.Timeout | undefined;
  if (openTsdbUrl) {
    const replayLog = createLogger('replay');
    const spool = new DynamoSpool(dynamo.client, SPOOL_TABLE);
    const writer = new OpenTsdbWriter(openTsdbUrl, { timeoutMs: config.openTsdbTimeoutMs, log: replayLog });
    let running = false;
    replayTimer = setInterval(() => {
      if (running) return;
      running = true;
      replaySpool(spool, writer, { deadlineMs: Date.now() + 50_000, log: replayLog })
        .then((result) => {
          if (result.replayed > 0 || result.depth > 0) replayLog.info('spool replay', { ...result });
        })
        .catch((error: unknown) => replayLog.error('spool replay failed', { error: String(error) }))
        .finally(() => {
          running = false;
        });
    }, replayIntervalMs);
  }

  logger.info('listening', {
    url: server.url,
    routes: ['POST /push', 'GET /health'],
    opentsdb: openTsdbUrl ?? 'none: printing datapoints',
  });

  const stop = async (): Promise<void> => {
    clearInterval(replayTimer);
    await server.close();
    await dynamo.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

function readPort(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 8080;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`PORT must be 0–65535, got "${raw}"`);
  return port;
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `configuration error: ${error.message}` : error);
  process.exit(1);
});
