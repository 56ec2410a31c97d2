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
import { CapturingLogger } from '../support/capturing-logger.js';
import { push } from '../support/push-client.js';

// CI installs VictoriaMetrics and must run this; a developer without it is told how to get it.
const skip = skipWithoutVictoriaMetrics();

describe('end to end: npm start → OpenTSDB HTTP API of a real VictoriaMetrics', { skip }, () => {
  let vm: VictoriaMetrics;
  let bridge: LocalBridge;

  before(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    vm = await startVictoriaMetrics();
    bridge = await startLocalBridge(
      { PORT: '0', OPENTSDB_URL: vm.openTsdbUrl, NODES_FILE: FIXTURE_NODES_FILE, PUSH_TOKEN: 'e2e-token' },
      { logger: new CapturingLogger({ serviceName: 'push' }) },
    );
  });
  after(async () => {
    await bridge?.close();
    await vm?.close();
  });

  it('every fixture pushed (twice, as a Catchpoint retry would) is read back exactly once per series', async () => {
    const nodes = new Map((await readNodesFile(FIXTURE_NODES_FILE)).map((n) => [n.nodeId, n]));
    const expected = new Map<string, { value: number; timestampMs: number }>();
    for (const name of pushFixtureNames()) {
      const body = pushFixture(name);
      for (let attempt = 0; attempt < 2; attempt++) {
        const reply = await push(bridge.url, body, 'e2e-token');
        assert.equal(reply.status, 200, `${name}: ${JSON.stringify(reply.body)}`);
      }
      const points = expectedDatapoints(body, (id) => nodes.get(id));
      for (const p of points) {
        expected.set(seriesKey(p.metric, p.tags), { value: p.value, timestampMs: p.timestamp * 1000 });
      }
    }

    const actual = await vm.seriesByKey('catchpoint[.].*');
    assert.equal(actual.size, expected.size, 'the same number of series');
    for (const [id, want] of expected) {
      const got = actual.get(id);
      assert.ok(got, `series ${id} was read back`);
      assert.deepEqual(got.timestamps, [want.timestampMs], id);
      // VictoriaMetrics keeps about 12 significant digits (33.33333333333333 comes back as 33.3333333333).
      assert.equal(got.values.length, 1, id);
      assert.ok(
        Math.abs(got.values[0]! - want.value) <= Math.abs(want.value) * 1e-9,
        `${id}: ${got.values[0]} vs ${want.value}`,
      );
    }
    // Spelled out from metrics.md, so that the comparison above cannot agree with itself by accident:
    // 20 + 8 + 15 + 17 + 18 + 33 series for the six fixtures, and one series of each fixture by hand.
    assert.equal(actual.size, 111);
    const six = (
      testid: string,
      nodeid: string,
      asn: string,
      continent: string,
      country: string,
      isp: string,
    ) => ({
      testid,
      nodeid,
      asn,
      continent,
      country,
      isp,
    });
    const byHand: [string, Record<string, string>, number, string][] = [
      [
        'catchpoint.timing.ssl',
        six('90002', '77', '2516', 'Asia', 'Japan', 'KDDI'),
        40,
        '2026-11-24T12:08:12Z',
      ],
      [
        'catchpoint.error.by_node',
        { testid: '90001', nodeid: '78', error: 'any' },
        1,
        '2026-11-24T12:05:33Z',
      ],
      [
        'catchpoint.rtt.by_region',
        { testid: '90001', nodeid: '77', region: 'Osaka' },
        23,
        '2026-11-24T12:04:12Z',
      ],
      [
        'catchpoint.ping.round_trip_time_avg',
        six('90004', '80', '1221', 'Oceania', 'Australia', 'Telstra'),
        181.5,
        '2026-11-24T12:20:01Z',
      ],
      [
        'catchpoint.traceroute.hops',
        six('90005', '81', '16509', 'Europe', 'Germany', 'Amazon.com_Inc.'),
        3,
        '2026-11-24T12:30:07Z',
      ],
      [
        'catchpoint.timing.content_type.image',
        six('90003', '79', '28573', 'South_America', 'Brazil', 'Claro_S.A.'),
        3100,
        '2026-11-24T12:15:55Z',
      ],
    ];
    for (const [metric, tags, value, time] of byHand) {
      const got = actual.get(seriesKey(metric, tags));
      assert.deepEqual(got, { values: [value], timestamps: [Date.parse(time)] }, metric);
    }
    assert.deepEqual(
      actual.get(seriesKey('catchpoint.rtt.by_isp', { testid: '90003', nodeid: '79', isp: 'Claro_S.A.' }))
        ?.values,
      [4210],
    );
    assert.deepEqual(
      actual.get(
        seriesKey('catchpoint.status.by_continent', {
          testid: '90001',
          nodeid: '78',
          continent: 'Africa',
          status: 'error',
        }),
      )?.values,
      [1],
    );
    assert.deepEqual(
      actual.get(
        seriesKey('catchpoint.traceroute.rtt_avg', {
          testid: '90005',
          nodeid: '81',
          asn: '16509',
          continent: 'Europe',
          country: 'Germany',
          isp: 'Amazon.com_Inc.',
        }),
      )?.values,
      [31],
    );
  });
});
