// Everything `npm start` runs, as one function the tests can start too: an embedded DynamoDB with the
// nodes and spool tables, the push handler behind a local HTTP server, spool replay and node refresh timers.
import type { Logger } from '@aws-lambda-powertools/logger';
import type { CatchpointClientOptions } from '../lambda/catchpoint-api/api-client.js';
import {
  ConfigError,
  type Env,
  positiveInt,
  readCatchpointApiSettings,
  readPushConfig,
} from '../lambda/config.js';
import { NodeTable } from '../lambda/nodes/node-table.js';
import type { DatapointSink } from '../lambda/opentsdb/writer.js';
import { createPushHandler } from '../lambda/push/push-handler.js';
import { sha256Hex } from '../lambda/push/push-token.js';
import { createLogger, createMetrics } from '../lambda/shared/observability.js';
import { DynamoSpool } from '../lambda/spool/dynamo-spool.js';
import { createReplayHandler, replayWriter } from '../lambda/spool/replay-handler.js';
import type { ReplayResult } from '../lambda/spool/replay-spool.js';
import {
  createNodesTable,
  createSpoolTable,
  type EmbeddedDynamo,
  removeLocalDynamoFile,
  startEmbeddedDynamo,
  writeLocalDynamoFile,
} from './embedded-dynamo.js';
import { lambdaContext } from './lambda-shim.js';
import { startLocalNodeRefresh } from './local-refresh.js';
import { startLocalServer } from './local-server.js';
import { readNodesFile } from './nodes-file.js';
import { PrintingSink } from './printing-sink.js';

export const LOCAL_NODES_TABLE = 'catchpoint-nodes';
export const LOCAL_SPOOL_TABLE = 'catchpoint-spool';

/** The replay function's timeout in the stack; each local replay gets the same. */
const LOCAL_REPLAY_TIMEOUT_MS = 50_000;

export interface LocalBridge {
  url: string;
  dynamo: EmbeddedDynamo;
  nodeTable: NodeTable;
  /** Present when OPENTSDB_URL is set: the datapoints OpenTSDB could not take wait here. */
  spool: DynamoSpool | undefined;
  /** Runs one spool replay now (what the timer does every REPLAY_INTERVAL_SECONDS). */
  replayNow(): Promise<ReplayResult | undefined>;
  close(): Promise<void>;
}

export interface LocalBridgeOptions {
  logger?: Logger;
  /** Where datapoints go when OPENTSDB_URL is unset; printed to stdout by default. */
  printSink?: DatapointSink;
  /** Overrides of the Catchpoint client's defaults (the tests' stand-in). */
  catchpointClient?: Partial<CatchpointClientOptions>;
  /** Where each push's one line goes (lambda/push/push-record.ts); stdout by default. */
  emitPushRecord?: (line: string) => void;
  /**
   * Where to say how to reach the embedded DynamoDB (`npm run spool -- --local` reads it); removed on
   * close. `npm start` passes localDynamoFile(); tests a file of their own, or nothing.
   */
  dynamoFile?: string;
  /** The replay's clock (tests that fix the time); Date.now by default. */
  now?: () => number;
}

export async function startLocalBridge(env: Env, options: LocalBridgeOptions = {}): Promise<LocalBridge> {
  const logger = options.logger ?? createLogger('push');
  const port = readPort(env.PORT);
  const replayIntervalMs = positiveInt(env, 'REPLAY_INTERVAL_SECONDS', 60) * 1000;
  const token = env.PUSH_TOKEN?.trim();
  const config = readPushConfig(
    {
      ...env,
      NODES_TABLE: LOCAL_NODES_TABLE,
      // The spool exists only where there is an OpenTSDB to replay into.
      SPOOL_TABLE: env.OPENTSDB_URL?.trim() ? LOCAL_SPOOL_TABLE : undefined,
      PUSH_TOKEN_HASHES: token ? sha256Hex(token) : undefined,
    },
    true,
  );
  const openTsdbUrl = config.openTsdbUrl;

  const dynamo = await startEmbeddedDynamo();
  const stops: (() => void)[] = [];
  try {
    await createNodesTable(dynamo.client, LOCAL_NODES_TABLE);
    await createSpoolTable(dynamo.client, LOCAL_SPOOL_TABLE);
    const nodeTable = new NodeTable(dynamo.client, LOCAL_NODES_TABLE);
    const nodesFile = env.NODES_FILE?.trim();
    if (nodesFile) {
      const records = await readNodesFile(nodesFile, { ttlDays: readCatchpointApiSettings(env).nodeTtlDays });
      await nodeTable.putMany(records);
      logger.info('nodes loaded', { nodesFile, nodes: records.length });
    }
    stops.push(
      await startLocalNodeRefresh({
        table: nodeTable,
        env,
        logger,
        clientOptions: options.catchpointClient,
      }),
    );

    if (!token) logger.warn('PUSH_TOKEN is not set: accepting every push without a token');
    const spool = openTsdbUrl ? new DynamoSpool(dynamo.client, LOCAL_SPOOL_TABLE) : undefined;
    const handler = createPushHandler({
      config,
      dynamo: dynamo.client,
      logger,
      emit: options.emitPushRecord,
      sink: openTsdbUrl ? undefined : (options.printSink ?? new PrintingSink()),
    });
    const server = await startLocalServer({ port, host: env.HOST?.trim() || '127.0.0.1', handler });

    // The replay function's own handler, run on a timer as EventBridge would.
    const replay =
      spool && openTsdbUrl
        ? createReplayHandler({
            spool,
            sink: replayWriter({ ...config, openTsdbUrl }, logger),
            logger,
            metrics: createMetrics('replay'),
            now: options.now,
          })
        : undefined;
    let replaying: Promise<ReplayResult | undefined> | undefined;
    const replayNow = (): Promise<ReplayResult | undefined> => {
      if (!replay) return Promise.resolve(undefined);
      replaying ??= replay(undefined, lambdaContext('local-replay', LOCAL_REPLAY_TIMEOUT_MS))
        .catch(() => undefined) // logged by the handler
        .finally(() => {
          replaying = undefined;
        });
      return replaying;
    };
    if (spool) {
      const timer = setInterval(() => void replayNow(), replayIntervalMs);
      timer.unref();
      stops.push(() => clearInterval(timer));
    }

    const { dynamoFile } = options;
    if (dynamoFile) {
      writeLocalDynamoFile(dynamoFile, {
        endpoint: dynamo.endpoint,
        spoolTable: LOCAL_SPOOL_TABLE,
        nodesTable: LOCAL_NODES_TABLE,
        pid: process.pid,
      });
      stops.push(() => removeLocalDynamoFile(dynamoFile));
    }

    logger.info('listening', {
      url: server.url,
      dynamodb: dynamo.endpoint,
      routes: ['POST /push', 'GET /health'],
      opentsdb: openTsdbUrl ?? 'none: printing datapoints',
    });
    return {
      url: server.url,
      dynamo,
      nodeTable,
      spool,
      replayNow,
      close: async () => {
        for (const stop of stops) stop();
        await replaying;
        await server.close();
        await dynamo.close();
      },
    };
  } catch (error) {
    for (const stop of stops) stop();
    await dynamo.close();
    throw error;
  }
}

function readPort(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 8080;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`PORT must be 0–65535, got "${raw}"`);
  return port;
}
