// `npm start`'s node refresh: the embedded table refreshed at start and then on a timer.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { createNodesTable, type EmbeddedDynamo, startEmbeddedDynamo } from '../../dev/embedded-dynamo.js';
import { startLocalNodeRefresh } from '../../dev/local-refresh.js';
import { ConfigError } from '../../lambda/config.js';
import { NodeTable } from '../../lambda/nodes/node-table.js';
import { captureLog } from '../support/capture-log.js';
import {
  type CatchpointStandIn,
  makeV2Nodes,
  STAND_IN_API_KEY,
  STAND_IN_CLIENT_ID,
  STAND_IN_CLIENT_SECRET,
  startCatchpointStandIn,
} from '../support/catchpoint-stand-in.js';

let dynamo: EmbeddedDynamo;
let catchpoint: CatchpointStandIn;
let table: NodeTable;
let tables = 0;
const logger = captureLog();
const messages = logger.entries;
const fast = { minIntervalMs: 0, backoffBaseMs: 1, sleep: async () => {} };

before(async () => {
  dynamo = await startEmbeddedDynamo();
});
after(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  catchpoint = await startCatchpointStandIn();
  const name = `local-nodes-${++tables}`;
  await createNodesTable(dynamo.client, name);
  table = new NodeTable(dynamo.client, name);
  logger.clear();
});
afterEach(async () => {
  await catchpoint.close();
});

async function until(condition: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('startLocalNodeRefresh', () => {
  it('refreshes at start (v2 key), then on its interval', async () => {
    const stop = await startLocalNodeRefresh({
      table,
      env: { CATCHPOINT_API_KEY: STAND_IN_API_KEY, CATCHPOINT_API_URL: catchpoint.url },
      logger,
      intervalMs: 50,
      clientOptions: fast,
    });
    try {
      assert.equal((await table.scanAll()).length, 4, 'filled before it returns');
      assert.equal(messages.filter((m) => m.message === 'node refresh finished').length, 1);
      catchpoint.data.v2Nodes = makeV2Nodes(20);
      await until(async () => (await table.scanAll()).length === 24);
    } finally {
      stop();
    }
  });

  it('uses v1 with a client id and secret', async () => {
    const stop = await startLocalNodeRefresh({
      table,
      env: {
        CATCHPOINT_CLIENT_ID: STAND_IN_CLIENT_ID,
        CATCHPOINT_CLIENT_SECRET: STAND_IN_CLIENT_SECRET,
        CATCHPOINT_API_URL: catchpoint.url,
      },
      logger,
      clientOptions: fast,
    });
    stop();
    assert.deepEqual(
      (await table.scanAll()).map((r) => r.nodeId).sort((a, b) => a - b),
      [77, 79, 81],
    );
  });

  it('logs a failed refresh instead of throwing, and leaves the table alone', async () => {
    catchpoint.addFault({
      path: '/api/v2/nodes/all',
      status: 500,
      times: Infinity,
      body: { Message: 'down' },
    });
    const stop = await startLocalNodeRefresh({
      table,
      env: { CATCHPOINT_API_KEY: STAND_IN_API_KEY, CATCHPOINT_API_URL: catchpoint.url },
      logger,
      clientOptions: { ...fast, maxAttempts: 2 },
    });
    stop();
    const failed = messages.find((m) => m.message === 'node refresh failed');
    assert.equal(failed?.level, 'error');
    assert.equal(failed?.attributes.reason, 'fetch-failed');
    assert.match(String(failed?.attributes.error), /answered 500: down/);
    assert.equal((await table.scanAll()).length, 0);
  });

  it('does nothing without credentials', async () => {
    const stop = await startLocalNodeRefresh({ table, env: {}, logger });
    stop();
    assert.equal(catchpoint.requests.length, 0);
    assert.match(messages[0]?.message ?? '', /node refresh off/);
  });

  it('refuses half a set of v1 credentials as a configuration error', async () => {
    await assert.rejects(
      startLocalNodeRefresh({ table, env: { CATCHPOINT_CLIENT_ID: 'id' }, logger }),
      (error: unknown) => error instanceof ConfigError && /CATCHPOINT_CLIENT_SECRET/.test(error.message),
    );
  });
});
