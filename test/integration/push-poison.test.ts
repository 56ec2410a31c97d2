// A poisoned push (OpenTSDB failing on particular points, in each way it really does) followed by healthy
// pushes on the same instance: the poisoned one is answered as it should be, and the healthy ones are
// written, not spooled. A real outage still opens the breaker within the first couple of pushes.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { pushFixture } from '../../dev/fixtures.js';
import type { LocalBridge } from '../../dev/local-bridge.js';
import type { OpenTsdbStandIn, PoisonKind } from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import { circuitBreakerFor } from '../../lambda/opentsdb/circuit-breaker.js';
import { resetBreaker } from '../support/breaker.js';
import { type BridgeWithStandIn, startBridgeWithStandIn } from '../support/bridge-with-stand-in.js';
import { push } from '../support/push-client.js';

const TOKEN = 'poison-test-token';
const FIXTURE = 'v4-ping.json';
/** Datapoints of FIXTURE with the fixture node list (as in push-path.test.ts). */
const POINTS = 17;

/** The fixture run with its own test id, so that each push writes series of its own. */
function runOf(testId: number): string {
  const doc = JSON.parse(pushFixture(FIXTURE)) as Record<string, unknown>;
  const holder = (doc.TestId === undefined ? doc.TestDetails : doc) as Record<string, unknown>;
  holder.TestId = typeof holder.TestId === 'string' ? String(testId) : testId;
  return JSON.stringify(doc);
}

/** One point of test `testId`'s run (the first OpenTSDB is sent): the poisoned one. */
function onePointOf(testId: number): (p: { metric: string; tags: Record<string, string> }) => boolean {
  let chosen: string | undefined;
  return (p) => {
    if (p.tags.testid !== String(testId)) return false;
    const key = `${p.metric} ${JSON.stringify(p.tags)}`;
    chosen ??= key;
    return key === chosen;
  };
}

const putsTo = (tsdb: OpenTsdbStandIn) => tsdb.requests.filter((r) => r.path.startsWith('/api/put')).length;

describe('push path with a poisoned run: one push, then healthy pushes on the same instance', () => {
  let setup: BridgeWithStandIn;
  let tsdb: OpenTsdbStandIn;
  let bridge: LocalBridge;
  let nextTestId = 950_000;

  before(async () => {
    setup = await startBridgeWithStandIn(TOKEN, { OPENTSDB_TIMEOUT_MS: '1500' });
    ({ tsdb, bridge } = setup);
    // The metric names registered, and a keep-alive connection open, as on a warm instance.
    assert.equal((await push(bridge.url, runOf(nextTestId++), TOKEN)).status, 200);
  });
  after(() => setup.close());
  beforeEach(async () => {
    await tsdb.acceptConnections();
    tsdb.reset();
    resetBreaker(tsdb.url);
    await bridge.replayNow();
    tsdb.reset();
  });

  /** What the poisoned push is answered: a refusal for good is done; any other failure is spooled. */
  const kinds: Array<{ kind: PoisonKind; answer: Record<string, number> }> = [
    { kind: 'refuse', answer: { datapoints: POINTS - 1, rejected: 1 } },
    { kind: 'storage', answer: { datapoints: POINTS - 1, spooled: 1 } },
    { kind: 'unknown-reason', answer: { datapoints: POINTS - 1, spooled: 1 } },
    { kind: 'timeout', answer: { datapoints: POINTS - 1, spooled: 1 } },
    { kind: '500', answer: { datapoints: 0, spooled: POINTS } },
    { kind: 'drop', answer: { datapoints: 0, spooled: POINTS } },
  ];

  for (const { kind, answer } of kinds) {
    it(`${kind}: the poisoned push is answered 200 ${JSON.stringify(answer)}; the next pushes are written, not spooled`, async () => {
      const poisoned = nextTestId++;
      tsdb.poison(onePointOf(poisoned), kind);
      const reply = await push(bridge.url, runOf(poisoned), TOKEN);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(reply.body, answer);
      assert.equal(circuitBreakerFor(tsdb.url).state, 'closed');

      for (let i = 0; i < 3; i++) {
        const healthy = nextTestId++;
        const next = await push(bridge.url, runOf(healthy), TOKEN);
        assert.equal(next.status, 200);
        assert.deepEqual(next.body, { datapoints: POINTS }, `healthy push ${i + 1}`);
        assert.equal(
          tsdb.points.filter((p) => p.tags.testid === String(healthy)).length,
          POINTS,
          `healthy push ${i + 1} is in OpenTSDB`,
        );
      }
      assert.equal(circuitBreakerFor(tsdb.url).state, 'closed');
      assert.deepEqual(tsdb.violations, []);
    });
  }

  /** OpenTSDB failing for every push; `refused` is connection refused. */
  const outages: Array<{ outage: 'refused' | 'down' | '500'; openedBy: number }> = [
    { outage: 'refused', openedBy: 1 },
    { outage: 'down', openedBy: 2 },
    { outage: '500', openedBy: 2 },
  ];

  for (const { outage, openedBy } of outages) {
    it(`an outage (${outage} for everyone) still opens the breaker by push ${openedBy}; the pushes after it do not ask`, async () => {
      if (outage === 'refused') await tsdb.refuseConnections();
      else tsdb.fault = outage;
      for (let i = 1; i <= openedBy; i++) {
        const reply = await push(bridge.url, runOf(nextTestId++), TOKEN);
        assert.equal(reply.status, 200);
        assert.deepEqual(reply.body, { datapoints: 0, spooled: POINTS }, `push ${i}`);
        assert.equal(circuitBreakerFor(tsdb.url).state, i < openedBy ? 'closed' : 'open', `after push ${i}`);
      }
      const asked = putsTo(tsdb);
      for (let i = 0; i < 3; i++) {
        const reply = await push(bridge.url, runOf(nextTestId++), TOKEN);
        assert.deepEqual([reply.status, reply.body], [200, { datapoints: 0, spooled: POINTS }]);
      }
      assert.equal(putsTo(tsdb), asked, 'spooled without asking OpenTSDB');
    });
  }
});
