import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { localDynamoClient } from '../../dev/embedded-dynamo.js';
import { pushFixture, pushFixtureNames } from '../../dev/fixtures.js';
import { httpApiEvent, lambdaContext } from '../../dev/lambda-shim.js';
import type { LocalBridge } from '../../dev/local-bridge.js';
import { type SilentServer, startSilentServer } from '../../dev/loopback.js';
import {
  type OpenTsdbFault,
  OpenTsdbMessages,
  type OpenTsdbStandIn,
  startOpenTsdbStandIn,
} from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import { readPushConfig } from '../../lambda/config.js';
import { isBridgeMetricName } from '../../lambda/metrics/metric-names.js';
import { circuitBreakerFor } from '../../lambda/opentsdb/circuit-breaker.js';
import { createPushHandler } from '../../lambda/push/push-handler.js';
import { PUSH_TIMEOUT_SECONDS } from '../../lambda/push/push-limits.js';
import { sha256Hex } from '../../lambda/push/push-token.js';
import { resetBreaker, untilProbeDue } from '../support/breaker.js';
import { type BridgeWithStandIn, startBridgeWithStandIn } from '../support/bridge-with-stand-in.js';
import { CapturingLogger } from '../support/capturing-logger.js';
import { push } from '../support/push-client.js';

const TOKEN = 'outage-test-token';

/** Datapoints per fixture with the fixture node list (as in push-path.test.ts). */
const EXPECTED_COUNTS: Record<string, number> = {
  'template-web-ok.json': 20,
  'v3-dns-error-code.json': 8,
  'v3-dns-ok.json': 15,
  'v4-ping.json': 17,
  'v4-traceroute.json': 18,
  'v4-web-failed.json': 33,
};

/** A fixture run with its own test id, so that each push writes series of its own. */
function runOf(name: string, testId: number): string {
  const doc = JSON.parse(pushFixture(name)) as Record<string, unknown>;
  const holder = (doc.TestId === undefined ? doc.TestDetails : doc) as Record<string, unknown>;
  holder.TestId = typeof holder.TestId === 'string' ? String(testId) : testId;
  return JSON.stringify(doc);
}

const putsTo = (tsdb: OpenTsdbStandIn) => tsdb.requests.filter((r) => r.path.startsWith('/api/put')).length;

/** Every way OpenTSDB fails that the bridge must survive; `refused` is connection refused. */
const OUTAGES: Array<OpenTsdbFault | 'refused'> = [
  'refused',
  'down',
  'hang',
  '500',
  'empty-200',
  'html-200',
  'miscount',
  'unknown-reason',
  'storage',
  'stall',
  'throttle',
  'chunked',
];

/** What the stand-in answers points with on purpose: not a writer's fault. */
const INJECTED = new Set<string>([
  OpenTsdbMessages.throttle,
  OpenTsdbMessages.storage,
  OpenTsdbMessages.writeTimedOut,
  OpenTsdbMessages.unseenException,
]);

describe('push path through OpenTSDB outages: local bridge, spool and replay, strict OpenTSDB stand-in', () => {
  let setup: BridgeWithStandIn;
  let tsdb: OpenTsdbStandIn;
  let bridge: LocalBridge;

  before(async () => {
    // A hanging OpenTSDB costs the push that meets it this long; the rest of the budget is generous.
    setup = await startBridgeWithStandIn(TOKEN, { OPENTSDB_TIMEOUT_MS: '1500', WRITE_BUDGET_MS: '8000' });
    ({ tsdb, bridge } = setup);
  });
  after(() => setup.close());
  beforeEach(async () => {
    await tsdb.acceptConnections();
    tsdb.fault = 'none';
    resetBreaker(tsdb.url);
    await bridge.replayNow();
    tsdb.reset();
  });

  /** Replays as the schedule would, until OpenTSDB holds `expected` points (or it gives up); rejected count. */
  async function replayUntil(expected: number): Promise<number> {
    let rejected = 0;
    for (let round = 0; round < 30 && tsdb.points.length < expected; round++) {
      await untilProbeDue(tsdb.url);
      rejected += (await bridge.replayNow())?.rejected ?? 0;
    }
    return rejected;
  }

  it('with OpenTSDB failing in each way, every run answered 200 is in OpenTSDB after recovery, once per series and timestamp, nothing rejected', async () => {
    let expected = 0;
    const testIds = new Set<string>();
    for (const [m, outage] of OUTAGES.entries()) {
      // Each outage starts as after a recovery: the breaker closed, so the first push meets the failure.
      resetBreaker(tsdb.url);
      const requestsBefore = tsdb.requests.length;
      if (outage === 'refused') await tsdb.refuseConnections();
      else tsdb.fault = outage;
      for (const [f, name] of pushFixtureNames().entries()) {
        const testId = 700_000 + m * 10 + f;
        const reply = await push(bridge.url, runOf(name, testId), TOKEN);
        assert.equal(reply.status, 200, `${outage}, ${name}: ${JSON.stringify(reply.body)}`);
        assert.equal(reply.body.rejected, undefined, `${outage}, ${name}: nothing rejected`);
        assert.equal(
          Number(reply.body.datapoints ?? 0) + Number(reply.body.spooled ?? 0),
          EXPECTED_COUNTS[name],
          `${outage}, ${name}: every point written or spooled`,
        );
        expected += EXPECTED_COUNTS[name]!;
        testIds.add(String(testId));
      }
      if (outage !== 'refused') {
        const met = tsdb.requests.slice(requestsBefore).filter((r) => r.fault === outage);
        assert.ok(met.length > 0, `${outage}: the pushes met the failure`);
      }
      await tsdb.acceptConnections();
      tsdb.fault = 'none';
    }

    const rejected = await replayUntil(expected);
    assert.equal(rejected, 0, 'replay rejected nothing');
    assert.equal(tsdb.points.length, expected, 'every point of every run answered 200 is stored');
    for (const [series, points] of tsdb.series()) assert.equal(points.length, 1, `${series} stored once`);
    assert.deepEqual(new Set(tsdb.points.map((p) => p.tags.testid)), testIds);
    assert.deepEqual(tsdb.violations, []);
    const refusals = tsdb.rejected.filter(
      (r) => !r.error.startsWith('Unknown metric') && !INJECTED.has(r.error),
    );
    assert.deepEqual(refusals, [], 'OpenTSDB refused nothing but what the faults injected');
  });

  it('once OpenTSDB has failed, the pushes that follow are spooled without asking it, but for one probe at a time', async () => {
    tsdb.fault = 'hang';
    const first = await push(bridge.url, runOf('v4-ping.json', 800_000), TOKEN);
    assert.equal(first.status, 200);
    assert.equal(first.body.spooled, EXPECTED_COUNTS['v4-ping.json']);
    assert.equal(circuitBreakerFor(tsdb.url).state, 'open');
    const asked = putsTo(tsdb);
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) => push(bridge.url, runOf('v4-traceroute.json', 800_001 + i), TOKEN)),
    );
    for (const reply of replies) {
      assert.equal(reply.status, 200);
      assert.equal(reply.body.spooled, EXPECTED_COUNTS['v4-traceroute.json']);
    }
    // Without the breaker each of them would have waited for OpenTSDB; with it, at most a probe did.
    assert.ok(putsTo(tsdb) - asked <= 1, `${putsTo(tsdb) - asked} of 12 pushes asked OpenTSDB`);

    tsdb.fault = 'none';
    await replayUntil(EXPECTED_COUNTS['v4-ping.json']! + 12 * EXPECTED_COUNTS['v4-traceroute.json']!);
    assert.equal(
      tsdb.points.length,
      EXPECTED_COUNTS['v4-ping.json']! + 12 * EXPECTED_COUNTS['v4-traceroute.json']!,
    );
    // Replay writes through a breaker of its own: the push path's closes at its next probe, which succeeds.
    await untilProbeDue(tsdb.url);
    const next = await push(bridge.url, runOf('v4-ping.json', 800_100), TOKEN);
    assert.deepEqual(next.body, { datapoints: EXPECTED_COUNTS['v4-ping.json'] });
    assert.equal(circuitBreakerFor(tsdb.url).state, 'closed', 'the first success closed the breaker');
  });

  it('puts with details, sync and a sync_timeout within the request timeout', async () => {
    const reply = await push(bridge.url, pushFixture('v3-dns-ok.json'), TOKEN);
    assert.deepEqual(reply.body, { datapoints: EXPECTED_COUNTS['v3-dns-ok.json'] });
    const puts = tsdb.requests.filter((r) => r.path.startsWith('/api/put'));
    assert.ok(puts.length > 0);
    for (const put of puts) {
      assert.equal(put.flags.details, true);
      assert.equal(put.flags.sync, true);
      const syncTimeout = Number(put.flags.syncTimeout);
      assert.ok(syncTimeout > 0 && syncTimeout < 1500, `sync_timeout ${syncTimeout}`);
    }
  });
});

describe('push path with OPENTSDB_SYNC=false: what it risks', () => {
  let setup: BridgeWithStandIn;
  before(async () => {
    setup = await startBridgeWithStandIn(TOKEN, { OPENTSDB_SYNC: 'false' });
  });
  after(() => setup.close());

  it('an HBase failure is answered 200 "written", and the points are lost: only the TSD log knows', async () => {
    const { tsdb, bridge } = setup;
    // The metric names exist already: only the storage fails.
    assert.equal((await push(bridge.url, runOf('v4-ping.json', 900_000), TOKEN)).status, 200);
    tsdb.reset();
    tsdb.fault = 'storage';
    const reply = await push(bridge.url, runOf('v4-ping.json', 900_001), TOKEN);
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, { datapoints: EXPECTED_COUNTS['v4-ping.json'] });
    assert.equal(tsdb.points.length, 0);
    assert.equal(tsdb.lost.length, EXPECTED_COUNTS['v4-ping.json']);
    assert.ok(tsdb.requests.every((r) => !r.flags.sync && r.flags.syncTimeout === null));
  });
});

describe('push path: the metric names OpenTSDB is asked to register', () => {
  let setup: BridgeWithStandIn;
  before(async () => {
    setup = await startBridgeWithStandIn(TOKEN, {
      METRIC_NAMING: 'per-test',
      METRIC_SETS: 'timing,ping,traceroute,bytes,counters',
    });
  });
  after(() => setup.close());

  it('are only the names the bridge defines, in per-test naming too', async () => {
    const { tsdb, bridge } = setup;
    for (const name of pushFixtureNames()) {
      const reply = await push(bridge.url, pushFixture(name), TOKEN);
      assert.equal(reply.status, 200, name);
      assert.equal(reply.body.rejected, undefined, name);
    }
    assert.ok(tsdb.requests.some((r) => r.path === '/api/uid/assign'));
    assert.ok(tsdb.knownMetrics.size > 30);
    for (const metric of tsdb.knownMetrics) {
      assert.equal(isBridgeMetricName(metric), true, metric);
      assert.match(metric, /\.9000\d$/, 'per-test names end in the test id');
    }
  });
});

describe('push factory: no push takes longer than Catchpoint waits, whatever OpenTSDB and DynamoDB do', () => {
  let tsdb: OpenTsdbStandIn;
  let silent: SilentServer;
  let silentUrl: string;
  before(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    tsdb = await startOpenTsdbStandIn({ fault: 'hang' });
    resetBreaker(tsdb.url);
    // Accepts connections and never answers: a DynamoDB that hangs (nodes and spool).
    silent = await startSilentServer();
    silentUrl = silent.url;
  });
  after(async () => {
    await silent.close();
    await tsdb.close();
  });

  it('OpenTSDB hanging and DynamoDB silent, with the production limits: 503 within the function limit', async () => {
    // The deployed configuration's limits (WRITE_BUDGET_MS, OPENTSDB_TIMEOUT_MS at their defaults).
    const config = readPushConfig({
      NODES_TABLE: 'nodes',
      SPOOL_TABLE: 'spool',
      OPENTSDB_URL: tsdb.url,
      PUSH_TOKEN_HASHES: sha256Hex(TOKEN),
    });
    const handler = createPushHandler({
      config,
      dynamo: localDynamoClient(silentUrl),
      logger: new CapturingLogger({ serviceName: 'push' }),
      emit: () => {},
    });
    const event = httpApiEvent({
      method: 'POST',
      path: '/push',
      query: new URLSearchParams({ token: TOKEN }),
      headers: {},
      body: Buffer.from(pushFixture('v4-web-failed.json')),
      sourceIp: '127.0.0.1',
    });
    const started = Date.now();
    const result = await handler(event, lambdaContext('push', PUSH_TIMEOUT_SECONDS * 1000));
    const ms = Date.now() - started;
    // Node lookup, write and spool write all end by the write budget (8 s): the answer goes out within the
    // function's 15 s, itself within Catchpoint's 20 s.
    assert.equal(result.statusCode, 503);
    assert.ok(ms < PUSH_TIMEOUT_SECONDS * 1000, `answered in ${ms} ms`);
    assert.equal(circuitBreakerFor(tsdb.url).state, 'open');
  });
});
