// The refresh Lambda's handler against a Catchpoint stand-in, an SSM stand-in and real DynamoDB (dynalite).
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import {
  createNodesTable,
  type EmbeddedDynamo,
  localDynamoClient,
  startEmbeddedDynamo,
} from '../../dev/embedded-dynamo.js';
import { lambdaContext } from '../../dev/lambda-shim.js';
import type { CatchpointClientOptions } from '../../lambda/catchpoint-api/api-client.js';
import { HTTP_DEFAULTS } from '../../lambda/catchpoint-api/api-http.js';
import { DEFAULT_NODE_TTL_DAYS, type RefreshConfig } from '../../lambda/config.js';
import { nodeDimensions } from '../../lambda/metrics/node-dimensions.js';
import { NodeCache } from '../../lambda/nodes/node-cache.js';
import type { NodeRecord } from '../../lambda/nodes/node-record.js';
import { NodeTable, REFRESH_STATE_KEY } from '../../lambda/nodes/node-table.js';
import { createRefreshHandler, type RefreshHandler } from '../../lambda/nodes/refresh-handler.js';
import { RefreshError, type RefreshFailureReason } from '../../lambda/nodes/refresh-nodes.js';
import type { MetricsRecorder } from '../../lambda/shared/observability.js';
import type { TestResult } from '../../lambda/webhook/test-result.js';
import { captureLog } from '../support/capture-log.js';
import {
  type CatchpointStandIn,
  emptyPushFromV1Node,
  makeV1Items,
  makeV2Nodes,
  STAND_IN_API_KEY,
  STAND_IN_CLIENT_ID,
  STAND_IN_CLIENT_SECRET,
  StandInMessages,
  startCatchpointStandIn,
} from '../support/catchpoint-stand-in.js';
import { type DynamoProxy, startDynamoProxy } from '../support/dynamo-proxy.js';
import { type SsmStandIn, startSsmStandIn } from '../support/ssm-stand-in.js';

const PARAMETER = '/catchpoint-bridge/catchpoint-api';
const V2_SECRET = JSON.stringify({ apiKey: STAND_IN_API_KEY });
const V1_SECRET = JSON.stringify({ clientId: STAND_IN_CLIENT_ID, clientSecret: STAND_IN_CLIENT_SECRET });
const HOUR = 3_600_000;

let dynamo: EmbeddedDynamo;
let catchpoint: CatchpointStandIn;
let ssmStandIn: SsmStandIn;
let ssm: SSMClient;
let table: NodeTable;
let tableCount = 0;
const logger = captureLog();
const logs = logger.entries;
let metrics: MetricsRecorder & { values: [string, number][]; published: number };
let sleeps: number[];
let nowMs: number;

before(async () => {
  dynamo = await startEmbeddedDynamo();
});
after(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  catchpoint = await startCatchpointStandIn();
  ssmStandIn = await startSsmStandIn({ [PARAMETER]: { value: V2_SECRET } });
  ssm = ssmStandIn.client();
  const name = `nodes-${++tableCount}`;
  await createNodesTable(dynamo.client, name);
  table = new NodeTable(dynamo.client, name);
  logger.clear();
  sleeps = [];
  nowMs = Date.UTC(2026, 10, 25, 12);
  metrics = {
    values: [],
    published: 0,
    addMetric(name, _unit, value) {
      this.values.push([name, value]);
    },
    publishStoredMetrics() {
      this.published++;
    },
  };
});
afterEach(async () => {
  await catchpoint.close();
  await ssmStandIn.close();
});

/** A scheduled invocation with the refresh function's three minutes, unless a test gives its own context. */
type Invoke = (event?: undefined, context?: Context) => ReturnType<RefreshHandler>;

interface HandlerSetup {
  nodeTtlDays?: number;
  /** The nodes table, through another client (say, one pointed at a DynamoDB that hangs). */
  store?: NodeTable;
}

function handler(options: Partial<CatchpointClientOptions> = {}, setup: HandlerSetup = {}): Invoke {
  const config: RefreshConfig = {
    nodesTable: table.tableName,
    catchpointApiUrl: catchpoint.url,
    credentialsParameter: PARAMETER,
    nodeTtlDays: setup.nodeTtlDays ?? DEFAULT_NODE_TTL_DAYS,
  };
  const refresh = createRefreshHandler({
    config,
    ssm,
    store: setup.store ?? table,
    logger,
    metrics,
    now: () => nowMs,
    clientOptions: {
      minIntervalMs: 0,
      timeoutMs: 1000,
      backoffBaseMs: 1,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...options,
    },
  });
  return (event, context = lambdaContext('refresh', 180_000)) => refresh(event, context);
}

/** The stamps a run at `atMs` gives the records it writes. */
const stampedAt = (atMs: number, ttlDays = DEFAULT_NODE_TTL_DAYS) => ({
  updatedAt: new Date(atMs).toISOString(),
  expiresAt: atMs / 1000 + ttlDays * 86_400,
});

const snapshot = async (): Promise<NodeRecord[]> =>
  (await table.scanAll()).sort((a, b) => a.nodeId - b.nodeId);

async function failure(
  promise: Promise<unknown>,
  reason: RefreshFailureReason,
  message: RegExp,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof RefreshError, String(error));
    assert.equal(error.reason, reason, error.message);
    assert.match(error.message, message);
    return true;
  });
  const failed = logs.filter((l) => l.message === 'node refresh failed');
  assert.equal(failed.length, 1);
  assert.equal(failed[0]?.level, 'error');
  assert.equal(failed[0]?.attributes.reason, reason);
  assert.match(String(failed[0]?.attributes.error), message);
  assert.deepEqual(
    metrics.values.filter(([name]) => name === 'RefreshFailures'),
    [['RefreshFailures', 1]],
  );
  assert.equal(metrics.published, 1);
}

/** Forgets what earlier invocations logged and counted. */
function clearObservations(): void {
  logger.clear();
  metrics.values = [];
  metrics.published = 0;
}

/** A table as a good refresh left it: 250 v2 nodes, written an hour ago. */
async function seedTable(): Promise<NodeRecord[]> {
  catchpoint.data.v2Nodes = makeV2Nodes(250);
  const seedAt = nowMs;
  nowMs -= HOUR;
  await handler()();
  nowMs = seedAt;
  clearObservations();
  const rows = await snapshot();
  assert.equal(rows.length, 251);
  return rows;
}

describe('refresh handler, API v2', () => {
  it('fills the table with normalised records and logs one result line', async () => {
    const result = await handler()();
    const rows = await snapshot();
    const stamps = { updatedAt: '2026-11-25T12:00:00.000Z', expiresAt: nowMs / 1000 + 7 * 86_400 };
    assert.deepEqual(rows, [
      {
        nodeId: 77,
        name: 'Osaka, JP - KDDI',
        asn: 2516,
        city: 'Osaka',
        region: undefined,
        country: 'Japan',
        countryCode: 'JP',
        continent: 'Asia',
        isp: 'KDDI',
        networkType: 'Backbone',
        ...stamps,
      },
      {
        nodeId: 80,
        name: 'Sydney, AU - Telstra',
        asn: 1221,
        city: 'Sydney',
        region: undefined,
        country: 'Australia',
        countryCode: 'AU',
        continent: 'Oceania',
        isp: 'Telstra',
        networkType: 'LastMile',
        ...stamps,
      },
      {
        nodeId: 81,
        name: 'Frankfurt, DE - AWS',
        asn: 16509,
        city: 'Frankfurt',
        region: undefined,
        country: 'Germany',
        countryCode: 'DE',
        continent: 'Europe',
        isp: 'AWS',
        networkType: 'PublicCloud',
        ...stamps,
      },
      {
        nodeId: 9001,
        name: 'Ashburn, US - Acme Office',
        asn: undefined,
        city: 'Ashburn',
        region: 'Virginia',
        country: 'United States',
        countryCode: 'US',
        continent: 'North America',
        isp: 'Verizon Business',
        networkType: 'Enterprise',
        ...stamps,
      },
    ]);
    assert.equal(result.written, 4);
    const done = logs.filter((l) => l.message === 'node refresh finished');
    assert.equal(done.length, 1);
    assert.deepEqual(done[0], {
      level: 'info',
      message: 'node refresh finished',
      attributes: {
        apiVersion: 'v2',
        fetched: 4,
        skipped: 0,
        tableBefore: 0,
        peak: 0,
        written: 4,
        unchanged: 0,
        added: 4,
        durationMs: 0,
      },
    });
    assert.deepEqual(metrics.values, [
      ['NodesFetched', 4],
      ['NodesWritten', 4],
    ]);
    assert.equal(metrics.published, 1);
    assert.deepEqual(ssmStandIn.requests, [
      { target: 'AmazonSSM.GetParameter', body: { Name: PARAMETER, WithDecryption: true } },
    ]);
  });

  it('reads SSM once, then re-stamps every node on each run', async () => {
    const refresh = handler();
    await refresh();
    const before = await snapshot();
    nowMs += HOUR;
    const result = await refresh();
    assert.equal(result.unchanged, 4);
    assert.equal(result.added, 0);
    assert.equal(result.written, 4);
    const rows = await snapshot();
    for (const [i, row] of rows.entries()) {
      assert.equal(row.expiresAt, before[i]!.expiresAt + 3600);
      assert.deepEqual(
        { ...row, expiresAt: 0, updatedAt: '' },
        { ...before[i]!, expiresAt: 0, updatedAt: '' },
      );
    }
    assert.equal(ssmStandIn.requests.length, 1);
  });

  it('honours a 429’s Retry-After and completes', async () => {
    catchpoint.data.v2Nodes = makeV2Nodes(150);
    catchpoint.addFault({
      path: '/api/v2/nodes/all',
      pageNumber: 2,
      status: 429,
      headers: { 'retry-after': '2' },
    });
    const result = await handler()();
    assert.equal(result.written, 151);
    assert.deepEqual(sleeps, [2000]);
    assert.equal(logs.filter((l) => l.message === 'Catchpoint request retried').length, 1);
  });
});

describe('refresh handler, API v1', () => {
  it('fills the table with normalised records', async () => {
    ssmStandIn.parameters.set(PARAMETER, { value: V1_SECRET });
    const result = await handler()();
    assert.equal(result.apiVersion, 'v1');
    assert.equal(result.written, 3);
    const rows = await snapshot();
    assert.deepEqual(rows[0], {
      nodeId: 77,
      name: 'Osaka, JP - KDDI',
      asn: 2516,
      city: 'Osaka',
      region: 'Osaka',
      country: 'Japan',
      countryCode: 'JP',
      continent: 'Asia',
      isp: 'KDDI',
      networkType: 'Backbone',
      updatedAt: '2026-11-25T12:00:00.000Z',
      expiresAt: nowMs / 1000 + 7 * 86_400,
    });
    assert.deepEqual(
      rows.map((r) => [r.nodeId, r.asn, r.region, r.isp]),
      [
        [77, 2516, 'Osaka', 'KDDI'],
        [79, 28573, 'São Paulo', 'Claro S.A.'],
        [81, 16509, 'Hesse', 'Amazon.com, Inc.'],
      ],
    );
  });

  it('keeps its token across invocations and renews it when it has expired', async () => {
    ssmStandIn.parameters.set(PARAMETER, { value: V1_SECRET });
    const refresh = handler();
    await refresh();
    await refresh();
    catchpoint.expireTokens();
    await refresh();
    assert.equal(catchpoint.requests.filter((r) => r.path === '/ui/api/token').length, 2);
    assert.equal(ssmStandIn.requests.length, 1);
  });
});

describe('refresh handler, switching credentials', () => {
  it('from v1 to v2 leaves the region and ISP that only v1 tells in the table', async () => {
    ssmStandIn.parameters.set(PARAMETER, { value: V1_SECRET });
    await handler()();
    const afterV1 = await snapshot();
    assert.deepEqual(
      afterV1.map((r) => [r.nodeId, r.region, r.isp]),
      [
        [77, 'Osaka', 'KDDI'],
        [79, 'São Paulo', 'Claro S.A.'],
        [81, 'Hesse', 'Amazon.com, Inc.'],
      ],
    );

    ssmStandIn.parameters.set(PARAMETER, { value: V2_SECRET });
    catchpoint.data.enterprise = [];
    nowMs += HOUR;
    const result = await handler()();
    assert.equal(result.apiVersion, 'v2');
    const rows = await snapshot();
    assert.deepEqual(
      rows.map((r) => [r.nodeId, r.region, r.isp, r.continent]),
      [
        [77, 'Osaka', 'KDDI', 'Asia'],
        [79, 'São Paulo', 'Claro S.A.', 'South America'],
        [80, undefined, 'Telstra', 'Oceania'],
        [81, 'Hesse', 'Amazon.com, Inc.', 'Europe'],
      ],
    );
    const frankfurt = rows.find((r) => r.nodeId === 81)!;
    assert.deepEqual(
      { ...frankfurt, updatedAt: '', expiresAt: 0 },
      { ...afterV1.find((r) => r.nodeId === 81)!, updatedAt: '', expiresAt: 0 },
    );
    assert.equal(frankfurt.expiresAt, nowMs / 1000 + 7 * 86_400);
    assert.deepEqual([result.written, result.unchanged, result.added], [3, 2, 1]);
  });
});

describe('refresh handler, failures leave the table exactly as it was', () => {
  it('a refused API key (and the next run reads the parameter again)', async () => {
    const before = await seedTable();
    ssmStandIn.parameters.set(PARAMETER, { value: JSON.stringify({ apiKey: 'revoked-key' }) });
    const refresh = handler();
    await failure(refresh(), 'fetch-failed', /refused the API key.*Invalid API key\./);
    assert.deepEqual(await snapshot(), before);
    assert.ok(!JSON.stringify(logs).includes('revoked-key'));
    // Rotated in SSM: the same container picks the new key up on its next run.
    ssmStandIn.parameters.set(PARAMETER, { value: V2_SECRET });
    const reads = ssmStandIn.requests.length;
    await refresh();
    assert.equal(ssmStandIn.requests.length, reads + 1);
  });

  it('a 500 in the middle of paging', async () => {
    const before = await seedTable();
    catchpoint.addFault({
      path: '/api/v2/nodes/all',
      pageNumber: 2,
      status: 500,
      times: Infinity,
      body: { errors: [{ id: '500', message: 'Internal server error.' }], completed: false },
    });
    await failure(handler()(), 'fetch-failed', /pageNumber=2.*answered 500: Internal server error\./);
    assert.deepEqual(await snapshot(), before);
  });

  it('a 429 whose Retry-After is too long to wait for', async () => {
    const before = await seedTable();
    catchpoint.addFault({ path: '/api/v2/nodes', status: 429, headers: { 'retry-after': '3600' } });
    await failure(handler()(), 'fetch-failed', /answered 429.*retry after 3600 s/);
    assert.deepEqual(await snapshot(), before);
  });

  it('a Catchpoint too slow for the time the Lambda has left', async () => {
    const before = await seedTable();
    catchpoint.addFault({
      path: '/api/v2/nodes/all',
      pageNumber: 2,
      status: 429,
      headers: { 'retry-after': '45' },
    });
    // 40 s left: 10 s are kept for the table, so a 45 s wait cannot fit.
    const context = { getRemainingTimeInMillis: () => 40_000 } as Context;
    await failure(
      handler()(undefined, context),
      'fetch-failed',
      /answered 429; no time left to retry in 45000 ms/,
    );
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(sleeps, []);
  });

  it('an empty list', async () => {
    const before = await seedTable();
    catchpoint.data.v2Nodes = [];
    catchpoint.data.enterprise = [];
    await failure(handler()(), 'no-nodes', /returned no usable node/);
    assert.deepEqual(await snapshot(), before);
  });

  it('a v1 token that stays expired', async () => {
    const before = await seedTable();
    ssmStandIn.parameters.set(PARAMETER, { value: V1_SECRET });
    catchpoint.data.v1Items = makeV1Items(250);
    catchpoint.addFault({
      path: '/ui/api/v1/nodes',
      status: 401,
      body: { Message: StandInMessages.expired },
      times: Infinity,
    });
    await failure(handler()(), 'fetch-failed', /freshly issued token was "Expired token"/);
    assert.deepEqual(await snapshot(), before);
  });

  it('refused v1 client credentials', async () => {
    const before = await seedTable();
    ssmStandIn.parameters.set(PARAMETER, {
      value: JSON.stringify({ clientId: STAND_IN_CLIENT_ID, clientSecret: 'stale-secret' }),
    });
    await failure(
      handler()(),
      'fetch-failed',
      /refused the client id and secret.*Invalid client credentials\./,
    );
    assert.deepEqual(await snapshot(), before);
    assert.ok(!JSON.stringify(logs).includes('stale-secret'));
  });

  it('a missing SSM parameter', async () => {
    const before = await seedTable();
    ssmStandIn.parameters.clear();
    await failure(handler()(), 'credentials-failed', /could not read the SSM parameter .*ParameterNotFound/);
    assert.deepEqual(await snapshot(), before);
  });

  it('a malformed SSM parameter, without quoting it', async () => {
    const before = await seedTable();
    ssmStandIn.parameters.set(PARAMETER, { value: '{"apiKey": "half-pasted-secret' });
    await failure(handler()(), 'credentials-failed', /is not JSON/);
    assert.deepEqual(await snapshot(), before);
    assert.ok(!JSON.stringify(logs).includes('half-pasted-secret'));
  });
});

describe('refresh handler, the node count it holds an answer against', () => {
  it('is kept in a state item that no reader of nodes sees', async () => {
    await handler()();
    const items = (await dynamo.client.send(new ScanCommand({ TableName: table.tableName }))).Items ?? [];
    assert.equal(items.length, 5);
    assert.deepEqual(
      items.find((item) => item.nodeId?.N === String(REFRESH_STATE_KEY)),
      {
        nodeId: { N: '-1' },
        item: { S: 'node refresh state' },
        updatedAt: { S: '2026-11-25T12:00:00.000Z' },
        nodeCounts: { L: [{ M: { seenAt: { S: '2026-11-25T12:00:00.000Z' }, count: { N: '4' } } }] },
      },
    );
    assert.deepEqual(
      (await table.scanAll()).map((r) => r.nodeId).sort((a, b) => a - b),
      [77, 80, 81, 9001],
    );
    assert.equal(await table.get(REFRESH_STATE_KEY), undefined);
    // The push path's cache, over the same table.
    const cacheLog = captureLog();
    const cache = new NodeCache(table, { ttlMs: 60_000, waitMs: 5000, log: cacheLog, now: () => nowMs });
    assert.equal((await cache.get(77))?.name, 'Osaka, JP - KDDI');
    assert.deepEqual(cacheLog.entries.find((e) => e.message === 'node table loaded')?.attributes, {
      nodes: 4,
    });
    assert.equal(await cache.get(REFRESH_STATE_KEY), undefined);
  });

  it('1000, 600, then 400 nodes: the third is refused, though only 600 of the table are still live', async () => {
    // Records last a day here, so that the nodes the second answer left out have expired by the third
    // run: the old rule ("half of the live records") would have let 400 through.
    const refresh = handler({}, { nodeTtlDays: 1 });
    catchpoint.data.enterprise = [];
    catchpoint.data.v2Nodes = makeV2Nodes(1000);
    assert.equal((await refresh()).written, 1000);
    nowMs += 12 * HOUR;
    catchpoint.data.v2Nodes = makeV2Nodes(600);
    assert.equal((await refresh()).peak, 1000);
    nowMs += 13 * HOUR;
    catchpoint.data.v2Nodes = makeV2Nodes(400);
    const before = await snapshot();
    clearObservations();
    await failure(
      refresh(),
      'too-few-nodes',
      /returned 400 usable nodes but an answer of 1000 on 2026-11-25T12:00:00.000Z is the most in the last 7 days/,
    );
    const failed = logs.find((l) => l.message === 'node refresh failed');
    assert.equal(failed?.attributes.tableBefore, 600);
    assert.equal(failed?.attributes.peak, 1000);
    assert.equal(failed?.attributes.stamped, 400);
    // Only the stamps of the 400 it lists moved.
    assert.deepEqual(
      await snapshot(),
      before.map((r) => (r.nodeId < 1400 ? { ...r, ...stampedAt(nowMs, 1) } : r)),
    );
  });

  it('a suspiciously short list: refused, it re-stamps the nodes it lists and nothing else', async () => {
    const before = await seedTable();
    catchpoint.data.v2Nodes = makeV2Nodes(100);
    catchpoint.data.enterprise = [];
    await failure(
      handler()(),
      'too-few-nodes',
      /returned 100 usable nodes but an answer of 251 on 2026-11-25T11:00:00.000Z is the most in the last 7 days \(fewer than 50%\): suspecting a partial answer, the 100 known nodes it lists were re-stamped to stay live; nothing was added, changed or remembered$/,
    );
    assert.deepEqual(
      await snapshot(),
      before.map((r) => (r.nodeId >= 1000 && r.nodeId < 1100 ? { ...r, ...stampedAt(nowMs) } : r)),
    );
    const failed = logs.find((l) => l.message === 'node refresh failed');
    assert.equal(failed?.attributes.stamped, 100);
    assert.deepEqual(metrics.values, [
      ['NodesWritten', 100],
      ['RefreshFailures', 1],
    ]);
    const state = await dynamo.client.send(
      new GetItemCommand({ TableName: table.tableName, Key: { nodeId: { N: String(REFRESH_STATE_KEY) } } }),
    );
    assert.equal(state.Item?.nodeCounts?.L?.length, 1, 'the refused count is not remembered');
  });

  it('forgets the peak a week after it was seen', async () => {
    const refresh = handler();
    catchpoint.data.enterprise = [];
    catchpoint.data.v2Nodes = makeV2Nodes(1000);
    await refresh();
    nowMs += 24 * HOUR;
    catchpoint.data.v2Nodes = makeV2Nodes(600);
    await refresh();
    catchpoint.data.v2Nodes = makeV2Nodes(400);
    nowMs += 6 * 24 * HOUR - 60_000;
    clearObservations();
    await failure(refresh(), 'too-few-nodes', /an answer of 1000 on/);
    nowMs += 2 * 60_000;
    const result = await refresh();
    assert.equal(result.peak, 600);
    assert.equal(result.written, 400);
  });
});

describe('refresh handler, a genuine shrink of the node list (1,000 nodes, then 400)', () => {
  const DAY = 24 * HOUR;
  const KEPT = [1000, 1200, 1399];
  const DROPPED = [1400, 1999];
  // A push names its node as Catchpoint does.
  const push = (nodeId: number): TestResult => emptyPushFromV1Node(nodeId);

  for (const ttlDays of [DEFAULT_NODE_TTL_DAYS, 3]) {
    it(`NODE_TTL_DAYS=${ttlDays}: the 400 keep their tags through the guard's week and a two-day outage after it`, async () => {
      // API v1: each node has a region and an ISP of its own, which no payload gives.
      ssmStandIn.parameters.set(PARAMETER, { value: V1_SECRET });
      const refresh = handler({}, { nodeTtlDays: ttlDays });
      // The push path's cache over the same table, on the same clock as the refresh.
      const cache = new NodeCache(table, {
        ttlMs: 60_000,
        waitMs: 5000,
        log: captureLog(),
        now: () => nowMs,
      });
      const start = nowMs;
      catchpoint.data.v1Items = makeV1Items(1000);
      assert.equal((await refresh()).written, 1000);
      const tags = new Map<number, ReturnType<typeof nodeDimensions>>();
      for (const id of KEPT) tags.set(id, nodeDimensions(push(id), await cache.get(id)));
      for (const id of KEPT) assert.match(tags.get(id)!.region, /^Region/);
      const droppedExpiry = start / 1000 + ttlDays * 86_400;

      const check = async (when: string) => {
        for (const id of KEPT) {
          const record = await cache.get(id);
          assert.ok(record, `${when}: node ${id} has expired`);
          assert.deepEqual(nodeDimensions(push(id), record), tags.get(id), when);
        }
        for (const id of DROPPED) {
          const record = (await table.get(id))!;
          assert.equal(record.expiresAt, droppedExpiry, `${when}: node ${id} was re-stamped`);
          assert.equal(
            (await cache.get(id)) !== undefined,
            nowMs < droppedExpiry * 1000,
            `${when}: node ${id}`,
          );
        }
      };

      // Every run of the guard's week gets the 400 and refuses them, held against the 1000.
      catchpoint.data.v1Items = makeV1Items(400);
      const refusals: unknown[] = [];
      for (nowMs = start + 12 * HOUR; nowMs < start + 7 * DAY; nowMs += 12 * HOUR) {
        clearObservations();
        await failure(refresh(), 'too-few-nodes', /returned 400 usable nodes but an answer of 1000 on/);
        await check(`${(nowMs - start) / HOUR} h after the 1000, refused`);
        const { stamped } = logs.find((l) => l.message === 'node refresh failed')!.attributes;
        refusals.push([stamped, ...metrics.values]);
      }

      // Right after the window, Catchpoint is down for two days (a 503 asking for an hour: no retry): the
      // runs at 7, 7.5, 8 and 8.5 days fail.
      const outageRuns = 4;
      catchpoint.addFault({
        path: '/ui/api/v1/nodes',
        status: 503,
        headers: { 'retry-after': '3600' },
        times: outageRuns,
      });
      for (let i = 0; i < outageRuns; i++, nowMs += 12 * HOUR) {
        clearObservations();
        await failure(refresh(), 'fetch-failed', /answered 503/);
        await check(`${(nowMs - start) / HOUR} h after the 1000, in the outage`);
      }
      // Each refused run said what it re-stamped, in its log line and its metrics.
      assert.deepEqual(refusals, Array(13).fill([400, ['NodesWritten', 400], ['RefreshFailures', 1]]));

      // Back, 9 days on: the 1000 is past the week, the 400 are what the table holds live: accepted.
      const accepted = await refresh();
      assert.deepEqual([accepted.peak, accepted.written, accepted.unchanged], [400, 400, 400]);
      await check('accepted');
    });
  }
});

describe('refresh handler, answers and services that do not end', () => {
  let proxy: DynamoProxy;
  beforeEach(async () => {
    proxy = await startDynamoProxy(dynamo.endpoint);
  });
  afterEach(async () => {
    await proxy.close();
  });

  /** The table through the proxy, with the timeouts the refresh entry gives its client. */
  const proxiedTable = () => new NodeTable(localDynamoClient(proxy.url, 5000), table.tableName);
  /** A Lambda with 3 s left: the run must end, reason logged, before then (not 2 × 5 s later). */
  const shortContext = () => lambdaContext('refresh', 3000);

  it('a Catchpoint answer past the size cap', async () => {
    const before = await seedTable();
    ssmStandIn.parameters.set(PARAMETER, { value: V1_SECRET });
    const item = JSON.stringify(makeV1Items(1)[0]);
    const count = Math.ceil(HTTP_DEFAULTS.maxBodyBytes / item.length);
    catchpoint.addFault({
      path: '/ui/api/v1/nodes',
      status: 200,
      body: `{"items":[${Array.from({ length: count }, () => item).join(',')}]}`,
      chunked: true,
    });
    // A generous timeout: the cap, not the time 16 MiB takes on a loaded machine, is under test.
    await failure(
      handler({ timeoutMs: 60_000 })(),
      'fetch-failed',
      new RegExp(
        `GET /ui/api/v1/nodes answered 200 with a body past the ${HTTP_DEFAULTS.maxBodyBytes} bytes`,
      ),
    );
    assert.deepEqual(await snapshot(), before);
  });

  it('an SSM that never answers', async () => {
    const before = await seedTable();
    ssmStandIn.silent = true;
    // The stand-in's client has no timeout of its own: only the run's deadline ends the wait.
    // Under 3 s the reserve is a tenth of the time left, a fraction of a ms: the message rounds it.
    await failure(
      handler()(undefined, lambdaContext('refresh', 2999)),
      'credentials-failed',
      /could not read the SSM parameter .* \(out of time: the run stops 300 ms before the Lambda's timeout\)/,
    );
    assert.deepEqual(await snapshot(), before);
  });

  it('a DynamoDB that never answers the scan', async () => {
    const before = await seedTable();
    proxy.silent.add('Scan');
    await failure(
      handler({}, { store: proxiedTable() })(undefined, shortContext()),
      'table-read-failed',
      /could not read the nodes table, nothing was written: out of time/,
    );
    assert.deepEqual(await snapshot(), before);
    assert.equal(catchpoint.requests.at(-1)?.path, '/api/v2/nodes', 'the whole list was fetched first');
  });

  it('a DynamoDB that never answers the writes', async () => {
    const before = await seedTable();
    proxy.silent.add('BatchWriteItem');
    await failure(
      handler({}, { store: proxiedTable() })(undefined, shortContext()),
      'write-failed',
      /writing 251 nodes to the table failed: out of time/,
    );
    assert.deepEqual(proxy.operations, ['Scan', 'BatchWriteItem']);
    assert.deepEqual(await snapshot(), before);
  });
});
