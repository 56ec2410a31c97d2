import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FIXTURE_RECEIVED_AT_MS, fixture, pushFixtureNames } from '../../dev/fixtures.js';
import { toPutLine } from '../../dev/printing-sink.js';
import { DEFAULT_METRIC_SETS, type MetricOptions, parseMetricSets } from '../../lambda/config.js';
import { toDatapoints } from '../../lambda/metrics/datapoints.js';
import { nodeDimensions } from '../../lambda/metrics/node-dimensions.js';
import type { NodeRecord } from '../../lambda/nodes/node-record.js';
import {
  type Datapoint,
  datapoint,
  formatValue,
  serializeDatapoint,
} from '../../lambda/opentsdb/datapoint.js';
import { MAX_BODY_BYTES, packRequestBodies } from '../../lambda/opentsdb/request-body.js';
import { decodePoints } from '../../lambda/spool/spooled-run.js';
import { parsePush } from '../../lambda/webhook/parse-push.js';

const defaults: MetricOptions = { sets: new Set(DEFAULT_METRIC_SETS), naming: 'default' };
const receivedAtSeconds = FIXTURE_RECEIVED_AT_MS / 1000;

function pointsFor(name: string, node?: NodeRecord, options: MetricOptions = defaults) {
  const result = parsePush(fixture(`push/${name}`), FIXTURE_RECEIVED_AT_MS);
  return toDatapoints(result, nodeDimensions(result, node), options, receivedAtSeconds);
}

const saoPaulo: NodeRecord = {
  nodeId: 79,
  name: 'São Paulo, BR - Claro',
  asn: 28573,
  city: 'São Paulo',
  region: 'São Paulo',
  country: 'Brazil',
  countryCode: 'BR',
  continent: 'South America',
  isp: 'Claro S.A.',
  networkType: 'LastMile',
  updatedAt: '2026-11-24T00:00:00.000Z',
  expiresAt: 1_900_000_000,
};

describe('datapoints: the core set, tags from the payload when the node is unknown', () => {
  const points = pointsFor('v3-dns-ok.json');
  const ts = Date.UTC(2026, 10, 24, 12, 4, 12) / 1000;
  const id = { testid: '90001', nodeid: '77' };

  it('writes 7 rtt + 7 status + the timing total, in a fixed order, with exact tags', () => {
    assert.deepEqual(
      points.map((p) => toPutLine(p)),
      [
        `put catchpoint.rtt.by_node ${ts} 23 testid=90001 nodeid=77`,
        `put catchpoint.status.by_node ${ts} 1 testid=90001 nodeid=77 status=ok`,
        `put catchpoint.rtt.by_asn ${ts} 23 testid=90001 nodeid=77 asn=2516`,
        `put catchpoint.status.by_asn ${ts} 1 testid=90001 nodeid=77 asn=2516 status=ok`,
        `put catchpoint.rtt.by_continent ${ts} 23 testid=90001 nodeid=77 continent=Asia`,
        `put catchpoint.status.by_continent ${ts} 1 testid=90001 nodeid=77 continent=Asia status=ok`,
        `put catchpoint.rtt.by_city ${ts} 23 testid=90001 nodeid=77 city=Osaka`,
        `put catchpoint.status.by_city ${ts} 1 testid=90001 nodeid=77 city=Osaka status=ok`,
        `put catchpoint.rtt.by_country ${ts} 23 testid=90001 nodeid=77 country=Japan`,
        `put catchpoint.status.by_country ${ts} 1 testid=90001 nodeid=77 country=Japan status=ok`,
        `put catchpoint.rtt.by_region ${ts} 23 testid=90001 nodeid=77 region=unknown`,
        `put catchpoint.status.by_region ${ts} 1 testid=90001 nodeid=77 region=unknown status=ok`,
        `put catchpoint.rtt.by_isp ${ts} 23 testid=90001 nodeid=77 isp=KDDI`,
        `put catchpoint.status.by_isp ${ts} 1 testid=90001 nodeid=77 isp=KDDI status=ok`,
        `put catchpoint.timing.total ${ts} 23 testid=90001 nodeid=77 asn=2516 continent=Asia country=Japan isp=KDDI`,
      ],
    );
    assert.deepEqual(points[0]!.tags, id);
  });

  it('serialises byte-identically every time (Catchpoint retries are harmless)', () => {
    const again = pointsFor('v3-dns-ok.json');
    assert.equal(again.map(serializeDatapoint).join('\n'), points.map(serializeDatapoint).join('\n'));
    assert.equal(
      serializeDatapoint(points[0]!),
      `{"metric":"catchpoint.rtt.by_node","timestamp":${ts},"value":23,"tags":{"testid":"90001","nodeid":"77"}}`,
    );
  });
});

describe('datapoints: a failed v4 web run with the node in the table', () => {
  const points = pointsFor('v4-web-failed.json', saoPaulo);
  const byMetric = new Map(points.map((p) => [p.metric, p]));

  it('uses the node table for every dimension, cleaned for OpenTSDB', () => {
    assert.deepEqual(byMetric.get('catchpoint.status.by_isp')!.tags, {
      testid: '90003',
      nodeid: '79',
      isp: 'Claro_S.A.',
      status: 'error',
    });
    assert.equal(byMetric.get('catchpoint.rtt.by_continent')!.tags.continent, 'South_America');
    assert.equal(byMetric.get('catchpoint.rtt.by_region')!.tags.region, 'São_Paulo');
    assert.equal(byMetric.get('catchpoint.rtt.by_city')!.tags.city, 'São_Paulo');
    assert.equal(byMetric.get('catchpoint.rtt.by_country')!.tags.country, 'Brazil');
  });

  it('counts the error by its first flag', () => {
    const error = byMetric.get('catchpoint.error.by_node')!;
    assert.deepEqual(error.tags, { testid: '90003', nodeid: '79', error: 'loadobjects' });
    assert.equal(error.value, 1);
  });

  it('writes every timing field with six tags, and no bytes or counters by default', () => {
    const timing = points.filter((p) => p.metric.startsWith('catchpoint.timing.'));
    assert.equal(timing.length, 18);
    assert.equal(byMetric.get('catchpoint.timing.content_type.image')!.value, 3100);
    assert.equal(byMetric.get('catchpoint.timing.first_contentful_paint_time'), undefined);
    assert.deepEqual(byMetric.get('catchpoint.timing.dom_load')!.tags, {
      testid: '90003',
      nodeid: '79',
      asn: '28573',
      continent: 'South_America',
      country: 'Brazil',
      isp: 'Claro_S.A.',
    });
    assert.equal(points.filter((p) => /^catchpoint\.(bytes|counter)\./.test(p.metric)).length, 0);
    assert.equal(points.length, 14 + 1 + 18);
  });

  it('adds bytes and counters when METRIC_SETS asks for them', () => {
    const all = pointsFor('v4-web-failed.json', saoPaulo, {
      sets: parseMetricSets('core,timing,bytes,counters'),
      naming: 'default',
    });
    const names = all.map((p) => p.metric);
    assert.ok(names.includes('catchpoint.bytes.total_content'));
    assert.ok(names.includes('catchpoint.counter.failed_requests'));
    assert.equal(all.length, 14 + 1 + 18 + 4 + 6);
  });

  it('core only', () => {
    const core = pointsFor('v4-web-failed.json', saoPaulo, {
      sets: parseMetricSets('core'),
      naming: 'default',
    });
    assert.equal(core.length, 15);
  });
});

describe('datapoints: ping and traceroute sets', () => {
  it('ping values with snake-case names', () => {
    const ping = pointsFor('v4-ping.json').filter((p) => p.metric.startsWith('catchpoint.ping.'));
    assert.deepEqual(
      ping.map((p) => [p.metric, p.value]),
      [
        ['catchpoint.ping.packet_loss_pct', 25],
        ['catchpoint.ping.round_trip_time_avg', 181.5],
      ],
    );
    assert.equal(ping[0]!.tags.continent, 'Oceania');
    assert.equal(ping[0]!.tags.country, 'Australia');
    assert.equal(ping[0]!.tags.isp, 'Telstra');
  });

  it('traceroute hops, last-hop average and loss', () => {
    const trace = pointsFor('v4-traceroute.json').filter((p) =>
      p.metric.startsWith('catchpoint.traceroute.'),
    );
    assert.deepEqual(
      trace.map((p) => [p.metric, p.value]),
      [
        ['catchpoint.traceroute.hops', 3],
        ['catchpoint.traceroute.rtt_avg', 31],
        ['catchpoint.traceroute.packet_loss_pct', (1 / 3) * 100],
      ],
    );
  });
});

describe('datapoints: failures without timing, and per-test naming', () => {
  it('a v3 failure has no rtt, 7 error statuses and one error point', () => {
    const points = pointsFor('v3-dns-error-code.json');
    assert.equal(points.filter((p) => p.metric.startsWith('catchpoint.rtt.')).length, 0);
    const statuses = points.filter((p) => p.metric.startsWith('catchpoint.status.'));
    assert.equal(statuses.length, 7);
    assert.ok(statuses.every((p) => p.tags.status === 'error'));
    const error = points.find((p) => p.metric === 'catchpoint.error.by_node')!;
    // A text code is not a tag value (senders could mint any number of them): no flag either, so `any`.
    assert.equal(error.tags.error, 'any');
    assert.equal(points.length, 8);
    const byContinent = points.find((p) => p.metric === 'catchpoint.status.by_continent')!;
    assert.equal(byContinent.tags.continent, 'Africa');
    assert.equal(points.find((p) => p.metric === 'catchpoint.status.by_isp')!.tags.isp, 'MTN');
    assert.equal(points.find((p) => p.metric === 'catchpoint.status.by_country')!.tags.country, 'Nigeria');
  });

  it('per-test naming appends the test id and drops the testid tag', () => {
    const points = pointsFor('v3-dns-ok.json', undefined, {
      sets: parseMetricSets('core'),
      naming: 'per-test',
    });
    assert.equal(points[2]!.metric, 'catchpoint.rtt.by_asn.90001');
    assert.deepEqual(points[2]!.tags, { nodeid: '77', asn: '2516' });
    assert.ok(points.every((p) => !('testid' in p.tags) && p.metric.endsWith('.90001')));
  });

  it('the template run gets the same metric names as default JSON', () => {
    const names = pointsFor('template-web-ok.json').map((p) => p.metric);
    assert.deepEqual(
      names.filter((n) => n.startsWith('catchpoint.timing.')),
      ['total', 'connect', 'dns', 'load', 'ssl', 'wait'].map((n) => `catchpoint.timing.${n}`),
    );
  });

  it('uses the receipt time when the run has no timestamp', () => {
    const result = parsePush(
      '{"TestId":1,"NodeId":2,"Summary":{"Timing":{"Total":5}}}',
      FIXTURE_RECEIVED_AT_MS,
    );
    const points = toDatapoints(result, nodeDimensions(result, undefined), defaults, receivedAtSeconds);
    assert.ok(points.every((p) => p.timestamp === receivedAtSeconds));
    assert.ok(points.every((p) => Object.values(p.tags).every((v) => v !== '')));
  });

  it('never writes more than 8 tags', () => {
    for (const name of ['v4-web-failed.json', 'v3-dns-ok.json', 'template-web-ok.json']) {
      for (const p of pointsFor(name, saoPaulo, {
        sets: parseMetricSets('core,timing,bytes,counters,ping,traceroute'),
        naming: 'default',
      })) {
        assert.ok(Object.keys(p.tags).length <= 8, p.metric);
      }
    }
  });
});

describe('node dimensions', () => {
  const run = (nodeName: string) =>
    parsePush(
      JSON.stringify({ TestId: 1, NodeId: 2, NodeName: nodeName, Asn: 7018 }),
      FIXTURE_RECEIVED_AT_MS,
    );

  it('reads "City, CC - ISP" with commas in the city and symbols in the ISP', () => {
    assert.deepEqual(nodeDimensions(run('Washington, D.C., US - AT&T'), undefined), {
      asn: '7018',
      continent: 'North_America',
      country: 'United_States',
      region: 'unknown',
      city: 'Washington_D.C.',
      isp: 'AT_T',
    });
  });

  it('a name that does not parse gives unknown, never empty', () => {
    const dims = nodeDimensions(run('mystery node'), undefined);
    assert.deepEqual(dims, {
      asn: '7018',
      continent: 'unknown',
      country: 'unknown',
      region: 'unknown',
      city: 'unknown',
      isp: 'unknown',
    });
  });

  it('prefers the node table, falling back per field', () => {
    const partial: NodeRecord = { ...saoPaulo, region: undefined, isp: undefined, asn: undefined };
    const dims = nodeDimensions(run('Rio, BR - Vivo'), partial);
    assert.equal(dims.region, 'unknown');
    assert.equal(dims.isp, 'Vivo');
    assert.equal(dims.asn, '7018');
    assert.equal(dims.city, 'São_Paulo');
  });
});

describe('value serialisation', () => {
  it('writes huge whole numbers in exponent form, which OpenTSDB reads as floating point', () => {
    assert.equal(formatValue(2 ** 64), '1.8446744073709552e+19');
    assert.equal(formatValue(-(2 ** 63)), '-9.223372036854776e+18');
    assert.equal(formatValue(Number.MAX_SAFE_INTEGER), '9007199254740991');
    assert.equal(formatValue(181.5), '181.5');
    assert.equal(formatValue(-0), '0');
    assert.equal(formatValue(1e308), '1e+308');
  });

  it('averages last-hop round trips whose sum would overflow', () => {
    const result = parsePush(
      JSON.stringify({
        TestId: 1,
        NodeId: 2,
        Diagnostic: { TraceRoute: { Hops: [{ RoundTripTimes: [1e308, 1e308, -1e308] }] } },
      }),
      FIXTURE_RECEIVED_AT_MS,
    );
    const points = toDatapoints(result, nodeDimensions(result, undefined), defaults, receivedAtSeconds);
    const avg = points.find((p) => p.metric === 'catchpoint.traceroute.rtt_avg');
    assert.ok(avg && Number.isFinite(avg.value));
  });
});

describe('request bodies: one JSON.stringify of a push, byte for byte what serializeDatapoint writes', () => {
  const perPoint = (points: readonly Datapoint[]): string => `[${points.map(serializeDatapoint).join(',')}]`;
  const bodyOf = (points: readonly Datapoint[]): string => {
    const { bodies, oversized } = packRequestBodies(points);
    assert.equal(bodies.length, 1);
    assert.deepEqual(oversized, []);
    assert.equal(bodies[0]!.encoding, 'identity');
    return String(bodies[0]!.bytes);
  };

  it('for every push fixture, with and without its node, in both namings and every set', () => {
    const every: MetricOptions = {
      sets: parseMetricSets('core,timing,ping,traceroute,bytes,counters'),
      naming: 'default',
    };
    for (const name of pushFixtureNames()) {
      for (const options of [defaults, every, { ...every, naming: 'per-test' as const }]) {
        for (const node of [undefined, saoPaulo]) {
          const points = pointsFor(name, node, options);
          assert.ok(points.length > 0);
          assert.equal(bodyOf(points), perPoint(points), name);
        }
      }
    }
  });

  it('for values at the edges: -0, fractions, 2^53 − 1; beyond 2^53 the exponent form, as before', () => {
    const tags = { testid: '1', nodeid: '2', city: 'São_Paulo', isp: '東京' };
    const values = [
      0,
      -0,
      1.5,
      -181.25,
      1e-7,
      123456789.123,
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
    ];
    const points = values.map((v, i) => datapoint(`catchpoint.timing.m${i}`, 1_764_000_000, v, tags));
    assert.equal(bodyOf(points), perPoint(points));
    for (const huge of [2 ** 53 + 2, 2 ** 64, -(2 ** 63), 1e308]) {
      const withHuge = [...points, datapoint('catchpoint.timing.total', 1_764_000_000, huge, tags)];
      assert.equal(bodyOf(withHuge), perPoint(withHuge));
      assert.match(bodyOf(withHuge), /"value":-?\d(\.\d+)?e\+\d+,/);
    }
  });

  it('what does not fit one plain request is split as before, each body within the limit', () => {
    const tags = { testid: '1', nodeid: '2', isp: 'x'.repeat(150) };
    const points = Array.from({ length: 120 }, (_, i) =>
      datapoint(`catchpoint.timing.m${i}`, 1_764_000_000, i, tags),
    );
    const { bodies } = packRequestBodies(points);
    assert.ok(bodies.length >= 1);
    for (const body of bodies) assert.ok(Buffer.byteLength(body.bytes) <= MAX_BODY_BYTES);
    assert.equal(
      bodies.reduce((n, b) => n + b.points.length, 0),
      points.length,
    );
  });

  it('points read back from the spool are rebuilt in their own shape, whatever else the item held', () => {
    const points = pointsFor('v4-web-failed.json', saoPaulo);
    const stray = points.map((p) => ({
      note: 'x',
      tags: p.tags,
      value: p.value,
      timestamp: p.timestamp,
      metric: p.metric,
    }));
    const decoded = decodePoints(gzipSync(JSON.stringify(stray))).points;
    assert.equal(bodyOf(decoded), perPoint(points));
  });
});
