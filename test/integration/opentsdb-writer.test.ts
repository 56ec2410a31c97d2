import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  type OpenTsdbFault,
  OpenTsdbMessages,
  type OpenTsdbStandIn,
  type PoisonKind,
  startOpenTsdbStandIn,
} from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import { CircuitBreaker, FIRST_PROBE_MS } from '../../lambda/opentsdb/circuit-breaker.js';
import type { Datapoint } from '../../lambda/opentsdb/datapoint.js';
import { httpPost, type PostAnswer } from '../../lambda/opentsdb/http-post.js';
import { MAX_BODY_BYTES } from '../../lambda/opentsdb/request-body.js';
import { OpenTsdbWriter, type WriterOptions } from '../../lambda/opentsdb/writer.js';
import { captureLog } from '../support/capture-log.js';

const TS = 1795521852;
/** Generous: a loaded machine must never make a request the test expects to succeed time out. */
const PATIENT_MS = 10_000;
/** For requests a test expects to hang: they fail whatever the machine's load. */
const IMPATIENT_MS = 300;

function points(n: number, metric = 'catchpoint.rtt.by_node', timestamp = TS): Datapoint[] {
  return Array.from({ length: n }, (_, i) => ({
    metric,
    timestamp,
    value: i * 1.5,
    tags: { testid: String(90000 + (i % 50)), nodeid: String(i), city: `City_${(i * 7919) % 1000}` },
  }));
}

/** A breaker on a clock the test moves, so that probes are due when the test says, not after a sleep. */
function movableBreaker() {
  const clock = { now: Date.now() };
  const breaker = new CircuitBreaker({ now: () => clock.now, random: () => 0 });
  return { breaker, clock, probeNow: () => (clock.now += breaker.probeInMs) };
}

const puts = (tsdb: OpenTsdbStandIn) => tsdb.requests.filter((r) => r.path.startsWith('/api/put'));
const assigns = (tsdb: OpenTsdbStandIn) => tsdb.requests.filter((r) => r.path.startsWith('/api/uid/assign'));

describe('OpenTsdbWriter against the strict OpenTSDB stand-in', () => {
  let tsdb: OpenTsdbStandIn;
  before(async () => {
    tsdb = await startOpenTsdbStandIn();
  });
  after(() => tsdb.close());
  beforeEach(() => {
    tsdb.reset();
    tsdb.fault = 'none';
  });

  /** A writer with its own breaker, so that one test's outage is not the next one's. */
  const writer = (options: Partial<WriterOptions> = {}) =>
    new OpenTsdbWriter(tsdb.url, {
      timeoutMs: PATIENT_MS,
      log: captureLog(),
      breaker: new CircuitBreaker(),
      ...options,
    });

  it('registers an unknown metric name the bridge defines once, resends, and every point is stored', async () => {
    const w = writer();
    const batch = [
      ...points(3, 'catchpoint.timing.dns'),
      ...points(2, 'catchpoint.rtt.by_asn.90001'), // per-test naming
    ];
    const out = await w.write(batch, Date.now() + PATIENT_MS);
    assert.deepEqual(
      [out.written, out.rejected.length, out.pending.length, out.unavailable],
      [5, 0, 0, false],
    );
    assert.equal(tsdb.points.length, 5);
    assert.equal(assigns(tsdb).length, 1);
    // A second write with the same names needs no registration.
    await w.write(points(2, 'catchpoint.timing.dns', TS + 60), Date.now() + PATIENT_MS);
    assert.equal(assigns(tsdb).length, 1);
    assert.deepEqual(tsdb.violations, []);
  });

  it('never asks /api/uid/assign for a name the bridge does not define; its points are rejected', async () => {
    const log = captureLog();
    const w = writer({ log });
    const batch = [
      ...points(2, 'catchpoint.timing.jitterish'),
      ...points(1, 'sys.cpu.user'),
      ...points(2, 'catchpoint.ping.packet_loss_pct'),
    ];
    const out = await w.write(batch, Date.now() + PATIENT_MS);
    assert.equal(out.written, 2);
    assert.deepEqual(
      out.rejected.map((r) => r.point.metric),
      ['catchpoint.timing.jitterish', 'catchpoint.timing.jitterish', 'sys.cpu.user'],
    );
    assert.match(out.rejected[0]!.reason, /not a metric name the bridge writes/);
    assert.equal(out.pending.length, 0);
    assert.equal(assigns(tsdb).length, 1, 'one registration, for the bridge name only');
    assert.ok(!tsdb.knownMetrics.has('catchpoint.timing.jitterish'));
    assert.ok(!tsdb.knownMetrics.has('sys.cpu.user'));
    assert.ok(tsdb.knownMetrics.has('catchpoint.ping.packet_loss_pct'));
    assert.ok(log.entries.some((e) => e.message === 'opentsdb rejected datapoint'));
  });

  it('sends each body as it is, with Content-Length, never Expect, with details and sync, and reuses the connection', async () => {
    const w = writer({ timeoutMs: 4000 });
    tsdb.knownMetrics.add('catchpoint.rtt.by_city');
    await w.write(points(10, 'catchpoint.rtt.by_city'), Date.now() + PATIENT_MS);
    await w.write(points(10, 'catchpoint.rtt.by_city', TS + 1), Date.now() + PATIENT_MS);
    assert.equal(puts(tsdb).length, 2);
    for (const put of puts(tsdb)) {
      assert.equal(put.path, '/api/put?details&sync&sync_timeout=3750');
      assert.deepEqual(put.flags, { details: true, summary: false, sync: true, syncTimeout: '3750' });
      assert.equal(put.headers['content-encoding'], undefined, 'a body within the limit is not compressed');
      assert.equal(put.headers['content-length'], String(put.bodyBytes));
      assert.equal(put.headers.expect, undefined);
      assert.equal(put.headers['transfer-encoding'], undefined);
    }
    assert.equal(
      new Set(puts(tsdb).map((r) => r.connection)).size,
      1,
      'keep-alive: one connection for all puts',
    );
    assert.deepEqual(tsdb.violations, []);
  });

  it('takes sync_timeout from the time left: never past the deadline', async () => {
    tsdb.knownMetrics.add('catchpoint.rtt.by_isp');
    const out = await writer({ timeoutMs: 60_000 }).write(
      points(2, 'catchpoint.rtt.by_isp'),
      Date.now() + 2000,
    );
    assert.equal(out.written, 2);
    const syncTimeout = Number(puts(tsdb)[0]!.flags.syncTimeout);
    assert.ok(syncTimeout > 0 && syncTimeout <= 2000 - 250, `sync_timeout=${syncTimeout} with 2 s left`);
  });

  it('OPENTSDB_SYNC=false: puts without sync (or sync_timeout)', async () => {
    tsdb.knownMetrics.add('catchpoint.rtt.by_region');
    const out = await writer({ sync: false }).write(
      points(3, 'catchpoint.rtt.by_region'),
      Date.now() + PATIENT_MS,
    );
    assert.equal(out.written, 3);
    assert.equal(puts(tsdb)[0]!.path, '/api/put?details');
    assert.deepEqual(tsdb.violations, []);
  });

  it('without sync, points HBase fails are answered as stored and lost: the risk OPENTSDB_SYNC=false takes', async () => {
    tsdb.knownMetrics.add('catchpoint.rtt.by_country');
    tsdb.fault = 'storage';
    const unsynced = await writer({ sync: false }).write(
      points(3, 'catchpoint.rtt.by_country'),
      Date.now() + PATIENT_MS,
    );
    assert.deepEqual(
      [unsynced.written, unsynced.pending.length],
      [3, 0],
      'the writer is told they are stored',
    );
    assert.equal(tsdb.points.length, 0);
    assert.equal(tsdb.lost.length, 3, 'only the TSD log knows');
    // With sync, the same failure leaves them pending.
    const synced = await writer().write(
      points(3, 'catchpoint.rtt.by_country', TS + 60),
      Date.now() + PATIENT_MS,
    );
    assert.deepEqual([synced.written, synced.pending.length, synced.rejected.length], [0, 3, 0]);
  });

  it('splits a large batch into bodies of at most 8192 compressed bytes', async () => {
    tsdb.knownMetrics.add('catchpoint.rtt.by_continent');
    const many = points(5000, 'catchpoint.rtt.by_continent');
    const out = await writer().write(many, Date.now() + 30_000);
    assert.equal(out.written, 5000);
    assert.equal(tsdb.points.length, 5000);
    assert.ok(puts(tsdb).length > 1, 'needed more than one request');
    assert.ok(puts(tsdb).every((r) => r.bodyBytes <= MAX_BODY_BYTES && r.status === 200));
    // Bodies that would be over the limit as JSON go gzipped, and then hold far more than 8192 bytes of JSON;
    // one that fits as JSON (the last, here) goes as it is.
    const gzipped = puts(tsdb).filter((r) => r.headers['content-encoding'] === 'gzip');
    assert.ok(gzipped.length >= puts(tsdb).length - 1);
    assert.ok(gzipped.every((r) => (r.decodedBodyBytes ?? 0) > 4 * MAX_BODY_BYTES));
    assert.deepEqual(tsdb.violations, []);
  });

  it("rejects points for OpenTSDB's validation reasons only, logs them, and stores the rest of the batch", async () => {
    const metric = 'catchpoint.status.by_node';
    tsdb.knownMetrics.add(metric);
    const log = captureLog();
    const good = points(3, metric);
    const bad: Datapoint[] = [
      { metric, timestamp: TS, value: 1, tags: { city: 'a,b' } },
      { metric, timestamp: 0, value: 1, tags: { nodeid: '1' } },
      { metric, timestamp: TS, value: 1, tags: {} },
      {
        metric,
        timestamp: TS,
        value: 1,
        tags: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 'v'])),
      },
    ];
    const out = await writer({ log }).write([...good, ...bad], Date.now() + PATIENT_MS);
    assert.equal(out.written, 3);
    assert.equal(out.pending.length, 0);
    assert.equal(out.unavailable, false);
    assert.deepEqual(
      out.rejected.map((r) => r.reason.replace(/:.*/, '')),
      ['Invalid tag value ("a,b")', 'Invalid timestamp', 'Missing tags', 'Too many tags'],
    );
    assert.equal(tsdb.points.length, 3);
    const logged = log.entries.filter((e) => e.message === 'opentsdb rejected datapoint');
    assert.equal(logged.length, 4);
    assert.match(String(logged[0]!.attributes.datapoint), /a,b/);
  });

  it('a request refused whole (400 without details) leaves its points pending, not unavailable, the breaker closed', async () => {
    tsdb.knownMetrics.add('catchpoint.rtt.by_node');
    const breaker = new CircuitBreaker();
    // A body OpenTSDB cannot take as a whole: an empty array.
    const emptied = (url: URL, _body: string | Buffer, headers: Record<string, string>, timeoutMs: number) =>
      httpPost(url, Buffer.from('[]'), { 'Content-Type': headers['Content-Type']! }, timeoutMs);
    const out = await writer({ breaker, post: emptied }).write(points(3), Date.now() + PATIENT_MS);
    assert.deepEqual(
      [out.written, out.rejected.length, out.pending.length, out.unavailable],
      [0, 0, 3, false],
    );
    assert.match(out.lastError ?? '', /refused the request: HTTP 400: No datapoints found in content/);
    assert.equal(breaker.state, 'closed');
    assert.equal(puts(tsdb).length, 1, 'not sent again: it would be refused again');
  });

  it('a transient reason on some points while others are stored: those are resent, the breaker stays closed', async () => {
    const sent: string[] = [];
    const p = points(2);
    const answers: PostAnswer[] = [
      {
        status: 200,
        body: JSON.stringify({
          success: 1,
          failed: 1,
          errors: [
            { datapoint: { ...p[1], value: String(p[1]!.value) }, error: OpenTsdbMessages.unseenException },
          ],
        }),
      },
      { status: 200, body: '{"success":1,"failed":0,"errors":[]}' },
    ];
    const breaker = new CircuitBreaker();
    const w = writer({
      breaker,
      sleep: async () => {},
      post: async (_url, body) => {
        sent.push(body.toString());
        return answers.shift()!;
      },
    });
    const out = await w.write(p, Date.now() + PATIENT_MS);
    assert.deepEqual([out.written, out.rejected.length, out.pending.length], [2, 0, 0]);
    assert.equal(sent.length, 2);
    assert.equal(JSON.parse(sent[1]!).length, 1, 'only the failed point went again');
    assert.equal(breaker.state, 'closed');
  });

  it('a reset on a reused keep-alive connection is sent again, without opening the breaker', async () => {
    tsdb.knownMetrics.add('catchpoint.rtt.by_node');
    const breaker = new CircuitBreaker();
    const w = writer({ breaker });
    assert.equal((await w.write(points(1), Date.now() + PATIENT_MS)).written, 1);
    tsdb.failNext(1, 'down');
    const out = await w.write(points(2, 'catchpoint.rtt.by_node', TS + 60), Date.now() + PATIENT_MS);
    assert.equal(out.written, 2);
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(
      puts(tsdb).map((r) => r.outcome),
      ['answered', 'destroyed', 'answered'],
    );
  });
});

describe('OpenTsdbWriter reading a passed sync_timeout (400 with timeouts) and storage failures (200)', () => {
  let tsdb: OpenTsdbStandIn;
  before(async () => {
    tsdb = await startOpenTsdbStandIn({ knownMetrics: ['catchpoint.rtt.by_node'] });
  });
  after(() => tsdb.close());
  beforeEach(() => tsdb.reset());

  const poisonedNode = (p: { tags: Record<string, string> }) => p.tags.nodeid === '1';

  it('the points named "Write timedout" stay pending, the others are written; read, not "unreadable"; one request', async () => {
    tsdb.poison(poisonedNode, 'timeout');
    const breaker = new CircuitBreaker();
    const out = await new OpenTsdbWriter(tsdb.url, { timeoutMs: 1000, log: captureLog(), breaker }).write(
      points(3),
      Date.now() + PATIENT_MS,
    );
    assert.equal(out.written, 2);
    assert.deepEqual(
      out.pending.map((p) => p.tags.nodeid),
      ['1'],
    );
    assert.equal(out.rejected.length, 0);
    assert.match(out.lastError ?? '', /Write timedout/);
    assert.doesNotMatch(out.lastError ?? '', /unreadable|counting/);
    assert.equal(puts(tsdb).length, 1, 'a timed-out point is not sent again to wait as long again');
    assert.equal(puts(tsdb)[0]!.status, 400);
    assert.deepEqual(
      tsdb.points.map((p) => p.tags.nodeid),
      ['0', '2'],
    );
    assert.equal(breaker.state, 'closed');
  });

  it('without details naming them, the counts settle nothing as stored: every point stays pending', async () => {
    for (const counts of [
      { success: 2, failed: 0, timeouts: 1 },
      { success: 0, failed: 1, timeouts: 2 },
    ]) {
      const sent: string[] = [];
      const out = await new OpenTsdbWriter(tsdb.url, {
        timeoutMs: 1000,
        log: captureLog(),
        breaker: new CircuitBreaker(),
        post: async (_url, body) => {
          sent.push(body.toString());
          return { status: 400, body: JSON.stringify(counts) };
        },
      }).write(points(3), Date.now() + PATIENT_MS);
      assert.deepEqual(
        [out.written, out.pending.length, out.rejected.length],
        [0, 3, 0],
        JSON.stringify(counts),
      );
      assert.match(out.lastError ?? '', /sync_timeout passed: \d stored, \d failed, \d timed out/);
      assert.equal(sent.length, 1);
    }
  });

  it('a storage failure under sync (a 200 with failed > 0): the failed point is pending, the others written', async () => {
    tsdb.poison(poisonedNode, 'storage');
    const out = await new OpenTsdbWriter(tsdb.url, {
      timeoutMs: 1000,
      log: captureLog(),
      breaker: new CircuitBreaker(),
    }).write(points(3), Date.now() + PATIENT_MS);
    assert.equal(puts(tsdb)[0]!.status, 200);
    assert.equal(out.written, 2);
    assert.deepEqual(
      out.pending.map((p) => p.tags.nodeid),
      ['1'],
    );
    assert.equal(out.rejected.length, 0);
    assert.match(out.lastError ?? '', /Storage exception/);
    assert.deepEqual(
      tsdb.points.map((p) => p.tags.nodeid),
      ['0', '2'],
    );
  });
});

describe('OpenTsdbWriter when OpenTSDB fails for everyone: nothing rejected, everything pending, the breaker open', () => {
  let tsdb: OpenTsdbStandIn;
  before(async () => {
    tsdb = await startOpenTsdbStandIn({ knownMetrics: ['catchpoint.rtt.by_node'] });
  });
  after(() => tsdb.close());
  beforeEach(async () => {
    await tsdb.acceptConnections();
    tsdb.reset();
  });

  /**
   * Each way OpenTSDB fails, and what the write's `lastError` says of it. `atOnce`: no answer at all, which
   * no content causes: the first write opens the breaker. Every other failure may be one run's own (some
   * content OpenTSDB fails on): a write of one run leaves the breaker closed, a second run's opens it.
   */
  const failures: Array<{
    name: string;
    fault: OpenTsdbFault | 'refused';
    says: RegExp;
    stored?: boolean;
    atOnce?: boolean;
  }> = [
    { name: 'connection refused', fault: 'refused', says: /ECONNREFUSED/, atOnce: true },
    { name: 'connection reset', fault: 'down', says: /ECONNRESET|socket hang up/ },
    { name: 'no answer (timeout)', fault: 'hang', says: /timed out/, atOnce: true },
    { name: 'a 500', fault: '500', says: /^OpenTSDB answered HTTP 500: Unexpected exception$/ },
    { name: 'an empty 200', fault: 'empty-200', says: /HTTP 200 with an empty body/ },
    { name: 'an HTML 200', fault: 'html-200', says: /HTTP 200 with a body that is not JSON/ },
    {
      name: 'counts that do not add up',
      fault: 'miscount',
      says: /success 4 and failed 0 of 3/,
      stored: true,
    },
    { name: 'a reason nobody has seen', fault: 'unknown-reason', says: /IllegalStateException/ },
    { name: 'HBase failing (sync)', fault: 'storage', says: /Storage exception: / },
    { name: 'HBase stalled (sync_timeout)', fault: 'stall', says: /Write timedout|timed out/ },
    { name: 'throttling', fault: 'throttle', says: /Please throttle/ },
  ];

  for (const { name, fault, says, stored, atOnce } of failures) {
    const when = atOnce ? 'at the first write' : "at the second run's write";
    it(`${name}: pending, unavailable ${when}; the next write asks nothing; the first success after recovery closes it`, async () => {
      const { breaker, probeNow } = movableBreaker();
      const log = captureLog();
      const failing = new OpenTsdbWriter(tsdb.url, { timeoutMs: IMPATIENT_MS, log, breaker });
      if (fault === 'refused') await tsdb.refuseConnections();
      else tsdb.fault = fault;

      const pending: Datapoint[] = [];
      if (!atOnce) {
        // One run's write: the failure may be its own. Handed back pending at once, the breaker closed.
        const first = await failing.write(
          points(3, 'catchpoint.rtt.by_node', TS - 60),
          Date.now() + PATIENT_MS,
        );
        assert.deepEqual(
          [first.written, first.rejected.length, first.pending.length, first.unavailable, first.suspect],
          [0, 0, 3, false, true],
        );
        assert.match(first.lastError ?? '', says);
        assert.equal(breaker.state, 'closed');
        pending.push(...first.pending);
      }
      const out = await failing.write(points(3), Date.now() + PATIENT_MS);
      assert.deepEqual(
        [out.written, out.rejected.length, out.pending.length, out.unavailable],
        [0, 0, 3, true],
      );
      assert.match(out.lastError ?? '', says);
      assert.equal(breaker.state, 'open');
      assert.ok(log.entries.some((e) => e.message === 'opentsdb circuit opened'));
      pending.push(...out.pending);
      const requests = tsdb.requests.length;

      // While open, a write returns at once: OpenTSDB is not asked.
      const refused = await failing.write(
        points(3, 'catchpoint.rtt.by_node', TS + 60),
        Date.now() + PATIENT_MS,
      );
      assert.deepEqual([refused.written, refused.pending.length, refused.unavailable], [0, 3, true]);
      assert.match(refused.lastError ?? '', /not asked before the next probe/);
      assert.equal(tsdb.requests.length, requests);

      // OpenTSDB is back: the next write once the probe is due goes through and closes the breaker.
      await tsdb.acceptConnections();
      tsdb.fault = 'none';
      probeNow();
      const healthy = new OpenTsdbWriter(tsdb.url, { timeoutMs: PATIENT_MS, log, breaker });
      pending.push(...refused.pending);
      const recovered = await healthy.write(pending, Date.now() + PATIENT_MS);
      const all = pending.length;
      assert.deepEqual([recovered.written, recovered.pending.length, recovered.rejected.length], [all, 0, 0]);
      assert.equal(breaker.state, 'closed');
      assert.ok(log.entries.some((e) => e.message === 'opentsdb circuit closed'));
      assert.equal(tsdb.points.length, all);
      assert.equal(
        tsdb.duplicates,
        stored ? all - 3 : 0,
        'points stored during the failure are rewritten identically',
      );
      assert.deepEqual(tsdb.violations, []);
    });
  }

  it('one probe at a time: concurrent writes while it runs return at once; its failure doubles the wait', async () => {
    const { breaker, probeNow } = movableBreaker();
    const w = new OpenTsdbWriter(tsdb.url, { timeoutMs: IMPATIENT_MS, log: captureLog(), breaker });
    tsdb.fault = 'hang';
    await w.write(points(1), Date.now() + PATIENT_MS);
    assert.equal(breaker.state, 'open');
    probeNow();
    const before = puts(tsdb).length;
    const order: string[] = [];
    const writes = Array.from({ length: 5 }, (_, i) =>
      w.write(points(1, 'catchpoint.rtt.by_node', TS + i), Date.now() + PATIENT_MS).then((out) => {
        order.push(out.lastError?.includes('not asked') ? 'refused' : 'probe');
        return out;
      }),
    );
    const outcomes = await Promise.all(writes);
    assert.equal(puts(tsdb).length - before, 1, 'one request reached OpenTSDB');
    assert.deepEqual(
      order,
      ['refused', 'refused', 'refused', 'refused', 'probe'],
      'the others did not wait for it',
    );
    assert.ok(outcomes.every((o) => o.unavailable && o.pending.length === 1));
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.probeInMs, 2 * FIRST_PROBE_MS);
  });

  it('without a breaker (the old behaviour), a write retries until its deadline', async () => {
    tsdb.fault = 'down';
    const w = new OpenTsdbWriter(tsdb.url, {
      timeoutMs: IMPATIENT_MS,
      log: captureLog(),
      breaker: CircuitBreaker.disabled(),
    });
    const out = await w.write(points(1), Date.now() + 3000);
    assert.deepEqual([out.pending.length, out.unavailable], [1, true]);
    assert.ok(puts(tsdb).length >= 3, `kept trying (${puts(tsdb).length} requests)`);
  });
});

describe('OpenTsdbWriter when registering metric names fails', () => {
  let tsdb: OpenTsdbStandIn;
  before(async () => {
    tsdb = await startOpenTsdbStandIn();
  });
  after(() => tsdb.close());
  beforeEach(() => tsdb.reset());

  /** The real HTTP client, except for /api/uid/assign, answered by `assign` while it returns an answer. */
  function withAssign(assign: () => Promise<PostAnswer> | undefined) {
    return (url: URL, body: string | Buffer, headers: Record<string, string>, timeoutMs: number) =>
      (url.pathname === '/api/uid/assign' ? assign() : undefined) ?? httpPost(url, body, headers, timeoutMs);
  }

  it('a registration that fails (connection reset) leaves the points pending, never rejected, until OpenTSDB answers', async () => {
    const { breaker, probeNow } = movableBreaker();
    let fail = true;
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const writer = new OpenTsdbWriter(tsdb.url, {
      timeoutMs: PATIENT_MS,
      log: captureLog(),
      breaker,
      post: withAssign(() => (fail ? Promise.reject(reset) : undefined)),
    });
    const metric = 'catchpoint.traceroute.hops';
    const out = await writer.write(points(2, metric), Date.now() + PATIENT_MS);
    assert.deepEqual(
      [out.written, out.rejected.length, out.pending.length, out.unavailable],
      [0, 0, 2, true],
    );
    assert.match(out.lastError ?? '', /not asked|registration failed/);
    fail = false;
    probeNow();
    const later = await writer.write(out.pending, Date.now() + PATIENT_MS);
    assert.deepEqual([later.written, later.rejected.length], [2, 0]);
    assert.ok(tsdb.knownMetrics.has(metric));
  });

  it('a name OpenTSDB refuses to register is rejected, once registration has failed for good', async () => {
    const metric = 'catchpoint.traceroute.rtt_avg';
    const refusal: PostAnswer = {
      status: 400,
      body: JSON.stringify({
        metric: {},
        metric_errors: { [metric]: 'UID assignment refused by the operator' },
      }),
    };
    const writer = new OpenTsdbWriter(tsdb.url, {
      timeoutMs: PATIENT_MS,
      log: captureLog(),
      breaker: new CircuitBreaker(),
      post: withAssign(() => Promise.resolve(refusal)),
    });
    const out = await writer.write(points(2, metric), Date.now() + PATIENT_MS);
    assert.deepEqual(
      [out.written, out.rejected.length, out.pending.length, out.unavailable],
      [0, 2, 0, false],
    );
    assert.match(out.rejected[0]!.reason, /registration refused: UID assignment refused/);
  });

  it('a name registered and still unknown waits like any transient failure, never rejected', async () => {
    const metric = 'catchpoint.traceroute.packet_loss_pct';
    // Registration claims success, but the put keeps saying unknown metric.
    const fake: PostAnswer = { status: 200, body: '{"metric":{}}' };
    const writer = new OpenTsdbWriter(tsdb.url, {
      timeoutMs: PATIENT_MS,
      log: captureLog(),
      breaker: new CircuitBreaker(),
      post: withAssign(() => Promise.resolve(fake)),
    });
    const out = await writer.write(points(1, metric), Date.now() + 1500);
    assert.deepEqual(
      [out.written, out.rejected.length, out.pending.length, out.unavailable],
      [0, 0, 1, false],
    );
    assert.match(out.lastError ?? '', /still reports .* unknown after registering it/);
  });
});

describe('OpenTsdbWriter with a poisoned run: the breaker opens only on evidence that OpenTSDB fails for everyone', () => {
  let tsdb: OpenTsdbStandIn;
  before(async () => {
    tsdb = await startOpenTsdbStandIn({ knownMetrics: ['catchpoint.rtt.by_node'] });
  });
  after(() => tsdb.close());
  beforeEach(async () => {
    await tsdb.acceptConnections();
    tsdb.reset();
  });

  /** A run: three points of one test, told apart from other runs by their timestamp. */
  const run = (n: number): Datapoint[] => points(3, 'catchpoint.rtt.by_node', TS + n * 60);
  /** The poisoned point: the second point of run 0. */
  const isPoisoned = (p: { timestamp: number; tags: Record<string, string> }) =>
    p.timestamp === TS && p.tags.nodeid === '1';

  /** What a write of run 0 gives back for each kind, as [written, rejected, pending]. */
  const kinds: Array<{ kind: PoisonKind; settled: [number, number, number] }> = [
    { kind: 'refuse', settled: [2, 1, 0] },
    { kind: 'storage', settled: [2, 0, 1] },
    { kind: 'unknown-reason', settled: [2, 0, 1] },
    { kind: 'timeout', settled: [2, 0, 1] },
    { kind: '500', settled: [0, 0, 3] },
    { kind: 'drop', settled: [0, 0, 3] },
  ];

  for (const { kind, settled } of kinds) {
    it(`${kind}: the poisoned run's write settles what it can, the breaker stays closed, the next runs are written`, async () => {
      tsdb.poison(isPoisoned, kind);
      const { breaker } = movableBreaker();
      const log = captureLog();
      const w = new OpenTsdbWriter(tsdb.url, { timeoutMs: 1000, log, breaker });
      const poisoned = await w.write(run(0), Date.now() + PATIENT_MS);
      assert.deepEqual([poisoned.written, poisoned.rejected.length, poisoned.pending.length], settled);
      assert.equal(poisoned.unavailable, false, 'not taken for OpenTSDB failing');
      assert.equal(breaker.state, 'closed');
      assert.ok(!log.entries.some((e) => e.message === 'opentsdb circuit opened'));
      for (let n = 1; n <= 3; n++) {
        const healthy = await w.write(run(n), Date.now() + PATIENT_MS);
        assert.deepEqual([healthy.written, healthy.pending.length], [3, 0], `run ${n}`);
      }
      assert.equal(breaker.state, 'closed');
      assert.equal(tsdb.points.length, settled[0] + 9);
      assert.deepEqual(tsdb.violations, []);
    });
  }

  it('the same poisoned run written again and again never opens it', async () => {
    tsdb.poison(isPoisoned, '500');
    const { breaker } = movableBreaker();
    const w = new OpenTsdbWriter(tsdb.url, { timeoutMs: 1000, log: captureLog(), breaker });
    const runKey = () => 'run-0';
    for (let i = 0; i < 4; i++) {
      const out = await w.write(run(0), Date.now() + PATIENT_MS, { runOf: runKey });
      assert.deepEqual([out.pending.length, out.unavailable, out.suspect], [3, false, true]);
    }
    assert.equal(breaker.state, 'closed');
    assert.equal(puts(tsdb).length, 4, 'one request per write: the same content is not sent again at once');
  });

  it('OpenTSDB failing a whole request for everyone (500): open at the second run', async () => {
    tsdb.fault = '500';
    const { breaker } = movableBreaker();
    const w = new OpenTsdbWriter(tsdb.url, { timeoutMs: 1000, log: captureLog(), breaker });
    assert.equal((await w.write(run(0), Date.now() + PATIENT_MS)).unavailable, false);
    assert.equal(breaker.state, 'closed');
    assert.equal((await w.write(run(1), Date.now() + PATIENT_MS)).unavailable, true);
    assert.equal(breaker.state, 'open');
  });

  it('a write of several runs (runOf): points of two runs failing in storage open it at once', async () => {
    tsdb.fault = 'storage';
    const { breaker } = movableBreaker();
    const w = new OpenTsdbWriter(tsdb.url, { timeoutMs: 1000, log: captureLog(), breaker });
    const out = await w.write([...run(0), ...run(1)], Date.now() + PATIENT_MS, {
      runOf: (p) => String(p.timestamp),
    });
    assert.deepEqual([out.pending.length, out.unavailable], [6, true]);
    assert.equal(breaker.state, 'open');
  });

  it('a write of several runs failing as a whole (500 for one run in it): suspect; a write of other runs decides', async () => {
    tsdb.poison(isPoisoned, '500');
    const { breaker } = movableBreaker();
    const w = new OpenTsdbWriter(tsdb.url, { timeoutMs: 1000, log: captureLog(), breaker });
    const runOf = (p: Datapoint) => String(p.timestamp);
    const batch = await w.write([...run(0), ...run(1)], Date.now() + PATIENT_MS, { runOf });
    assert.deepEqual([batch.pending.length, batch.unavailable, batch.suspect], [6, false, true]);
    // Run 1 again, with a run the failure did not hold: stored, the breaker closed.
    const next = await w.write([...run(1), ...run(2)], Date.now() + PATIENT_MS, { runOf });
    assert.deepEqual([next.written, next.pending.length], [6, 0]);
    assert.equal(breaker.state, 'closed');

    // The same with OpenTSDB failing for everyone: a second batch that shares a run with the first is not
    // yet evidence; one with no run in common with an earlier failure opens the breaker.
    tsdb.reset();
    tsdb.fault = '500';
    await w.write([...run(3), ...run(4)], Date.now() + PATIENT_MS, { runOf });
    await w.write([...run(4), ...run(5)], Date.now() + PATIENT_MS, { runOf });
    assert.equal(breaker.state, 'closed');
    const third = await w.write(run(6), Date.now() + PATIENT_MS, { runOf });
    assert.equal(third.unavailable, true);
    assert.equal(breaker.state, 'open');
  });
});
