// The scheduled gap repair as its entry builds it (configuration from an environment, SSM credentials, the
// core's raw-data client, a real nodes table and spool in dynalite), against the Catchpoint stand-in; then
// the replay delivers what it spooled to the OpenTSDB stand-in.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  createNodesTable,
  createSpoolTable,
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../dev/embedded-dynamo.js';
import { fixture } from '../../dev/fixtures.js';
import { lambdaContext } from '../../dev/lambda-shim.js';
import { type OpenTsdbStandIn, startOpenTsdbStandIn } from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import { loadCredentials } from '../../lambda/aws/ssm-credentials.js';
import { catchpointFailedRuns } from '../../lambda/backfill/failed-run-source.js';
import {
  createGapRepairHandler,
  GAP_REPAIR_FAILED,
  type GapRepairHandler,
} from '../../lambda/backfill/gap-repair-handler.js';
import { readGapRepairConfig } from '../../lambda/config.js';
import { toDatapoints } from '../../lambda/metrics/datapoints.js';
import { nodeDimensions } from '../../lambda/metrics/node-dimensions.js';
import { NodeTable } from '../../lambda/nodes/node-table.js';
import { normaliseNodeList, recordStamp } from '../../lambda/nodes/normalise-node.js';
import { datapointSerializer } from '../../lambda/opentsdb/datapoint.js';
import { OpenTsdbWriter } from '../../lambda/opentsdb/writer.js';
import type { MetricsRecorder } from '../../lambda/shared/observability.js';
import { DynamoSpool } from '../../lambda/spool/dynamo-spool.js';
import { createReplayHandler } from '../../lambda/spool/replay-handler.js';
import { decodePoints } from '../../lambda/spool/spooled-run.js';
import { parsePush } from '../../lambda/webhook/parse-push.js';
import { resetBreaker } from '../support/breaker.js';
import { CapturingLogger } from '../support/capturing-logger.js';
import {
  type CatchpointStandIn,
  fixtureNodes,
  STAND_IN_API_KEY,
  type StandInRun,
  startCatchpointStandIn,
} from '../support/catchpoint-stand-in.js';
import { type SsmStandIn, startSsmStandIn } from '../support/ssm-stand-in.js';

const PARAMETER = '/catchpoint-bridge/credentials';
const NODES = 'gap-repair-nodes';

/**
 * The test's clock: the schedule fires at 14:00 UTC on the day of the v4 ping fixture's run (12:20:01), so the
 * window (75 minutes, ending 75 minutes before) is [11:30, 12:45). The Catchpoint client paces its requests
 * and the spool bounds its calls by the real clock, as the functions do whatever clock they are given.
 */
const SCHEDULED_AT = Date.parse('2026-11-24T14:00:00Z');
const HOUR = 3_600_000;

const RAW_METRICS = [
  'Response (ms)',
  'DNS (ms)',
  'Connect (ms)',
  '% Ping Packet Loss',
  'Ping Round Trip (ms)',
  '% Availability',
  'Speed Index',
];

/** The v4 ping fixture's run as the raw endpoint serves it: its webhook delivery failed. */
const PING_RUN: StandInRun = {
  testId: 90004,
  nodeId: 80,
  nodeName: 'Sydney, AU - Telstra',
  dateTime: '2026-11-24T12:20:01.002',
  values: {
    'Response (ms)': 182,
    '% Ping Packet Loss': 25,
    'Ping Round Trip (ms)': 181.5,
    '% Availability': 100,
  },
  pushFailed: true,
};

const RUNS: StandInRun[] = [
  PING_RUN,
  // A failed web run whose delivery failed too, with a metric no rule maps.
  {
    testId: 90001,
    nodeId: 77,
    nodeName: 'Tokyo, JP - NTT',
    dateTime: '2026-11-24T11:45:00',
    values: { 'Response (ms)': 30_000, 'DNS (ms)': 12, '% Availability': 0, 'Speed Index': 1234 },
    failed: true,
    pushFailed: true,
  },
  // A node the nodes table does not know: tagged from its name, as a push would be.
  {
    testId: 90001,
    nodeId: 4242,
    nodeName: 'Lima, PE - Claro',
    dateTime: '2026-11-24T12:05:00',
    values: { 'Response (ms)': 95, 'Connect (ms)': 7, '% Availability': 100 },
    pushFailed: true,
  },
  // Delivered by the webhook: not asked for.
  {
    testId: 90001,
    nodeId: 77,
    nodeName: 'Tokyo, JP - NTT',
    dateTime: '2026-11-24T12:10:00',
    values: { 'Response (ms)': 80, '% Availability': 100 },
  },
  // Failed delivery, but before the window: the previous period's.
  {
    testId: 90001,
    nodeId: 77,
    nodeName: 'Tokyo, JP - NTT',
    dateTime: '2026-11-24T11:29:59',
    values: { 'Response (ms)': 81, '% Availability': 100 },
    pushFailed: true,
  },
];

function recorder(): MetricsRecorder & { values: Map<string, number> } {
  return {
    values: new Map(),
    addMetric(name, _unit, value) {
      this.values.set(name, (this.values.get(name) ?? 0) + value);
    },
    publishStoredMetrics() {},
  };
}

let dynamo: EmbeddedDynamo;
let catchpoint: CatchpointStandIn;
let ssm: SsmStandIn;
let tsdb: OpenTsdbStandIn;
let spool: DynamoSpool;
let metrics: ReturnType<typeof recorder>;
let logger: CapturingLogger;
let table = 0;

before(async () => {
  dynamo = await startEmbeddedDynamo();
  await createNodesTable(dynamo.client, NODES);
  // The nodes table as the refresh writes it, valid at the test's time.
  const nodes = fixtureNodes();
  const { records } = normaliseNodeList(
    { version: 'v2', nodes: nodes.v2Nodes, enterprise: nodes.enterprise },
    recordStamp(SCHEDULED_AT, 7),
  );
  await new NodeTable(dynamo.client, NODES).putMany(records);
  ssm = await startSsmStandIn({ [PARAMETER]: { value: JSON.stringify({ apiKey: STAND_IN_API_KEY }) } });
  tsdb = await startOpenTsdbStandIn();
  catchpoint = await startCatchpointStandIn({
    rawMetrics: RAW_METRICS,
    rawRuns: RUNS,
    tests: [90001, 90004],
  });
});
after(async () => {
  await catchpoint.close();
  await ssm.close();
  await tsdb.close();
  await dynamo.close();
});
beforeEach(async () => {
  const name = `gap-repair-spool-${++table}`;
  await createSpoolTable(dynamo.client, name);
  spool = new DynamoSpool(dynamo.client, name);
  metrics = recorder();
  logger = new CapturingLogger({ serviceName: 'backfill' });
  tsdb.reset();
  resetBreaker(tsdb.url);
  catchpoint.requests.length = 0;
  catchpoint.data.rawRuns = RUNS;
});

function gapRepair(env: Record<string, string> = {}): GapRepairHandler {
  const config = readGapRepairConfig({
    NODES_TABLE: NODES,
    SPOOL_TABLE: spool.tableName,
    CATCHPOINT_CREDENTIALS_PARAMETER: PARAMETER,
    CATCHPOINT_API_URL: catchpoint.url,
    ...env,
  });
  const client = ssm.client();
  return createGapRepairHandler({
    config,
    connect: async (signal, deadline) =>
      catchpointFailedRuns(await loadCredentials(client, PARAMETER, signal), {
        baseUrl: config.catchpointApiUrl,
        deadline,
        // Retries without the production backoff's seconds.
        backoffBaseMs: 1,
        maxBackoffMs: 5,
      }),
    nodes: new NodeTable(dynamo.client, NODES),
    spool,
    logger,
    metrics,
    now: () => SCHEDULED_AT,
  });
}

const scheduled = (atMs: number) =>
  ({
    time: new Date(atMs).toISOString(),
    'detail-type': 'Scheduled Event',
  }) as unknown as Parameters<GapRepairHandler>[0];

/** Every spooled run: run key → its points, serialised as OpenTSDB receives them. */
async function spooled(): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const serialize = datapointSerializer();
  for (const shard of spool.shards) {
    for (let after: string | undefined, more = true; more; ) {
      const page = await spool.readPage(shard, after, 100);
      for (const run of page.runs) {
        assert.ok(!out.has(run.runKey), `${run.runKey} spooled once`);
        out.set(
          run.runKey,
          decodePoints(run.body).points.map((p) => serialize(p)),
        );
      }
      after = page.next;
      more = page.next !== undefined;
    }
  }
  return out;
}

describe('scheduled gap repair', () => {
  it("spools each failed delivery of the window as the push path's datapoints; replay delivers them", async () => {
    const result = await gapRepair()(scheduled(SCHEDULED_AT), lambdaContext('backfill', 600_000));
    assert.equal(result.from, '2026-11-24T11:30:00.000Z');
    assert.equal(result.to, '2026-11-24T12:45:00.000Z');
    assert.equal(result.tests, 2);
    assert.equal(result.runsSpooled, 3);
    assert.equal(result.unknownNodes, 1);
    assert.deepEqual(result.unmappedMetricNames, { 'Speed Index': 1 });

    const runs = await spooled();
    assert.deepEqual([...runs.keys()].sort(), [
      '90001:4242:1795521900',
      '90001:77:1795520700',
      '90004:80:1795522801',
    ]);

    // The ping run gives exactly what the webhook's push of it gives: same names, tags, timestamp, bytes.
    const push = parsePush(fixture('push/v4-ping.json'), SCHEDULED_AT);
    const node80 = (await new NodeTable(dynamo.client, NODES).get(80))!;
    const serialize = datapointSerializer();
    const pushed = toDatapoints(
      push,
      nodeDimensions(push, node80),
      readGapRepairConfig({
        NODES_TABLE: NODES,
        SPOOL_TABLE: spool.tableName,
        CATCHPOINT_CREDENTIALS_PARAMETER: PARAMETER,
      }).metrics,
      Math.floor(SCHEDULED_AT / 1000),
    ).map((p) => serialize(p));
    assert.deepEqual([...runs.get('90004:80:1795522801')!].sort(), pushed.sort());

    // The unknown node is tagged from its name; the failed run says so.
    const lima = runs.get('90001:4242:1795521900')!.join('\n');
    assert.match(lima, /"city":"Lima"/);
    assert.match(lima, /"isp":"Claro"/);
    assert.match(runs.get('90001:77:1795520700')!.join('\n'), /"status":"error"/);

    // One list request, one raw request for both tests, only failed deliveries, the window in UTC.
    const paths = catchpoint.requests.map((r) => r.path);
    assert.deepEqual(paths, ['/api/v2/tests', '/api/v2/tests/explorer/raw']);
    const raw = catchpoint.requests[1]!.query;
    assert.equal(raw.get('availabilityFilter'), '8');
    assert.equal(raw.get('testIds'), '90001,90004');
    assert.equal(raw.get('startTimeUtc'), '2026-11-24T11:30:00');
    assert.equal(result.catchpointRequests, 2);
    assert.equal(metrics.values.get('RunsBackfilled'), 3);
    assert.equal(metrics.values.get('UnmappedMetricNames'), 1);

    // Replay (inside the VPC) delivers them to OpenTSDB.
    const replayMetrics = recorder();
    const replay = createReplayHandler({
      spool,
      sink: new OpenTsdbWriter(tsdb.url, { timeoutMs: 2000, log: logger }),
      logger,
      metrics: replayMetrics,
      now: () => SCHEDULED_AT,
    });
    const replayed = await replay(undefined, lambdaContext('replay', 50_000));
    assert.equal(replayed.replayed, 3);
    const total = [...runs.values()].reduce((n, points) => n + points.length, 0);
    assert.equal(tsdb.points.length, total);
    assert.equal(replayMetrics.values.get('DatapointsRejected') ?? 0, 0);
    assert.deepEqual(tsdb.violations, []);

    // The next period asks for the next window: nothing new. A retry of this one (same scheduled time)
    // spools the same runs again, and replay writes the same bytes: OpenTSDB stores nothing different.
    const next = await gapRepair()(scheduled(SCHEDULED_AT + HOUR), lambdaContext('backfill', 600_000));
    assert.equal(next.from, '2026-11-24T12:30:00.000Z');
    assert.equal(next.runsSpooled, 0);
    assert.deepEqual([...(await spooled()).keys()], []);
    const retry = await gapRepair()(scheduled(SCHEDULED_AT), lambdaContext('backfill', 600_000));
    assert.equal(retry.runsSpooled, 3);
    assert.deepEqual(await spooled(), runs);
    await replay(undefined, lambdaContext('replay', 50_000));
    assert.equal(tsdb.points.length, total);
    assert.equal(tsdb.duplicates, total);
    assert.deepEqual(tsdb.violations, []);
  });

  it('spools a run Catchpoint lists twice in one answer once, and counts the repeat as skipped', async () => {
    catchpoint.data.rawRuns = [...RUNS, PING_RUN];
    const result = await gapRepair()(scheduled(SCHEDULED_AT), lambdaContext('backfill', 600_000));
    assert.equal(result.runsSpooled, 3);
    assert.equal((await spooled()).size, 3);
  });

  for (const [what, fault, message] of [
    [
      'a 429 whose reset is further away than the run can wait',
      { status: 429, times: 1, headers: { 'X-Rate-Limit-Remaining': '0', 'X-Rate-Limit-Reset': '3600' } },
      /429/,
    ],
    // Every attempt of the request (the first and its three retries) answered 500.
    ['a 500 after its retries', { status: 500, times: 4 }, /500/],
  ] as const) {
    it(`fails the invocation clearly on ${what}, counts it and spools nothing`, async () => {
      catchpoint.addFault({ path: '/api/v2/tests/explorer/raw', ...fault });
      await assert.rejects(
        gapRepair()(scheduled(SCHEDULED_AT), lambdaContext('backfill', 600_000)),
        (error: Error) =>
          /could not read the failed deliveries/.test(error.message) && message.test(error.message),
      );
      assert.equal(metrics.values.get('BackfillFailures'), 1);
      assert.equal((await spooled()).size, 0);
      const line = logger.records().find((e) => e.message === GAP_REPAIR_FAILED);
      assert.ok(line, 'a failure line');
      assert.equal(line.level, 'ERROR');
    });
  }

  it('fails on credentials Catchpoint refuses, never logging the key, and reads them again next time', async () => {
    const parameter = ssm.parameters.get(PARAMETER)!;
    ssm.parameters.set(PARAMETER, {
      ...parameter,
      value: JSON.stringify({ apiKey: 'wrong-key-0123456789' }),
    });
    const handler = gapRepair();
    const reads = () => ssm.requests.filter((r) => r.body.Name === PARAMETER).length;
    const before = reads();
    await assert.rejects(
      handler(scheduled(SCHEDULED_AT), lambdaContext('backfill', 600_000)),
      /refused the API key/,
    );
    assert.equal(metrics.values.get('BackfillFailures'), 1);
    assert.equal((await spooled()).size, 0);
    assert.doesNotMatch(logger.lines.join('\n'), /wrong-key|test-api-key/);
    // Rotated in SSM: the next run reads the parameter again and succeeds.
    ssm.parameters.set(PARAMETER, parameter);
    const result = await handler(scheduled(SCHEDULED_AT), lambdaContext('backfill', 600_000));
    assert.equal(result.runsSpooled, 3);
    assert.equal(reads(), before + 2);
  });
});
