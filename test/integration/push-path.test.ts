import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { pushFixture, pushFixtureNames } from '../../dev/fixtures.js';
import { type LocalBridge, startLocalBridge } from '../../dev/local-bridge.js';
import { type OpenTsdbStandIn, startOpenTsdbStandIn } from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import { resetBreaker, untilProbeDue } from '../support/breaker.js';
import { type BridgeWithStandIn, startBridgeWithStandIn } from '../support/bridge-with-stand-in.js';
import { CapturingLogger } from '../support/capturing-logger.js';
import {
  type CatchpointStandIn,
  STAND_IN_API_KEY,
  startCatchpointStandIn,
} from '../support/catchpoint-stand-in.js';
import { push } from '../support/push-client.js';

const TOKEN = 'local-test-token-5f2c';

/** Datapoints per fixture with the v1 node list loaded (nodes 77, 79, 81 known; 78 and 80 not). */
const EXPECTED_COUNTS: Record<string, number> = {
  'template-web-ok.json': 14 + 6,
  'v3-dns-error-code.json': 7 + 1,
  'v3-dns-ok.json': 14 + 1,
  'v4-ping.json': 14 + 1 + 2,
  'v4-traceroute.json': 14 + 1 + 3,
  'v4-web-failed.json': 14 + 1 + 18,
};

describe('push path: local server → dynalite node table → strict OpenTSDB stand-in', () => {
  let setup: BridgeWithStandIn;
  let tsdb: OpenTsdbStandIn;
  let bridge: LocalBridge;
  let logger: CapturingLogger;

  before(async () => {
    setup = await startBridgeWithStandIn(TOKEN);
    ({ tsdb, bridge, logger } = setup);
  });
  after(() => setup.close());
  beforeEach(() => {
    tsdb.reset();
    tsdb.fault = 'none';
    resetBreaker(tsdb.url);
  });

  /** `null` sends no token at all. */
  const send = (body: string | Buffer, token: string | null = TOKEN) =>
    push(bridge.url, body, token ?? undefined);

  it('writes every fixture: 200 with the datapoint count, everything accepted, nothing broken', async () => {
    for (const name of pushFixtureNames()) {
      const reply = await send(pushFixture(name));
      assert.equal(reply.status, 200, `${name}: ${JSON.stringify(reply.body)}`);
      assert.deepEqual(reply.body, { datapoints: EXPECTED_COUNTS[name] }, name);
    }
    const total = Object.values(EXPECTED_COUNTS).reduce((a, b) => a + b, 0);
    assert.equal(tsdb.points.length, total);
    assert.deepEqual(tsdb.violations, []);
    // The only refusals are the first sight of each metric name, which the writer then registers.
    assert.deepEqual(
      tsdb.rejected.filter((r) => !r.error.startsWith('Unknown metric')),
      [],
    );
    assert.ok(tsdb.requests.every((r) => r.bodyBytes <= 8192));
  });

  it('tags a known node from the table and an unknown one from its payload', async () => {
    await send(pushFixture('v3-dns-ok.json'));
    await send(pushFixture('v3-dns-error-code.json'));
    const known = tsdb.pointsOf('catchpoint.status.by_region', { nodeid: '77' });
    assert.equal(known.length, 1);
    assert.equal(known[0]!.tags.region, 'Osaka');
    const unknown = tsdb.pointsOf('catchpoint.status.by_continent', { nodeid: '78' });
    assert.deepEqual(unknown[0]!.tags, {
      testid: '90001',
      nodeid: '78',
      continent: 'Africa',
      status: 'error',
    });
    assert.equal(tsdb.pointsOf('catchpoint.status.by_region', { nodeid: '78' })[0]!.tags.region, 'unknown');
  });

  it('a Catchpoint retry of the same run writes identical points', async () => {
    const body = pushFixture('v4-ping.json');
    await send(body);
    await send(body);
    assert.equal(tsdb.points.length, EXPECTED_COUNTS['v4-ping.json']);
    assert.equal(tsdb.duplicates, EXPECTED_COUNTS['v4-ping.json']);
    assert.deepEqual(tsdb.violations, []);
  });

  it('refuses a missing or wrong token with 401, and never logs the token', async () => {
    const missing = await send(pushFixture('v3-dns-ok.json'), null);
    assert.equal(missing.status, 401);
    assert.match(String(missing.body.error), /token missing/);
    const wrong = await send(pushFixture('v3-dns-ok.json'), 'not-the-token');
    assert.equal(wrong.status, 401);
    assert.equal(tsdb.points.length, 0);
    const logs = logger.lines.join('\n');
    assert.match(logs, /"status":401/);
    assert.ok(!logs.includes(TOKEN), 'the token never appears in the logs');
    assert.ok(!logs.includes('not-the-token'));
  });

  it('answers bad input with a specific 4xx and never a 5xx', async () => {
    const cases: [string | Buffer, number, RegExp][] = [
      ['<TestRun><TestId>1</TestId></TestRun>', 415, /JSON/],
      ['', 400, /empty body/],
      ['{"TestId":', 400, /not valid JSON/],
      ['{"NodeId":5}', 400, /TestId is missing/],
      ['{"TestId":"x","NodeId":5}', 400, /TestId is not a number/],
      [Buffer.alloc(1024 * 1024 + 1, 0x20), 413, /larger than/],
    ];
    for (const [body, status, reason] of cases) {
      const reply = await send(body);
      assert.equal(reply.status, status, String(reason));
      assert.match(String(reply.body.error), reason);
    }
  });

  it('checks the token before the size, as the Lambda does, and answers every method through the handler', async () => {
    const huge = Buffer.alloc(3 * 1024 * 1024, 0x20);
    const unauthorised = await send(huge, 'not-the-token');
    assert.equal(unauthorised.status, 401);
    assert.match(String(unauthorised.body.error), /token not accepted/);
    const tooLarge = await send(huge);
    assert.equal(tooLarge.status, 413);
    const get = await fetch(`${bridge.url}/push?token=${TOKEN}`);
    assert.equal(get.status, 405);
    assert.deepEqual(await get.json(), { error: 'use POST to push test data' });
  });

  it('says once that an undocumented numeric field wrote no metric', async () => {
    const run = { TestId: 5, NodeId: 77, Summary: { Timing: { Total: 9, Jitterish: 4 } } };
    for (let i = 0; i < 3; i++) assert.equal((await send(JSON.stringify(run))).status, 200);
    const said = logger
      .records()
      .filter((r) => r.message === 'measurement field not on the metric list; ignored');
    assert.equal(said.length, 1);
    assert.equal(said[0]!.field, 'Timing.Jitterish');
    assert.equal(tsdb.points.filter((p) => p.metric.includes('jitter')).length, 0);
  });

  it('GET /health answers 200 whatever OpenTSDB does', async () => {
    tsdb.fault = 'down';
    const response = await fetch(`${bridge.url}/health`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });

  it('OpenTSDB down: the push is spooled and answered 200; replay writes it once OpenTSDB is back', async () => {
    tsdb.fault = 'down';
    const started = Date.now();
    const reply = await send(pushFixture('v4-traceroute.json'));
    assert.ok(Date.now() - started < 5000, 'answers within the budget');
    assert.equal(reply.status, 200);
    assert.equal(reply.body.spooled, EXPECTED_COUNTS['v4-traceroute.json']);
    // Catchpoint may still retry: every spool write is an item of its own (never an overwrite), and the
    // identical points of the two are stored once.
    await send(pushFixture('v4-traceroute.json'));
    assert.equal((await bridge.spool!.heads()).length, 2);

    tsdb.fault = 'none';
    await untilProbeDue(tsdb.url);
    const result = await bridge.replayNow();
    assert.equal(result?.replayed, 2);
    assert.equal(result?.depth, 0);
    assert.equal(tsdb.points.length, EXPECTED_COUNTS['v4-traceroute.json']);
    assert.equal((await bridge.spool!.heads()).length, 0);
    assert.deepEqual(tsdb.violations, []);
  });
});

describe('push path with the node table filled from the Catchpoint API (no nodes file)', () => {
  let tsdb: OpenTsdbStandIn;
  let catchpoint: CatchpointStandIn;
  let bridge: LocalBridge;

  before(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    tsdb = await startOpenTsdbStandIn();
    catchpoint = await startCatchpointStandIn();
    bridge = await startLocalBridge(
      {
        PORT: '0',
        OPENTSDB_URL: tsdb.url,
        PUSH_TOKEN: TOKEN,
        CATCHPOINT_API_KEY: STAND_IN_API_KEY,
        CATCHPOINT_API_URL: catchpoint.url,
      },
      { logger: new CapturingLogger({ serviceName: 'push' }), catchpointClient: { minIntervalMs: 0 } },
    );
  });
  after(async () => {
    await bridge.close();
    await catchpoint.close();
    await tsdb.close();
  });

  it('tags a run from an Enterprise node known only to the API with its state and ISP', async () => {
    const run = {
      TestId: 90010,
      NodeId: 9001,
      // The payload's name says nothing of the state; only the API's Enterprise list has "Virginia".
      NodeName: 'Ashburn, US - Acme Office',
      Summary: { Timestamp: '20261124120000000', Timing: { Total: 40 } },
    };
    const reply = await push(bridge.url, JSON.stringify(run), TOKEN);
    assert.equal(reply.status, 200);
    const byRegion = tsdb.pointsOf('catchpoint.rtt.by_region', { nodeid: '9001' });
    assert.equal(byRegion[0]?.tags.region, 'Virginia');
    assert.equal(tsdb.pointsOf('catchpoint.rtt.by_isp', { nodeid: '9001' })[0]?.tags.isp, 'Verizon_Business');
    assert.equal(
      tsdb.pointsOf('catchpoint.rtt.by_continent', { nodeid: '9001' })[0]?.tags.continent,
      'North_America',
    );
  });
});
