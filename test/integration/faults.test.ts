import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { localDynamoClient } from '../../dev/embedded-dynamo.js';
import { pushFixture, pushFixtureNames } from '../../dev/fixtures.js';
import { httpApiEvent, lambdaContext } from '../../dev/lambda-shim.js';
import type { LocalBridge } from '../../dev/local-bridge.js';
import { type SilentServer, startSilentServer } from '../../dev/loopback.js';
import { type OpenTsdbStandIn, startOpenTsdbStandIn } from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import { readPushConfig } from '../../lambda/config.js';
import { CircuitBreaker } from '../../lambda/opentsdb/circuit-breaker.js';
import type { Datapoint } from '../../lambda/opentsdb/datapoint.js';
import { OpenTsdbWriter } from '../../lambda/opentsdb/writer.js';
import { createPushHandler } from '../../lambda/push/push-handler.js';
import { DEFAULT_WRITE_BUDGET_MS } from '../../lambda/push/push-limits.js';
import { sha256Hex } from '../../lambda/push/push-token.js';
import { replaySpool } from '../../lambda/spool/replay-spool.js';
import { resetBreaker, untilProbeDue } from '../support/breaker.js';
import { type BridgeWithStandIn, startBridgeWithStandIn } from '../support/bridge-with-stand-in.js';
import { captureLog } from '../support/capture-log.js';
import { CapturingLogger } from '../support/capturing-logger.js';
import { push } from '../support/push-client.js';

const TOKEN = 'fault-test-token';
const WRITE_BUDGET_MS = 5000;
/** Long enough that a loaded machine never times out a healthy request (which would open the breaker). */
const OPENTSDB_TIMEOUT_MS = '2000';

/** Datapoints per fixture with the v1 node list (as in push-path.test.ts). */
const EXPECTED_TOTAL = 20 + 8 + 15 + 17 + 18 + 33;

function assertEachPointOnce(tsdb: OpenTsdbStandIn, total: number): void {
  assert.equal(tsdb.points.length, total, 'every datapoint is stored');
  for (const [series, points] of tsdb.series()) assert.equal(points.length, 1, `${series} stored once`);
  assert.deepEqual(tsdb.violations, []);
}

describe('faults: the local bridge with its spool, against a strict OpenTSDB stand-in', () => {
  let setup: BridgeWithStandIn;
  let tsdb: OpenTsdbStandIn;
  let bridge: LocalBridge;

  before(async () => {
    setup = await startBridgeWithStandIn(TOKEN, {
      WRITE_BUDGET_MS: String(WRITE_BUDGET_MS),
      OPENTSDB_TIMEOUT_MS,
    });
    ({ tsdb, bridge } = setup);
  });
  after(() => setup.close());
  beforeEach(async () => {
    // Each scenario starts with OpenTSDB healthy (its circuit breaker closed) and the spool empty.
    tsdb.fault = 'none';
    resetBreaker(tsdb.url);
    await bridge.replayNow();
    tsdb.reset();
  });

  it('OpenTSDB down: every push is spooled and answered 200; after it returns, replay stores each point once', async () => {
    tsdb.fault = 'down';
    for (const name of pushFixtureNames()) {
      const reply = await push(bridge.url, pushFixture(name), TOKEN);
      assert.equal(reply.status, 200, name);
      assert.ok(Number(reply.body.spooled) > 0, `${name} spooled`);
    }
    assert.equal(tsdb.points.length, 0);
    assert.equal((await bridge.spool!.heads()).length, 6);

    tsdb.fault = 'none';
    await untilProbeDue(tsdb.url);
    const result = await bridge.replayNow();
    assert.equal(result?.replayed, 6);
    assert.equal(result?.depth, 0);
    assertEachPointOnce(tsdb, EXPECTED_TOTAL);
  });

  it('OpenTSDB hanging: the push answers within the budget and is spooled', async () => {
    tsdb.fault = 'hang';
    const started = Date.now();
    const reply = await push(bridge.url, pushFixture('v4-web-failed.json'), TOKEN);
    const elapsed = Date.now() - started;
    assert.equal(reply.status, 200);
    assert.equal(reply.body.spooled, 33);
    assert.ok(elapsed < WRITE_BUDGET_MS + 500, `answered in ${elapsed} ms`);
    tsdb.fault = 'none';
    await untilProbeDue(tsdb.url);
    await bridge.replayNow();
    assertEachPointOnce(tsdb, 33);
  });

  it('OpenTSDB answering the HTML "chunked" 400: the batch is split and nothing is lost', async () => {
    tsdb.failNext(2, 'chunked');
    const reply = await push(bridge.url, pushFixture('v4-web-failed.json'), TOKEN);
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, { datapoints: 33 });
    assertEachPointOnce(tsdb, 33);
    const puts = tsdb.requests.filter((r) => r.path.startsWith('/api/put'));
    assert.ok(puts.length >= 3, 'the refused body was sent again in smaller parts');
  });

  it('a process restarted in the middle of a replay loses nothing and doubles nothing', async () => {
    tsdb.fault = 'down';
    for (const name of ['v3-dns-ok.json', 'v4-ping.json', 'v4-traceroute.json']) {
      assert.equal((await push(bridge.url, pushFixture(name), TOKEN)).status, 200);
    }
    tsdb.fault = 'none';
    // The first replay dies right after OpenTSDB took its first write (all three runs), before deleting.
    const writer = new OpenTsdbWriter(tsdb.url, {
      timeoutMs: 5000,
      log: captureLog(),
      breaker: new CircuitBreaker(),
    });
    let writes = 0;
    const dying = {
      async write(points: readonly Datapoint[], deadlineMs: number) {
        const outcome = await writer.write(points, deadlineMs);
        if (++writes === 1) throw new Error('process killed');
        return outcome;
      },
    };
    await assert.rejects(
      replaySpool(bridge.spool!, dying, { deadlineMs: Date.now() + 10_000, log: captureLog() }),
    );
    assert.equal((await bridge.spool!.heads()).length, 3, 'nothing was deleted');

    // The restarted process replays everything, the first entry again.
    const result = await replaySpool(
      bridge.spool!,
      new OpenTsdbWriter(tsdb.url, { timeoutMs: 5000, log: captureLog(), breaker: new CircuitBreaker() }),
      {
        deadlineMs: Date.now() + 10_000,
        log: captureLog(),
      },
    );
    assert.equal(result.replayed, 3);
    assert.equal((await bridge.spool!.heads()).length, 0);
    assertEachPointOnce(tsdb, 15 + 17 + 18);
    assert.equal(tsdb.duplicates, 15 + 17 + 18, 'the runs written twice were identical, so stored once');
  });

  it('replay stops at the first failure and keeps the rest, oldest first', async () => {
    tsdb.fault = 'down';
    for (const name of ['v3-dns-ok.json', 'v4-ping.json']) await push(bridge.url, pushFixture(name), TOKEN);
    const partial = await bridge.replayNow();
    assert.equal(partial?.replayed, 0);
    assert.equal(partial?.depth, 2);
    assert.ok(partial?.stoppedBy);
    assert.ok((partial?.oldestAgeSeconds ?? -1) >= 0);
    tsdb.fault = 'none';
    await untilProbeDue(tsdb.url);
    const done = await bridge.replayNow();
    assert.equal(done?.replayed, 2);
    assertEachPointOnce(tsdb, 15 + 17);
  });
});

describe('faults: DynamoDB unreachable or silent', () => {
  let tsdb: OpenTsdbStandIn;
  let silent: SilentServer;
  let silentUrl: string;
  before(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    tsdb = await startOpenTsdbStandIn();
    // Accepts connections and never answers: a DynamoDB that hangs.
    silent = await startSilentServer();
    silentUrl = silent.url;
  });
  after(async () => {
    await silent.close();
    await tsdb.close();
  });

  /** The push handler as the Lambda composes it, with DynamoDB (nodes and spool) at `dynamoUrl`. */
  function handlerWithDeadDynamo(
    openTsdbUrl: string,
    dynamoUrl = 'http://127.0.0.1:1',
    writeBudgetMs = WRITE_BUDGET_MS,
  ) {
    const config = readPushConfig({
      NODES_TABLE: 'nodes',
      SPOOL_TABLE: 'spool',
      OPENTSDB_URL: openTsdbUrl,
      PUSH_TOKEN_HASHES: sha256Hex(TOKEN),
      WRITE_BUDGET_MS: String(writeBudgetMs),
      OPENTSDB_TIMEOUT_MS,
    });
    const logger = new CapturingLogger({ serviceName: 'push' });
    const handler = createPushHandler({
      config,
      dynamo: localDynamoClient(dynamoUrl),
      logger,
      emit: (line) => logger.lines.push(line),
    });
    return async (body: string) => {
      const event = httpApiEvent({
        method: 'POST',
        path: '/push',
        query: new URLSearchParams({ token: TOKEN }),
        headers: {},
        body: Buffer.from(body),
        sourceIp: '127.0.0.1',
      });
      const started = Date.now();
      const result = await handler(event, lambdaContext('push', 15_000));
      return {
        status: result.statusCode,
        body: JSON.parse(result.body ?? '{}'),
        ms: Date.now() - started,
        logger,
      };
    };
  }

  it('with OpenTSDB up, the run is still written, tagged from its payload', async () => {
    const send = handlerWithDeadDynamo(tsdb.url);
    const reply = await send(pushFixture('v3-dns-ok.json'));
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, { datapoints: 15 });
    const byRegion = tsdb.pointsOf('catchpoint.status.by_region', { nodeid: '77' });
    assert.equal(byRegion[0]!.tags.region, 'unknown');
    assert.equal(tsdb.pointsOf('catchpoint.status.by_city', { nodeid: '77' })[0]!.tags.city, 'Osaka');
    assert.deepEqual(tsdb.violations, []);
  });

  it('with OpenTSDB down too, the push gets 503 in time for Catchpoint to retry', async () => {
    const send = handlerWithDeadDynamo('http://127.0.0.1:9');
    const reply = await send(pushFixture('v3-dns-ok.json'));
    assert.equal(reply.status, 503);
    assert.match(String(reply.body.error), /retry later/);
    assert.ok(reply.ms < 20_000 - 5000, `answered in ${reply.ms} ms`);
    assert.ok(reply.logger.records().some((r) => r.message === 'spool write failed'));
  });

  it('a DynamoDB that never answers costs the tags, not the push', async () => {
    tsdb.reset();
    // The production budget: the node lookup waits 1.5 s of it, the write gets the rest.
    const send = handlerWithDeadDynamo(tsdb.url, silentUrl, DEFAULT_WRITE_BUDGET_MS);
    const reply = await send(pushFixture('v4-ping.json'));
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, { datapoints: 17 });
    assert.ok(reply.ms < 2500, `answered in ${reply.ms} ms`);
    assert.equal(tsdb.pointsOf('catchpoint.status.by_isp', { nodeid: '80' })[0]!.tags.isp, 'Telstra');
  });

  it('a silent DynamoDB and OpenTSDB down: 503 by the deadline, not a Lambda timeout', async () => {
    const send = handlerWithDeadDynamo('http://127.0.0.1:9', silentUrl);
    const reply = await send(pushFixture('v4-ping.json'));
    assert.equal(reply.status, 503);
    assert.ok(reply.ms < WRITE_BUDGET_MS + 500, `answered in ${reply.ms} ms`);
  });
});
