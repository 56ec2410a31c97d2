// End to end through an OpenTSDB outage: `npm start` writing into a real VictoriaMetrics through a link that
// goes down (every connection reset) while Catchpoint pushes; every push is answered 200 and spooled; the
// link comes back and the replay drains the spool; every series is read back exactly once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectedDatapoints } from '../../dev/expected-datapoints.js';
import { FIXTURE_NODES_FILE, pushFixture, pushFixtureNames } from '../../dev/fixtures.js';
import { type LocalBridge, startLocalBridge } from '../../dev/local-bridge.js';
import { readNodesFile } from '../../dev/nodes-file.js';
import { seriesKey } from '../../dev/series-key.js';
import {
  skipWithoutVictoriaMetrics,
  startVictoriaMetrics,
  type VictoriaMetrics,
} from '../../dev/victoria-metrics.js';
import { untilProbeDue } from '../support/breaker.js';
import { CapturingLogger } from '../support/capturing-logger.js';
import { type OutageProxy, startOutageProxy } from '../support/outage-proxy.js';
import { push } from '../support/push-client.js';

// CI installs VictoriaMetrics and must run this; a developer without it is told how to get it.
const skip = skipWithoutVictoriaMetrics();

const TOKEN = 'e2e-outage-token';

/** The fixture with its test id moved to another range (9000x → 9100x, 9200x): another test's run. */
function variant(body: string, series: number): string {
  return body.replace(
    /"TestId":("?)9000(\d)/,
    (_m, quote: string, digit: string) => `"TestId":${quote}9${series}00${digit}`,
  );
}

describe('end to end: an OpenTSDB outage during pushes, then recovery and a drain into VictoriaMetrics', {
  skip,
}, () => {
  let vm: VictoriaMetrics;
  let link: OutageProxy;
  let bridge: LocalBridge;

  before(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    vm = await startVictoriaMetrics();
    link = await startOutageProxy(vm.openTsdbUrl);
    bridge = await startLocalBridge(
      {
        PORT: '0',
        OPENTSDB_URL: link.url,
        NODES_FILE: FIXTURE_NODES_FILE,
        PUSH_TOKEN: TOKEN,
        WRITE_BUDGET_MS: '3000',
        OPENTSDB_TIMEOUT_MS: '1000',
        // The replay runs when the test says (replayNow), not on its own timer.
        REPLAY_INTERVAL_SECONDS: '3600',
      },
      { logger: new CapturingLogger({ serviceName: 'push' }) },
    );
  });
  after(async () => {
    await bridge?.close();
    await link?.close();
    await vm?.close();
  });

  it('every run answered 200 during the outage is in VictoriaMetrics once after the drain', async () => {
    const nodes = new Map((await readNodesFile(FIXTURE_NODES_FILE)).map((n) => [n.nodeId, n]));
    const bodies = pushFixtureNames().flatMap((name) =>
      [0, 1, 2].map((series) => ({ name: `${name}#${series}`, body: variant(pushFixture(name), series) })),
    );
    const expected = new Map<string, { value: number; timestampMs: number }>();
    for (const { body } of bodies) {
      const points = expectedDatapoints(body, (id) => nodes.get(id));
      for (const p of points)
        expected.set(seriesKey(p.metric, p.tags), { value: p.value, timestampMs: p.timestamp * 1000 });
    }
    assert.equal(expected.size, 3 * 111, 'three tests of each fixture, 111 series each time');

    // The first run goes through while the link is up.
    const [first, ...rest] = bodies;
    assert.deepEqual((await push(bridge.url, first!.body, TOKEN)).status, 200);

    link.setDown(true);
    // Catchpoint's nodes push at once, as they do at a minute boundary.
    const replies = await Promise.all(rest.map(({ body }) => push(bridge.url, body, TOKEN)));
    for (const [i, reply] of replies.entries()) {
      const { name } = rest[i]!;
      assert.equal(reply.status, 200, `${name}: ${JSON.stringify(reply.body)}`);
      assert.ok(Number(reply.body.spooled) > 0, `${name} was spooled`);
    }
    // Catchpoint retries one run it did not see answered: a second, identical item.
    assert.equal((await push(bridge.url, rest[0]!.body, TOKEN)).status, 200);
    assert.equal((await bridge.spool!.heads()).length, rest.length + 1);
    const stillDown = await bridge.replayNow();
    assert.equal(stillDown?.replayed, 0);
    assert.match(stillDown?.stoppedBy ?? '', /^OpenTSDB unavailable/);
    assert.equal(stillDown?.depth, rest.length + 1);

    link.setDown(false);
    // The next scheduled replay: by then the process's circuit breaker lets a probe through.
    await untilProbeDue(link.url);
    const drained = await bridge.replayNow();
    assert.equal(drained?.replayed, rest.length + 1, JSON.stringify(drained));
    assert.equal(drained?.depth, 0);
    assert.equal(drained?.parked, 0);
    assert.equal(drained?.rejected, 0);
    assert.equal((await bridge.spool!.heads()).length, 0);

    const actual = await vm.seriesByKey('catchpoint[.].*');
    assert.equal(actual.size, expected.size, 'the same number of series');
    for (const [id, want] of expected) {
      const got = actual.get(id);
      assert.ok(got, `series ${id} was read back`);
      assert.deepEqual(got.timestamps, [want.timestampMs], `${id}: one sample, at the run's time`);
      assert.ok(
        Math.abs(got.values[0]! - want.value) <= Math.abs(want.value) * 1e-9,
        `${id}: ${got.values[0]} vs ${want.value}`,
      );
    }
    // By hand, from metrics.md: the v4 ping run of the third test range, on node 80 (not in the node list).
    assert.deepEqual(
      actual.get(
        seriesKey('catchpoint.ping.round_trip_time_avg', {
          testid: '92004',
          nodeid: '80',
          asn: '1221',
          continent: 'Oceania',
          country: 'Australia',
          isp: 'Telstra',
        }),
      ),
      { values: [181.5], timestamps: [Date.parse('2026-11-24T12:20:01Z')] },
    );
  });
});
