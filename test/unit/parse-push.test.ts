import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIXTURE_RECEIVED_AT_MS, fixture, pushFixtureNames } from '../../dev/fixtures.js';
import { parsePush } from '../../lambda/webhook/parse-push.js';
import { PushRejected, type RejectionKind } from '../../lambda/webhook/push-rejected.js';
import { parseCatchpointTimestamp } from '../../lambda/webhook/timestamp.js';

const at = FIXTURE_RECEIVED_AT_MS;
const parse = (body: string) => parsePush(body, at);
const entries = (m: Map<string, number>) => Object.fromEntries(m);

function rejects(body: string, kind: RejectionKind, pattern: RegExp): void {
  assert.throws(
    () => parse(body),
    (error: unknown) => {
      assert.ok(error instanceof PushRejected, `expected PushRejected, got ${String(error)}`);
      assert.equal(error.kind, kind);
      assert.match(error.message, pattern);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    },
  );
}

describe('parsePush: the shared fixtures', () => {
  it('parses every fixture without error', () => {
    const names = pushFixtureNames();
    assert.equal(names.length, 6);
    for (const name of names) assert.ok(parse(fixture(`push/${name}`)).testId > 0, name);
  });

  it('v3 success: identity, UTC timestamp with milliseconds dropped, total', () => {
    const r = parse(fixture('push/v3-dns-ok.json'));
    assert.equal(r.testId, 90001);
    assert.equal(r.nodeId, 77);
    assert.equal(r.nodeName, 'Osaka, JP - KDDI');
    assert.equal(r.asn, 2516);
    assert.equal(r.typeId, 5);
    assert.equal(r.timestamp, Date.UTC(2026, 10, 24, 12, 4, 12) / 1000);
    assert.equal(r.failed, false);
    assert.equal(r.errorName, undefined);
    assert.deepEqual(entries(r.timing), { total: 23 });
  });

  it('v3 failure with an error code and no timing', () => {
    const r = parse(fixture('push/v3-dns-error-code.json'));
    assert.equal(r.failed, true);
    assert.equal(r.errorName, 'any', 'a text code is not a tag value; no flag is raised');
    assert.equal(r.timing.size, 0);
    assert.equal(r.timestamp, Date.UTC(2026, 10, 24, 12, 5, 33) / 1000);
  });

  it('v4 web failure: flags without a code, nested ContentType, bytes and counters, unbounded maps ignored', () => {
    const r = parse(fixture('push/v4-web-failed.json'));
    assert.equal(r.failed, true);
    assert.equal(r.errorName, 'loadobjects');
    assert.equal(r.nodeName, 'São Paulo, BR - Claro');
    assert.deepEqual(entries(r.timing), {
      total: 4210,
      connect: 14,
      dns: 3,
      content_load: 4100,
      load: 7,
      send: 0,
      ssl: 30,
      wait: 640,
      wire: 2900,
      client: 75,
      'content_type.image': 3100,
      'content_type.script': 2400,
      'content_type.html': 600,
      'content_type.css': 120,
      'content_type.font': 90,
      document_complete: 3300,
      dom_load: 1500,
      render_start: 1600,
    });
    assert.deepEqual(entries(r.bytes), {
      content: 4800,
      headers: 1200,
      total_content: 2400000,
      total_headers: 41000,
    });
    assert.deepEqual(entries(r.counters), {
      connections: 18,
      hosts: 12,
      failed_requests: 1,
      requests: 70,
      cached: 2,
      redirections: 1,
    });
    assert.equal(r.traceroute, undefined);
  });

  it('v4 ping', () => {
    const r = parse(fixture('push/v4-ping.json'));
    assert.deepEqual(entries(r.ping), { packet_loss_pct: 25, round_trip_time_avg: 181.5 });
    assert.equal(r.typeId, 6);
  });

  it('v4 traceroute: hop count and the last hop round trips with lost probes', () => {
    const r = parse(fixture('push/v4-traceroute.json'));
    assert.deepEqual(r.traceroute, { hops: 3, lastHopRoundTrips: [30, null, 32] });
  });

  it('template: string values, empty strings absent, "False" flags, template field names', () => {
    const r = parse(fixture('push/template-web-ok.json'));
    assert.equal(r.testId, 90002);
    assert.equal(r.nodeId, 77);
    assert.equal(r.asn, 2516);
    assert.equal(r.typeId, 0);
    assert.equal(r.failed, false);
    assert.equal(r.timestamp, Date.UTC(2026, 10, 24, 12, 8, 12) / 1000);
    assert.deepEqual(entries(r.timing), { total: 812, connect: 12, dns: 4, load: 30, ssl: 40, wait: 300 });
    assert.deepEqual(entries(r.bytes), { content: 5000 });
    assert.deepEqual(entries(r.counters), { connections: 3, requests: 9 });
  });
});

describe('parsePush: templates in other shapes', () => {
  it('accepts lower-case macro names and flat identity', () => {
    const r = parse(
      JSON.stringify({
        testid: '5',
        nodeid: '6',
        nodename: 'Paris, FR - Orange',
        asn: 'AS3215',
        summary: { timestamp: '20261124100000000', timingtotal: '100', timingdns: '7', errorany: 'false' },
      }),
    );
    assert.equal(r.testId, 5);
    assert.equal(r.nodeId, 6);
    assert.equal(r.asn, 3215);
    assert.deepEqual(entries(r.timing), { total: 100, dns: 7 });
    assert.equal(r.failed, false);
  });

  it('reads True flags as a failure and names the first specific flag', () => {
    const r = parse(
      JSON.stringify({
        TestDetails: { TestId: '1', NodeId: '2' },
        Summary: { AnyError: 'True', DNSError: 'True', TimeoutError: 'False' },
      }),
    );
    assert.equal(r.failed, true);
    assert.equal(r.errorName, 'dns');
  });

  it('prefers an error code over flags', () => {
    const r = parse(JSON.stringify({ TestId: 1, NodeId: 2, Summary: { AnyError: '1', ErrorCode: '500' } }));
    assert.equal(r.errorName, '500');
  });

  it('ignores unknown template fields instead of inventing metrics', () => {
    const r = parse(
      JSON.stringify({ TestId: 1, NodeId: 2, Summary: { MyCustomField: '42', TotalTime: '9' } }),
    );
    assert.deepEqual(entries(r.timing), { total: 9 });
  });
});

describe('parsePush: failures and odd values in default JSON', () => {
  it('a failed run with only Any set is named any', () => {
    const r = parse(JSON.stringify({ TestId: 1, NodeId: 2, Summary: { Error: { Any: 1 } } }));
    assert.equal(r.errorName, 'any');
  });

  it('an Error object with all flags zero is a success', () => {
    const r = parse(JSON.stringify({ TestId: 1, NodeId: 2, Summary: { Error: { Any: 0, Dns: 0 } } }));
    assert.equal(r.failed, false);
  });

  it('skips non-numeric and non-finite timing values and hostile keys', () => {
    const r = parse(
      JSON.stringify({
        TestId: 1,
        NodeId: 2,
        Summary: {
          Timing: { Total: 'NaN', Dns: 'Infinity', Connect: null, 'Bad Key': 3, Wait: '12', Ssl: 4 },
        },
      }),
    );
    assert.deepEqual(entries(r.timing), { wait: 12, ssl: 4 });
  });

  it('traceroute with a silent last hop has loss but no round trip', () => {
    const r = parse(
      JSON.stringify({
        TestId: 1,
        NodeId: 2,
        Diagnostic: {
          TraceRoute: { Hops: [{ RoundTripTimes: [1, 2, 3] }, { RoundTripTimes: [null, null, null] }] },
        },
      }),
    );
    assert.deepEqual(r.traceroute, { hops: 2, lastHopRoundTrips: [null, null, null] });
  });
});

describe('parsePush: what is not a test run', () => {
  it('XML is an unsupported format, asking for JSON', () =>
    rejects('<?xml version="1.0"?><TestRun/>', 'unsupported-format', /JSON/));
  it('an empty body is invalid', () => rejects('   ', 'invalid', /empty body/));
  it('invalid JSON is refused without quoting the body', () => {
    rejects('{"TestId": 1, secret-ish', 'invalid', /not valid JSON/);
    assert.throws(
      () => parse('{"TestId": 1, secret-ish'),
      (e: Error) => !e.message.includes('secret'),
    );
  });
  it('an array is invalid', () => rejects('[1,2]', 'invalid', /not a JSON object/));
  it('a JSON string is invalid', () => rejects('"hello"', 'invalid', /not a JSON object/));
  it('no TestId', () => rejects('{"NodeId":1,"Summary":{}}', 'invalid', /TestId is missing/));
  it('no NodeId', () => rejects('{"TestId":1,"Summary":{}}', 'invalid', /NodeId is missing/));
  it('TestId not a number', () =>
    rejects('{"TestId":"abc","NodeId":1}', 'invalid', /TestId is not a number/));
  it('TestId an object', () => rejects('{"TestId":{},"NodeId":1}', 'invalid', /TestId is not a number/));
  it('NodeId negative', () =>
    rejects('{"TestId":1,"NodeId":-4}', 'invalid', /NodeId must be a positive whole number/));
  it('TestId fractional', () =>
    rejects('{"TestId":1.5,"NodeId":4}', 'invalid', /TestId must be a positive whole number/));
  it('TestId huge', () =>
    rejects('{"TestId":1e300,"NodeId":4}', 'invalid', /TestId must be a positive whole number/));
});

describe('Catchpoint timestamps', () => {
  const now = Date.UTC(2026, 10, 25, 0, 0, 0);
  it('reads 17 digits as UTC and drops milliseconds (never rounds up)', () => {
    assert.equal(
      parseCatchpointTimestamp('20261124235959999', now),
      Date.UTC(2026, 10, 24, 23, 59, 59) / 1000,
    );
  });
  it('accepts 14 digits, also as a number', () => {
    assert.equal(parseCatchpointTimestamp('20261124120000', now), Date.UTC(2026, 10, 24, 12) / 1000);
    assert.equal(parseCatchpointTimestamp(20261124120000, now), Date.UTC(2026, 10, 24, 12) / 1000);
  });
  it('refuses 17 digits as a JSON number: the double may have rounded into the next second', () => {
    // biome-ignore lint/correctness/noPrecisionLoss: the rounding is what this case is about
    assert.equal(parseCatchpointTimestamp(20261124120412999, now), undefined);
    assert.equal(
      parseCatchpointTimestamp('20261124120412999', now),
      Date.UTC(2026, 10, 24, 12, 4, 12) / 1000,
    );
  });
  it('refuses impossible dates, pre-2000 and far-future instants', () => {
    assert.equal(parseCatchpointTimestamp('20260231120000000', now), undefined);
    assert.equal(parseCatchpointTimestamp('20261124246000000', now), undefined);
    assert.equal(parseCatchpointTimestamp('19991231235959999', now), undefined);
    assert.equal(parseCatchpointTimestamp('20261126000001000', now), undefined);
    assert.equal(parseCatchpointTimestamp('2026-11-24', now), undefined);
    assert.equal(parseCatchpointTimestamp(-1, now), undefined);
  });
  it('allows up to one day ahead of receipt', () => {
    assert.equal(
      parseCatchpointTimestamp('20261125235959000', now),
      Date.UTC(2026, 10, 25, 23, 59, 59) / 1000,
    );
  });
  it('falls back to TestRuntime, then to receipt time', () => {
    const viaRuntime = parse(
      '{"TestId":1,"NodeId":2,"TestRuntime":"20261124100000000","Summary":{"Timestamp":"bad"}}',
    );
    assert.equal(viaRuntime.timestamp, Date.UTC(2026, 10, 24, 10) / 1000);
    assert.equal(parse('{"TestId":1,"NodeId":2}').timestamp, undefined);
  });
});

describe('parsePush: measurement names stay a small fixed set', () => {
  it('ignores fields Catchpoint does not document, whatever their number', () => {
    const timing: Record<string, number> = { Total: 5, Dns: 1 };
    for (let i = 0; i < 5000; i++) timing[`K${i}`] = i;
    const r = parse(JSON.stringify({ TestId: 1, NodeId: 2, Summary: { Timing: timing } }));
    assert.deepEqual(entries(r.timing), { total: 5, dns: 1 });
    // A few of them are named, so that the push path can say what it left out.
    assert.deepEqual(r.ignoredFields, ['Timing.K0', 'Timing.K1', 'Timing.K2', 'Timing.K3', 'Timing.K4']);
  });

  it('names an undocumented numeric field, and nothing for a known run', () => {
    const r = parse(
      JSON.stringify({ TestId: 1, NodeId: 2, Summary: { Ping: { Jitter: 3, PacketLossPct: 0 } } }),
    );
    assert.deepEqual(entries(r.ping), { packet_loss_pct: 0 });
    assert.deepEqual(r.ignoredFields, ['Ping.Jitter']);
    assert.equal(parse(fixture('push/v4-web-failed.json')).ignoredFields, undefined);
  });

  it('reads ContentType one level deep, however deep it nests', () => {
    let nested = '{"Image":1}';
    for (let i = 0; i < 20_000; i++) nested = `{"ContentType":${nested}}`;
    const body = `{"TestId":1,"NodeId":2,"Summary":{"Timing":{"Total":3,"ContentType":{"Script":4,"ContentType":${nested}}}}}`;
    const r = parse(body);
    assert.deepEqual(entries(r.timing), { total: 3, 'content_type.script': 4 });
  });
});

describe('parsePush: error values that say "no error"', () => {
  for (const error of ['0', 'False', '', ' false ']) {
    it(`Summary.Error ${JSON.stringify(error)} is a success`, () => {
      assert.equal(parse(JSON.stringify({ TestId: 1, NodeId: 2, Summary: { Error: error } })).failed, false);
    });
  }
  it('an Error.Code of "0" is no code', () => {
    assert.equal(
      parse(JSON.stringify({ TestId: 1, NodeId: 2, Summary: { Error: { Code: '0' } } })).failed,
      false,
    );
  });
  it('a text error is a failure, tagged any', () => {
    const r = parse(JSON.stringify({ TestId: 1, NodeId: 2, Summary: { Error: 'TIMEOUT' } }));
    assert.deepEqual([r.failed, r.errorName], [true, 'any']);
  });
  it('a numeric error value is its code', () => {
    const r = parse(JSON.stringify({ TestId: 1, NodeId: 2, Summary: { Error: 12029 } }));
    assert.deepEqual([r.failed, r.errorName], [true, '12029']);
  });
});

describe('parsePush: the error tag takes only a bounded set of values', () => {
  const tagOf = (error: unknown) =>
    parse(JSON.stringify({ TestId: 1, NodeId: 2, Summary: { Error: error } })).errorName;
  it('a whole-number code of at most 10 digits, number or string', () => {
    assert.equal(tagOf({ Code: 12029 }), '12029');
    assert.equal(tagOf({ Code: '12029', Dns: 1 }), '12029');
    assert.equal(tagOf({ Code: ' 0042 ' }), '42');
    assert.equal(tagOf({ Code: '9999999999' }), '9999999999');
  });
  it('otherwise the first raised documented flag, lower-cased', () => {
    assert.equal(tagOf({ Code: 'NXDOMAIN', Any: 1, Dns: 1 }), 'dns');
    assert.equal(tagOf({ Code: '12345678901', Any: 1, Timeout: 1 }), 'timeout', 'an 11-digit code is text');
    assert.equal(tagOf({ Code: '-5', SSL: 1 }), 'ssl');
    assert.equal(tagOf({ Code: 3.5, SystemLimit: 1 }), 'systemlimit');
    assert.equal(tagOf({ Any: 1, LoadObjects: 1, Connection: 1 }), 'loadobjects');
    assert.equal(tagOf({ Any: 1, MadeUpFlag: 1, Transaction: 1 }), 'transaction');
  });
  it('other for only undocumented flags, any for only Any or a text code', () => {
    assert.equal(tagOf({ Any: 1, MadeUpFlag: 1 }), 'other');
    assert.equal(tagOf({ 'evil<script>': 1 }), 'other');
    assert.equal(tagOf({ Any: 1 }), 'any');
    assert.equal(tagOf({ Code: 'Some free text, 5000 of them' }), 'any');
    assert.equal(tagOf('NXDOMAIN'), 'any');
  });
  it('template payloads follow the same rule', () => {
    const tagOfTemplate = (summary: Record<string, string>) =>
      parse(JSON.stringify({ TestId: 1, NodeId: 2, Summary: summary })).errorName;
    assert.equal(tagOfTemplate({ AnyError: 'True', ErrorCode: 'NXDOMAIN', DNSError: 'True' }), 'dns');
    assert.equal(tagOfTemplate({ AnyError: 'True', ErrorCode: '12002' }), '12002');
    assert.equal(tagOfTemplate({ ErrorCode: 'free text' }), 'any');
    assert.equal(tagOfTemplate({ ErrorObjectsLoaded: '1' }), 'loadobjects');
  });
});
