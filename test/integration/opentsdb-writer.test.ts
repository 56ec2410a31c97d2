import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type OpenTsdbStandIn, startOpenTsdbStandIn } from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import type { Datapoint } from '../../lambda/opentsdb/datapoint.js';
import { httpPost } from '../../lambda/opentsdb/http-post.js';
import { MAX_BODY_BYTES } from '../../lambda/opentsdb/request-body.js';
import { OpenTsdbWriter } from '../../lambda/opentsdb/writer.js';
import { captureLog } from '../support/capture-log.js';

const TS = 1795521852;

function points(n: number, metric = 'catchpoint.rtt.by_node'): Datapoint[] {
  return Array.from({ length: n }, (_, i) => ({
    metric,
    timestamp: TS,
    value: i * 1.5,
    tags: { testid: String(90000 + (i % 50)), nodeid: String(i), city: `City_${(i * 7919) % 1000}` },
  }));
}

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

  const writer = (log = captureLog(), timeoutMs = 1000) => new OpenTsdbWriter(tsdb.url, { timeoutMs, log });

  it('registers unknown metric names once, resends, and every point is stored', async () => {
    const w = writer();
    const batch = [...points(3, 'catchpoint.test.first'), ...points(2, 'catchpoint.test.second')];
    const out = await w.write(batch, Date.now() + 5000);
    assert.deepEqual(
      { written: out.written, rejected: out.rejected.length, pending: out.pending.length },
      {
        written: 5,
        rejected: 0,
        pending: 0,
      },
    );
    assert.equal(tsdb.points.length, 5);
    assert.equal(tsdb.requests.filter((r) => r.path.startsWith('/api/uid/assign')).length, 1);
    // A second write with the same names needs no registration.
    await w.write(
      points(2, 'catchpoint.test.first').map((p) => ({ ...p, timestamp: TS + 60 })),
      Date.now() + 5000,
    );
    assert.equal(tsdb.requests.filter((r) => r.path.startsWith('/api/uid/assign')).length, 1);
    assert.deepEqual(tsdb.violations, []);
  });

  it('sends a small body as it is, with Content-Length, never Expect, and reuses the connection', async () => {
    const w = writer();
    await w.write(points(10, 'catchpoint.test.headers'), Date.now() + 5000);
    await w.write(
      points(10, 'catchpoint.test.headers').map((p) => ({ ...p, timestamp: TS + 1 })),
      Date.now() + 5000,
    );
    const puts = tsdb.requests.filter((r) => r.path.startsWith('/api/put'));
    assert.ok(puts.length >= 2);
    for (const put of puts) {
      assert.equal(put.path, '/api/put?details');
      assert.equal(put.headers['content-encoding'], undefined, 'a body within the limit is not compressed');
      assert.equal(put.headers['content-length'], String(put.bodyBytes));
      assert.equal(put.headers.expect, undefined);
      assert.equal(put.headers['transfer-encoding'], undefined);
    }
    assert.equal(new Set(puts.map((r) => r.connection)).size, 1, 'keep-alive: one connection for all puts');
  });

  it('splits a large batch into bodies of at most 8192 compressed bytes', async () => {
    tsdb.knownMetrics.add('catchpoint.test.big');
    const many = points(5000, 'catchpoint.test.big');
    const out = await writer().write(many, Date.now() + 20_000);
    assert.equal(out.written, 5000);
    assert.equal(tsdb.points.length, 5000);
    const puts = tsdb.requests.filter((r) => r.path.startsWith('/api/put'));
    assert.ok(puts.length > 1, 'needed more than one request');
    assert.ok(puts.every((r) => r.bodyBytes <= MAX_BODY_BYTES && r.status === 200));
    // Bodies that would be over the limit as JSON go gzipped, and then hold far more than 8192 bytes of JSON.
    assert.ok(puts.every((r) => r.headers['content-encoding'] === 'gzip'));
    assert.ok(puts.every((r) => (r.decodedBodyBytes ?? 0) > MAX_BODY_BYTES));
    assert.deepEqual(tsdb.violations, []);
  });

  it('logs and counts points refused for good, and stores the rest of the batch', async () => {
    tsdb.knownMetrics.add('catchpoint.test.mixed');
    const log = captureLog();
    const good = points(3, 'catchpoint.test.mixed');
    const bad: Datapoint = {
      metric: 'catchpoint.test.mixed',
      timestamp: TS,
      value: 1,
      tags: { city: 'a,b' },
    };
    const out = await writer(log).write([...good, bad], Date.now() + 5000);
    assert.equal(out.written, 3);
    assert.equal(out.rejected.length, 1);
    assert.match(out.rejected[0]!.reason, /illegal character/);
    assert.equal(out.pending.length, 0);
    assert.equal(tsdb.points.length, 3);
    const logged = log.entries.find((e) => e.message === 'opentsdb rejected datapoint');
    assert.ok(logged, 'the rejection is logged');
    assert.match(String(logged.attributes.datapoint), /a,b/);
    assert.match(String(logged.attributes.reason), /illegal character/);
  });

  it('retries throttling and server errors until the points are in', async () => {
    tsdb.knownMetrics.add('catchpoint.test.retry');
    tsdb.failNext(1, 'throttle');
    tsdb.failNext(1, '500');
    tsdb.failNext(1, 'storage');
    const out = await writer().write(points(4, 'catchpoint.test.retry'), Date.now() + 8000);
    assert.equal(out.written, 4);
    assert.equal(out.pending.length, 0);
    assert.equal(tsdb.points.length, 4);
  });

  it('gives the points back as pending when OpenTSDB stays down past the deadline', async () => {
    tsdb.knownMetrics.add('catchpoint.test.down');
    tsdb.fault = 'down';
    const started = Date.now();
    const out = await writer().write(points(4, 'catchpoint.test.down'), started + 1500);
    assert.equal(out.written, 0);
    assert.equal(out.pending.length, 4);
    assert.ok(out.lastError);
    assert.ok(Date.now() - started < 2500, 'returns by the deadline');
  });

  it('bounds a hanging request by its timeout and by the deadline', async () => {
    tsdb.knownMetrics.add('catchpoint.test.hang');
    tsdb.fault = 'hang';
    const started = Date.now();
    const out = await writer(captureLog(), 400).write(points(2, 'catchpoint.test.hang'), started + 1200);
    assert.equal(out.pending.length, 2);
    assert.match(out.lastError ?? '', /timed out/);
    assert.ok(Date.now() - started < 2000, 'returns by the deadline');
  });

  it('a refused connection is retried, then reported', async () => {
    const closed = new OpenTsdbWriter('http://127.0.0.1:9', { timeoutMs: 200, log: captureLog() });
    const out = await closed.write(points(1), Date.now() + 600);
    assert.equal(out.pending.length, 1);
    assert.match(out.lastError ?? '', /ECONNREFUSED/);
  });
});

describe('OpenTsdbWriter when registering metric names fails', () => {
  let tsdb: OpenTsdbStandIn;
  before(async () => {
    tsdb = await startOpenTsdbStandIn();
  });
  after(() => tsdb.close());

  /** The real HTTP client, except that the first `failures` calls to /api/uid/assign fail to connect. */
  function failingAssign(failures: number) {
    let left = failures;
    return (url: URL, body: Buffer, headers: Record<string, string>, timeoutMs: number) => {
      if (url.pathname === '/api/uid/assign' && left-- > 0) {
        return Promise.reject(Object.assign(new Error('connect ECONNRESET'), { code: 'ECONNRESET' }));
      }
      return httpPost(url, body, headers, timeoutMs);
    };
  }

  it('a registration that fails once is tried again, and every point gets in', async () => {
    tsdb.reset();
    const writer = new OpenTsdbWriter(tsdb.url, {
      timeoutMs: 1000,
      log: captureLog(),
      post: failingAssign(1),
    });
    const out = await writer.write(points(3, 'catchpoint.test.assign_once'), Date.now() + 5000);
    assert.deepEqual([out.written, out.rejected.length, out.pending.length], [3, 0, 0]);
    assert.equal(tsdb.points.length, 3);
  });

  it('a registration that keeps failing leaves the points pending, never rejected', async () => {
    tsdb.reset();
    const writer = new OpenTsdbWriter(tsdb.url, {
      timeoutMs: 1000,
      log: captureLog(),
      post: failingAssign(Number.POSITIVE_INFINITY),
    });
    const out = await writer.write(points(2, 'catchpoint.test.assign_never'), Date.now() + 800);
    assert.deepEqual([out.written, out.rejected.length, out.pending.length], [0, 0, 2]);
    assert.match(out.lastError ?? '', /registration failed/);
    // Once OpenTSDB registers names again, the same writer gets them in.
    const healthy = new OpenTsdbWriter(tsdb.url, { timeoutMs: 1000, log: captureLog() });
    const later = await healthy.write(out.pending, Date.now() + 5000);
    assert.equal(later.written, 2);
  });
});
