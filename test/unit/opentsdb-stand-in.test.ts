import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  OpenTsdbMessages,
  type OpenTsdbStandIn,
  type OpenTsdbStandInOptions,
  startOpenTsdbStandIn,
} from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';

const METRIC = 'catchpoint.rtt.by_node';
const TS = 1795000000;

interface PutError {
  datapoint: { metric: string | null; timestamp: number; value: string | null; tags: unknown };
  error: string;
}
interface PutSummary {
  success: number;
  failed: number;
  errors?: PutError[];
}
interface ErrorBody {
  error: { code: number; message: string; details?: string; trace?: string };
}

interface Answer {
  status: number;
  text: string;
  contentType: string | null;
}

function point(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { metric: METRIC, timestamp: TS, value: 158, tags: { testid: '90001', nodeid: '77' }, ...overrides };
}

async function start(
  t: TestContext,
  options: OpenTsdbStandInOptions = { knownMetrics: [METRIC] },
): Promise<OpenTsdbStandIn> {
  const tsdb = await startOpenTsdbStandIn(options);
  t.after(() => tsdb.close());
  return tsdb;
}

async function post(
  tsdb: OpenTsdbStandIn,
  path: string,
  body: unknown,
  init: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Answer> {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const response = await fetch(`${tsdb.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: payload,
    signal: init.signal ?? AbortSignal.timeout(5000),
  });
  return {
    status: response.status,
    text: await response.text(),
    contentType: response.headers.get('content-type'),
  };
}

function json<T>(answer: Answer): T {
  return JSON.parse(answer.text) as T;
}

/** One point with ?details: the error text it was rejected with (asserts exactly one failure). */
async function rejectionOf(tsdb: OpenTsdbStandIn, dp: unknown): Promise<string> {
  const answer = await post(tsdb, '/api/put?details', [dp]);
  assert.equal(answer.status, 400, answer.text);
  const summary = json<PutSummary>(answer);
  assert.equal(summary.success, 0);
  assert.equal(summary.failed, 1);
  assert.equal(summary.errors?.length, 1);
  return summary.errors![0]!.error;
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

/** Sends bytes exactly as given (ask for Connection: close) and returns the status and raw response. */
function rawExchange(tsdb: OpenTsdbStandIn, bytes: string): Promise<{ status: number; raw: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(tsdb.url).port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(raw.split(' ')[1]), raw });
    });
    socket.on('error', reject);
    socket.write(bytes);
  });
}

describe('OpenTSDB stand-in: accepted writes', () => {
  it('answers 204 with an empty body, stores the points and logs the request', async (t) => {
    const tsdb = await start(t);
    const single = await post(tsdb, '/api/put', point());
    assert.equal(single.status, 204);
    assert.equal(single.text, '');
    const batch = await post(tsdb, '/api/put', [
      point({ timestamp: TS + 60 }),
      point({ timestamp: TS + 120, value: '12.5' }),
    ]);
    assert.equal(batch.status, 204);

    assert.deepEqual(
      tsdb.points.map((p) => [p.metric, p.timestamp, p.value, p.valueText]),
      [
        [METRIC, TS, 158, '158'],
        [METRIC, TS + 60, 158, '158'],
        [METRIC, TS + 120, 12.5, '12.5'],
      ],
    );
    assert.deepEqual(tsdb.points[0]!.tags, { testid: '90001', nodeid: '77' });
    assert.equal(tsdb.points[0]!.timestampMs, TS * 1000);
    assert.deepEqual([...tsdb.series().keys()], [`${METRIC}{nodeid=77,testid=90001}`]);
    assert.equal(tsdb.pointsOf(METRIC, { nodeid: '77' }).length, 3);
    assert.equal(tsdb.pointsOf(METRIC, { nodeid: '78' }).length, 0);

    assert.equal(tsdb.requests.length, 2);
    const [first, second] = tsdb.requests;
    assert.equal(first!.method, 'POST');
    assert.equal(first!.path, '/api/put');
    assert.equal(first!.status, 204);
    assert.equal(first!.outcome, 'answered');
    assert.equal(first!.headers['content-length'], String(first!.bodyBytes));
    assert.equal(first!.headers.expect, undefined);
    assert.equal(first!.headers['transfer-encoding'], undefined);
    assert.equal(second!.status, 204);
    assert.deepEqual(tsdb.violations, []);
  });

  it('accepts milliseconds, numeric strings, Unicode letters and coerced scalar tag values', async (t) => {
    const tsdb = await start(t);
    const answer = await post(tsdb, '/api/put?details', [
      point({ timestamp: TS * 1000 + 250 }),
      point({ value: '-42', tags: { city: 'Zürich', node: '東京' } }),
      point({ value: 0.5, tags: { testid: 90001 } }),
    ]);
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(json(answer), { success: 3, failed: 0, errors: [] });
    assert.equal(tsdb.points[0]!.timestampMs, TS * 1000 + 250);
    assert.equal(tsdb.points[1]!.value, -42);
    assert.deepEqual(tsdb.points[2]!.tags, { testid: '90001' });
    assert.deepEqual(tsdb.violations, []);
  });

  it('answers details with 200 and summary without errors; flags count by mere presence', async (t) => {
    const tsdb = await start(t);
    const details = await post(tsdb, '/api/put?details', [point(), point({ timestamp: TS + 60 })]);
    assert.equal(details.status, 200);
    assert.match(details.contentType ?? '', /application\/json/);
    assert.deepEqual(json(details), { success: 2, failed: 0, errors: [] });

    const summary = await post(tsdb, '/api/put?summary', point({ timestamp: TS + 120 }));
    assert.equal(summary.status, 200);
    assert.deepEqual(json(summary), { success: 1, failed: 0 });

    const flagged = await post(
      tsdb,
      '/api/put?sync=false&details=0&sync_timeout=500',
      point({ timestamp: TS + 180 }),
    );
    assert.equal(flagged.status, 200);
    assert.deepEqual(tsdb.requests[2]!.flags, {
      details: true,
      summary: false,
      sync: true,
      syncTimeout: '500',
    });
    assert.deepEqual(tsdb.violations, []);
  });

  it('accepts gzip and applies the 8192 limit to the compressed size', async (t) => {
    const tsdb = await start(t);
    const points = Array.from({ length: 200 }, (_, i) => point({ timestamp: TS + i * 60 }));
    const plain = Buffer.from(JSON.stringify(points));
    const gzipped = gzipSync(plain);
    assert.ok(plain.length > 8192 && gzipped.length <= 8192);
    const answer = await post(tsdb, '/api/put', gzipped, { headers: { 'content-encoding': 'gzip' } });
    assert.equal(answer.status, 204, answer.text);
    assert.equal(tsdb.points.length, 200);
    const record = tsdb.requests[0]!;
    assert.equal(record.headers['content-encoding'], 'gzip');
    assert.equal(record.bodyBytes, gzipped.length);
    assert.equal(record.decodedBodyBytes, plain.length);
    assert.deepEqual(tsdb.violations, []);
  });
});

describe('OpenTSDB stand-in: the 8192-byte / chunked rule', () => {
  function padded(size: number): string {
    const text = JSON.stringify([point()]);
    return `${text.slice(0, -1)}${' '.repeat(size - text.length)}]`;
  }

  it('accepts exactly 8192 bytes and refuses 8193 with the HTML page', async (t) => {
    const tsdb = await start(t);
    const exact = await post(tsdb, '/api/put', padded(8192));
    assert.equal(exact.status, 204);
    const over = await post(tsdb, '/api/put', padded(8193));
    assert.equal(over.status, 400);
    assert.match(over.contentType ?? '', /^text\/html/);
    assert.ok(over.text.includes(OpenTsdbMessages.chunked));
    assert.equal(tsdb.points.length, 1);
    assert.deepEqual(tsdb.violations, ['body 8193 bytes over 8192 [#2 POST /api/put]']);
  });

  it('keeps the connection alive, also across a refusal', async (t) => {
    const tsdb = await start(t);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    const statuses: Array<number | undefined> = [];
    for (const body of [
      JSON.stringify(point()),
      padded(9000),
      JSON.stringify(point({ timestamp: TS + 60 })),
    ]) {
      const req = httpRequest(`${tsdb.url}/api/put`, {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      });
      req.end(body);
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      await readAll(res);
      statuses.push(res.statusCode);
    }
    assert.deepEqual(statuses, [204, 400, 204]);
    assert.deepEqual(
      tsdb.requests.map((r) => r.connection),
      [1, 1, 1],
    );
    assert.equal(tsdb.requests[0]!.headers.connection, 'keep-alive');
  });

  it('refuses a gzip body whose compressed size is over 8192 and stores nothing', async (t) => {
    const tsdb = await start(t);
    const points = Array.from({ length: 1000 }, (_, i) =>
      point({ timestamp: TS + i, tags: { run: randomBytes(16).toString('hex') } }),
    );
    const gzipped = gzipSync(JSON.stringify(points));
    assert.ok(gzipped.length > 8192);
    const answer = await post(tsdb, '/api/put?details', gzipped, { headers: { 'content-encoding': 'gzip' } });
    assert.equal(answer.status, 400);
    assert.match(answer.contentType ?? '', /^text\/html/);
    assert.ok(answer.text.includes('Chunked request not supported.'));
    assert.equal(tsdb.points.length, 0);
    assert.equal(tsdb.requests[0]!.bodyBytes, gzipped.length);
    assert.deepEqual(tsdb.violations, [`body ${gzipped.length} bytes over 8192 [#1 POST /api/put?details]`]);
  });

  it('refuses a request carrying Expect: 100-continue without sending 100 Continue', async (t) => {
    const tsdb = await start(t);
    const body = JSON.stringify(point());
    const req = httpRequest(`${tsdb.url}/api/put`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        expect: '100-continue',
      },
    });
    let continued = false;
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('error', () => {});
    req.flushHeaders();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    const text = await readAll(res);
    req.destroy();
    assert.equal(res.statusCode, 400);
    assert.match(res.headers['content-type'] ?? '', /^text\/html/);
    assert.ok(text.includes('Chunked request not supported.'));
    assert.equal(continued, false);
    assert.equal(tsdb.points.length, 0);
    assert.equal(tsdb.requests[0]!.headers.expect, '100-continue');
    assert.deepEqual(tsdb.violations, ['Expect header sent (100-continue) [#1 POST /api/put]']);
  });

  it('refuses Transfer-Encoding: chunked even for a small body', async (t) => {
    const tsdb = await start(t);
    const req = httpRequest(`${tsdb.url}/api/put`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    req.write(JSON.stringify(point()).slice(0, 20));
    req.end(JSON.stringify(point()).slice(20));
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    const text = await readAll(res);
    assert.equal(res.statusCode, 400);
    assert.ok(text.includes('Chunked request not supported.'));
    assert.equal(tsdb.requests[0]!.headers['transfer-encoding'], 'chunked');
    assert.equal(tsdb.points.length, 0);
    assert.deepEqual(tsdb.violations, ['chunked transfer encoding [#1 POST /api/put]']);
  });

  it('flags a POST without Content-Length', async (t) => {
    const tsdb = await start(t);
    const { status, raw } = await rawExchange(
      tsdb,
      'POST /api/put HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    assert.equal(status, 400);
    assert.ok(raw.includes(OpenTsdbMessages.missingContent));
    assert.deepEqual(tsdb.violations, [
      'missing Content-Length [#1 POST /api/put]',
      'empty body [#1 POST /api/put]',
    ]);
  });
});

describe('OpenTSDB stand-in: rejections', () => {
  it('answers unparsable JSON and an empty array with a 400 JSON error', async (t) => {
    const tsdb = await start(t);
    const broken = await post(tsdb, '/api/put', '{"metric":');
    assert.equal(broken.status, 400);
    assert.equal(json<ErrorBody>(broken).error.code, 400);
    assert.equal(json<ErrorBody>(broken).error.message, 'Unable to parse the given JSON');
    const empty = await post(tsdb, '/api/put?details', '[]');
    assert.equal(empty.status, 400);
    assert.equal(json<ErrorBody>(empty).error.message, 'No datapoints found in content');
    const trailing = await post(tsdb, '/api/put', `${JSON.stringify(point())}x`);
    assert.equal(trailing.status, 400);
    const objectValue = await post(tsdb, '/api/put', point({ value: { v: 1 } }));
    assert.equal(objectValue.status, 400);
    assert.equal(json<ErrorBody>(objectValue).error.message, 'Unable to parse the given JSON');
    assert.equal(tsdb.points.length, 0);
    assert.equal(tsdb.violations.length, 4);
  });

  it('answers the generic 400 body without details or summary', async (t) => {
    const tsdb = await start(t);
    const answer = await post(tsdb, '/api/put', [point(), point({ timestamp: 0 })]);
    assert.equal(answer.status, 400);
    assert.deepEqual(json(answer), {
      error: {
        code: 400,
        message: 'One or more data points had errors',
        details: 'Please see the TSD logs or append "details" to the put request',
      },
    });
    assert.equal(tsdb.points.length, 1);
  });

  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['missing metric', point({ metric: undefined }), 'Metric name was empty'],
    ['empty metric', point({ metric: '' }), 'Metric name was empty'],
    ['comma in metric', point({ metric: 'rtt,ms' }), 'Invalid metric name ("rtt,ms"): illegal character: ,'],
    ['space in metric', point({ metric: 'rtt ms' }), 'Invalid metric name ("rtt ms"): illegal character:  '],
    [
      'colon in tag name',
      point({ tags: { 'node:id': '1' } }),
      'Invalid tag name ("node:id"): illegal character: :',
    ],
    ['equals in tag value', point({ tags: { a: 'x=y' } }), 'Invalid tag value ("x=y"): illegal character: ='],
    [
      'paren in tag value',
      point({ tags: { a: 'f(x)' } }),
      'Invalid tag value ("f(x)"): illegal character: (',
    ],
    ['empty tag name', point({ tags: { '': 'x' } }), 'Invalid tag name: empty string'],
    ['empty tag value', point({ tags: { a: '' } }), 'Invalid tag value: empty string'],
    ['null tag value', point({ tags: { a: null } }), 'Invalid tag value: null'],
    [
      'surrogate pair',
      point({ tags: { a: 'x😀' } }),
      'Invalid tag value ("x😀"): illegal character: \\uD83D',
    ],
    [
      'combining mark (NFD)',
      point({ tags: { city: 'Zu\u0308rich' } }),
      'Invalid tag value ("Zu\u0308rich"): illegal character: \u0308',
    ],
    ['missing tags', point({ tags: undefined }), 'Missing tags'],
    ['empty tags', point({ tags: {} }), 'Missing tags'],
    ['zero timestamp', point({ timestamp: 0 }), 'Invalid timestamp'],
    ['negative timestamp', point({ timestamp: -5 }), 'Invalid timestamp'],
    ['decimal timestamp', point({ timestamp: 1795000000.5 }), 'Invalid timestamp'],
    ['14-digit timestamp', point({ timestamp: 17950000000000 }), 'Invalid timestamp'],
    ['missing timestamp', point({ timestamp: undefined }), 'Invalid timestamp'],
    ['null value (JS NaN)', point({ value: Number.NaN }), 'Empty value'],
    ['empty string value', point({ value: '' }), 'Empty value'],
    ['word value', point({ value: 'abc' }), 'Unable to parse value to a number'],
    ['NaN string', point({ value: 'NaN' }), 'Unable to parse value to a number'],
    ['Infinity string', point({ value: 'Infinity' }), 'Unable to parse value to a number'],
    ['overflowing float', point({ value: '1e400' }), 'Unable to parse value to a number'],
    ['boolean value', point({ value: true }), 'Unable to parse value to a number'],
  ];
  for (const [name, dp, expected] of cases) {
    it(`rejects ${name}: ${expected}`, async (t) => {
      const tsdb = await start(t);
      assert.equal(await rejectionOf(tsdb, dp), expected);
      assert.equal(tsdb.points.length, 0);
      assert.equal(tsdb.rejected.length, 1);
      assert.equal(tsdb.violations.length, 1);
      assert.ok(tsdb.violations[0]!.startsWith(`point rejected: ${expected} [#1`), tsdb.violations[0]);
    });
  }

  it('echoes the datapoint with its value as text', async (t) => {
    const tsdb = await start(t);
    const answer = await post(tsdb, '/api/put?details', [point({ metric: 'a b', value: 42.0 })]);
    const summary = json<PutSummary>(answer);
    assert.deepEqual(summary.errors![0]!.datapoint, {
      metric: 'a b',
      timestamp: TS,
      value: '42',
      tags: { testid: '90001', nodeid: '77' },
    });
  });

  it('accepts 8 tags and refuses 9', async (t) => {
    const tsdb = await start(t);
    const tags = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`]));
    const eight = await post(tsdb, '/api/put?details', point({ tags: tags(8) }));
    assert.equal(eight.status, 200);
    const error = await rejectionOf(tsdb, point({ tags: tags(9), timestamp: TS + 60 }));
    assert.ok(error.startsWith('Too many tags: 9 maximum allowed: 8'), error);
    assert.equal(
      error,
      OpenTsdbMessages.tooManyTags(
        9,
        8,
        `{${Object.entries(tags(9))
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}}`,
      ),
    );
    assert.equal(tsdb.points.length, 1);
  });

  it('stores the valid points of a partly failed batch', async (t) => {
    const tsdb = await start(t);
    const answer = await post(tsdb, '/api/put?details', [
      point(),
      point({ timestamp: TS + 60, tags: { nodeid: 'a,b' } }),
      point({ timestamp: TS + 120 }),
    ]);
    assert.equal(answer.status, 400);
    const summary = json<PutSummary>(answer);
    assert.equal(summary.success, 2);
    assert.equal(summary.failed, 1);
    assert.equal(summary.errors![0]!.error, 'Invalid tag value ("a,b"): illegal character: ,');
    assert.deepEqual(
      tsdb.points.map((p) => p.timestamp),
      [TS, TS + 120],
    );
    const summaryOnly = await post(tsdb, '/api/put?summary', [
      point({ timestamp: TS + 180 }),
      point({ value: null }),
    ]);
    assert.equal(summaryOnly.status, 400);
    assert.deepEqual(json(summaryOnly), { success: 1, failed: 1 });
    assert.equal(tsdb.points.length, 3);
  });
});

describe('OpenTSDB stand-in: metric UIDs', () => {
  it('rejects an unknown metric until /api/uid/assign creates it', async (t) => {
    const tsdb = await start(t, {});
    const metric = 'catchpoint.new';
    assert.equal(
      await rejectionOf(tsdb, point({ metric })),
      "Unknown metric: No such name for 'metrics': 'catchpoint.new'",
    );
    assert.deepEqual(tsdb.violations, [], 'an unknown metric is not a client fault');

    const assigned = await post(tsdb, '/api/uid/assign', { metric: [metric] });
    assert.equal(assigned.status, 200);
    assert.deepEqual(json(assigned), { metric: { [metric]: '000001' } });
    assert.ok(tsdb.knownMetrics.has(metric));

    const retried = await post(tsdb, '/api/put', point({ metric }));
    assert.equal(retried.status, 204);
    assert.equal(tsdb.points.length, 1);

    const again = await post(tsdb, '/api/uid/assign', { metric: [metric, 'catchpoint.other'] });
    assert.equal(again.status, 400);
    assert.deepEqual(json(again), {
      metric: { 'catchpoint.other': '000002' },
      metric_errors: { [metric]: 'Name already exists with UID: 000001' },
    });
    assert.deepEqual(
      tsdb.requests.map((r) => [r.method, r.path, r.status]),
      [
        ['POST', '/api/put?details', 400],
        ['POST', '/api/uid/assign', 200],
        ['POST', '/api/put', 204],
        ['POST', '/api/uid/assign', 400],
      ],
    );
    assert.deepEqual(tsdb.violations, []);
  });

  it('pre-registers knownMetrics, validates names in uid/assign and honours autoCreateMetrics', async (t) => {
    const tsdb = await start(t, { knownMetrics: ['m.one', 'm.two'] });
    const answer = await post(tsdb, '/api/uid/assign', { metric: ['m.two', 'bad name'] });
    assert.equal(answer.status, 400);
    assert.deepEqual(json(answer), {
      metric: {},
      metric_errors: {
        'm.two': 'Name already exists with UID: 000002',
        'bad name': 'Invalid metric ("bad name"): illegal character:  ',
      },
    });
    assert.equal(tsdb.violations.length, 1);
    assert.match(tsdb.violations[0]!, /^uid\/assign refused metric "bad name"/);

    const auto = await start(t, { autoCreateMetrics: true });
    assert.equal((await post(auto, '/api/put', point({ metric: 'brand.new' }))).status, 204);
    assert.ok(auto.knownMetrics.has('brand.new'));
  });
});

describe('OpenTSDB stand-in: duplicates and series rules', () => {
  it('stores an identical re-write once and counts it', async (t) => {
    const tsdb = await start(t);
    assert.equal((await post(tsdb, '/api/put', point({ value: 42 }))).status, 204);
    assert.equal((await post(tsdb, '/api/put', point({ value: 42 }))).status, 204);
    assert.equal((await post(tsdb, '/api/put', point({ value: '42' }))).status, 204);
    assert.equal(tsdb.points.length, 1);
    assert.equal(tsdb.duplicates, 2);
    assert.deepEqual(tsdb.violations, []);
  });

  it('flags the same series and timestamp written as 42 then 42.0', async (t) => {
    const tsdb = await start(t);
    await post(tsdb, '/api/put', point({ value: 42 }));
    const answer = await post(
      tsdb,
      '/api/put',
      '[{"metric":"catchpoint.rtt.by_node","timestamp":1795000000,"value":42.0,"tags":{"testid":"90001","nodeid":"77"}}]',
    );
    assert.equal(answer.status, 204, 'OpenTSDB accepts it: the damage shows at query time');
    assert.equal(tsdb.points.length, 1);
    assert.equal(tsdb.duplicates, 0);
    assert.equal(tsdb.violations.length, 1);
    assert.match(tsdb.violations[0]!, /^same series\+timestamp written with different value 42 vs 42\.0 /);
  });

  it('flags a series mixing seconds and milliseconds, and sees the same instant as a duplicate', async (t) => {
    const tsdb = await start(t);
    await post(tsdb, '/api/put', point({ value: 1 }));
    await post(tsdb, '/api/put', point({ timestamp: TS * 1000, value: 2 }));
    assert.equal(tsdb.points.length, 1);
    assert.equal(tsdb.violations.length, 2);
    assert.match(tsdb.violations[0]!, /mixes second and millisecond timestamps/);
    assert.match(tsdb.violations[1]!, /different value 1 vs 2/);
  });
});

describe('OpenTSDB stand-in: other endpoints and methods', () => {
  it('answers 404 JSON for unknown paths and 405 for GET /api/put', async (t) => {
    const tsdb = await start(t);
    const missing = await post(tsdb, '/api/putt', point());
    assert.equal(missing.status, 404);
    assert.equal(json<ErrorBody>(missing).error.code, 404);
    const get = await fetch(`${tsdb.url}/api/put`);
    assert.equal(get.status, 405);
    assert.equal(((await get.json()) as ErrorBody).error.message, 'Method not allowed');
    assert.equal(tsdb.violations.length, 2);
  });

  it('flags sync_timeout without sync', async (t) => {
    const tsdb = await start(t);
    assert.equal((await post(tsdb, '/api/put?sync_timeout=1000', point())).status, 204);
    assert.deepEqual(tsdb.violations, [
      'sync_timeout without sync (ignored) [#1 POST /api/put?sync_timeout=1000]',
    ]);
  });
});

describe('OpenTSDB stand-in: faults', () => {
  it('down: destroys the socket without an answer', async (t) => {
    const tsdb = await start(t);
    tsdb.fault = 'down';
    await assert.rejects(post(tsdb, '/api/put', point()), TypeError);
    assert.equal(tsdb.requests[0]!.outcome, 'destroyed');
    assert.equal(tsdb.requests[0]!.status, null);
    assert.equal(tsdb.points.length, 0);
  });

  it('hang: never answers; the client timeout fires and close() still returns', async (t) => {
    const tsdb = await start(t);
    tsdb.fault = 'hang';
    const started = Date.now();
    await assert.rejects(post(tsdb, '/api/put', point(), { signal: AbortSignal.timeout(200) }), {
      name: 'TimeoutError',
    });
    assert.ok(Date.now() - started < 2000);
    assert.equal(tsdb.requests[0]!.outcome, 'hung');
    assert.equal(tsdb.points.length, 0);
    await tsdb.close();
  });

  it('500: answers a JSON error with a long trace', async (t) => {
    const tsdb = await start(t);
    tsdb.fault = '500';
    const answer = await post(tsdb, '/api/put?details', point());
    assert.equal(answer.status, 500);
    const body = json<ErrorBody>(answer);
    assert.equal(body.error.code, 500);
    assert.ok((body.error.trace ?? '').length > 2000);
    assert.equal(tsdb.points.length, 0);
  });

  it('throttle: every valid point fails with "Please throttle"', async (t) => {
    const tsdb = await start(t);
    tsdb.fault = 'throttle';
    const answer = await post(tsdb, '/api/put?details', [point(), point({ timestamp: TS + 60 })]);
    assert.equal(answer.status, 400);
    const summary = json<PutSummary>(answer);
    assert.deepEqual([summary.success, summary.failed], [0, 2]);
    assert.deepEqual(
      summary.errors!.map((e) => e.error),
      ['Please throttle', 'Please throttle'],
    );
    const plain = await post(tsdb, '/api/put', point());
    assert.equal(plain.status, 400);
    assert.equal(json<ErrorBody>(plain).error.message, 'One or more data points had errors');
    assert.equal(tsdb.points.length, 0);
    assert.deepEqual(tsdb.violations, []);
  });

  it('storage: a sync put is told "Storage exception: …" per point (a 200); without sync they are lost silently', async (t) => {
    const tsdb = await start(t);
    tsdb.fault = 'storage';
    const synced = await post(tsdb, '/api/put?sync&details', [point(), point({ timestamp: TS + 60 })]);
    assert.equal(synced.status, 200);
    const summary = json<PutSummary>(synced);
    assert.deepEqual([summary.success, summary.failed], [0, 2]);
    assert.equal(summary.errors![0]!.error, OpenTsdbMessages.storage);
    assert.match(summary.errors![0]!.error, /^Storage exception: /);
    assert.equal(tsdb.rejected.length, 2);
    // Without sync the TSD answers once the points are queued: success, and nothing stored.
    const unsynced = await post(tsdb, '/api/put?summary', point({ timestamp: TS + 120 }));
    assert.equal(unsynced.status, 200);
    assert.deepEqual(json(unsynced), { success: 1, failed: 0 });
    assert.equal((await post(tsdb, '/api/put', point({ timestamp: TS + 180 }))).status, 204);
    assert.equal(tsdb.points.length, 0);
    assert.deepEqual(
      tsdb.lost.map((l) => [l.datapoint.timestamp, l.error]),
      [
        [TS + 120, OpenTsdbMessages.storage],
        [TS + 180, OpenTsdbMessages.storage],
      ],
      "only the TSD log (the stand-in's `lost`) knows",
    );
    assert.equal(tsdb.rejected.length, 2, 'the lost points were never reported');
  });

  it('stall: a sync put is told "Write timedout" when its sync_timeout has passed; without sync the points are lost', async (t) => {
    const tsdb = await start(t);
    tsdb.fault = 'stall';
    const started = Date.now();
    const synced = await post(tsdb, '/api/put?details&sync&sync_timeout=300', [
      point(),
      point({ timestamp: TS + 60 }),
    ]);
    assert.ok(Date.now() - started >= 290, 'answered once sync_timeout has passed');
    assert.equal(synced.status, 400);
    const summary = json<PutSummary & { timeouts: number }>(synced);
    assert.deepEqual(
      [summary.success, summary.failed, summary.timeouts],
      [0, 0, 2],
      'failed does not count the timeouts: S + F + T = points sent',
    );
    assert.deepEqual(
      summary.errors!.map((e) => e.error),
      [OpenTsdbMessages.writeTimedOut, OpenTsdbMessages.writeTimedOut],
    );
    // sync without sync_timeout waits for the storage: forever.
    await assert.rejects(post(tsdb, '/api/put?details&sync', point(), { signal: AbortSignal.timeout(300) }), {
      name: 'TimeoutError',
    });
    assert.equal(tsdb.requests[1]!.outcome, 'hung');
    const unsynced = await post(tsdb, '/api/put?details', point({ timestamp: TS + 120 }));
    assert.equal(unsynced.status, 200);
    assert.deepEqual(json(unsynced), { success: 1, failed: 0, errors: [] });
    assert.equal(tsdb.points.length, 0);
    assert.equal(tsdb.lost.length, 1);
    assert.deepEqual(tsdb.violations, []);
  });

  it('empty-200 and html-200: a 200 that is no put summary, and nothing stored', async (t) => {
    const tsdb = await start(t);
    tsdb.failNext(1, 'empty-200');
    tsdb.failNext(1, 'html-200');
    const empty = await post(tsdb, '/api/put?details&sync', point());
    assert.deepEqual([empty.status, empty.text], [200, '']);
    const html = await post(tsdb, '/api/put?details&sync', point());
    assert.equal(html.status, 200);
    assert.match(html.contentType ?? '', /text\/html/);
    assert.match(html.text, /^<!DOCTYPE html>.*Service Unavailable/);
    assert.equal(tsdb.points.length, 0);
  });

  it('unknown-reason: every valid point refused with an exception text nobody has seen', async (t) => {
    const tsdb = await start(t);
    tsdb.fault = 'unknown-reason';
    for (const path of ['/api/put?details&sync', '/api/put?details']) {
      const answer = await post(tsdb, path, [point(), point({ metric: 'bad metric' })]);
      assert.equal(answer.status, 400);
      const summary = json<PutSummary>(answer);
      assert.deepEqual(
        summary.errors!.map((e) => e.error),
        [
          OpenTsdbMessages.unseenException,
          OpenTsdbMessages.illegalCharacter('metric name', 'bad metric', ' '),
        ],
      );
    }
    assert.equal(tsdb.points.length, 0);
  });

  it('miscount: stores every point but counts one success more than was sent', async (t) => {
    const tsdb = await start(t);
    tsdb.fault = 'miscount';
    const answer = await post(tsdb, '/api/put?details&sync', [point(), point({ timestamp: TS + 60 })]);
    assert.equal(answer.status, 200);
    assert.deepEqual(json(answer), { success: 3, failed: 0, errors: [] });
    assert.equal(tsdb.points.length, 2);
  });

  it('refuseConnections: connecting fails with ECONNREFUSED until acceptConnections, on the same URL', async (t) => {
    const tsdb = await start(t);
    const url = tsdb.url;
    assert.equal((await post(tsdb, '/api/put', point())).status, 204);
    await tsdb.refuseConnections();
    await assert.rejects(post(tsdb, '/api/put', point()), (error: Error) => {
      assert.equal((error.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
      return true;
    });
    await tsdb.acceptConnections();
    assert.equal(tsdb.url, url);
    assert.equal((await post(tsdb, '/api/put', point({ timestamp: TS + 60 }))).status, 204);
    assert.equal(tsdb.points.length, 2);
  });

  it('failNext: fails only the next N put requests, then recovers; uid/assign is out of scope', async (t) => {
    const tsdb = await start(t);
    tsdb.failNext(2, '500');
    assert.equal((await post(tsdb, '/api/uid/assign', { metric: ['x.y'] })).status, 200);
    assert.equal((await post(tsdb, '/api/put', point())).status, 500);
    assert.equal((await post(tsdb, '/api/put', point())).status, 500);
    assert.equal((await post(tsdb, '/api/put', point())).status, 204);
    assert.deepEqual(
      tsdb.requests.map((r) => r.fault),
      ['none', '500', '500', 'none'],
    );
    assert.equal(tsdb.points.length, 1);

    const all = await start(t, { knownMetrics: [METRIC], faultScope: 'all' });
    all.failNext(1, 'down');
    await assert.rejects(post(all, '/api/uid/assign', { metric: ['x.y'] }), TypeError);
    assert.equal((await post(all, '/api/uid/assign', { metric: ['x.y'] })).status, 200);
  });

  it('reset() forgets points, requests and violations', async (t) => {
    const tsdb = await start(t);
    await post(tsdb, '/api/put', point({ metric: 'bad metric' }));
    await post(tsdb, '/api/put', point());
    tsdb.reset();
    assert.deepEqual([tsdb.points.length, tsdb.requests.length, tsdb.violations.length], [0, 0, 0]);
    assert.ok(tsdb.knownMetrics.has(METRIC));
  });
});

describe('OpenTSDB stand-in: poison (particular points failing, as OpenTSDB fails on them)', () => {
  const poisoned = point({ tags: { testid: '666', nodeid: '77' } });
  const healthy = [point(), point({ timestamp: TS + 60 })];
  const isPoisoned = (p: { tags: Record<string, string> }): boolean => p.tags.testid === '666';

  it('refuse: the poisoned point fails validation (a 400 with details); the others are stored; no violation', async (t) => {
    const tsdb = await start(t);
    tsdb.poison(isPoisoned, 'refuse');
    const answer = await post(tsdb, '/api/put?details&sync&sync_timeout=1000', [
      healthy[0],
      poisoned,
      healthy[1],
    ]);
    assert.equal(answer.status, 400);
    const summary = json<PutSummary>(answer);
    assert.deepEqual([summary.success, summary.failed], [2, 1]);
    assert.equal(summary.errors![0]!.error, OpenTsdbMessages.tooManyTags(2, 1, '{testid=666, nodeid=77}'));
    assert.deepEqual(summary.errors![0]!.datapoint.tags, { testid: '666', nodeid: '77' });
    assert.deepEqual(
      tsdb.points.map((p) => p.timestamp),
      [TS, TS + 60],
    );
    assert.equal(tsdb.rejected.length, 1);
    assert.deepEqual(tsdb.violations, []);
  });

  it('storage: a sync put is told "Storage exception: …" for the poisoned point, in a 200; without sync it is lost', async (t) => {
    const tsdb = await start(t);
    tsdb.poison(isPoisoned, 'storage');
    const synced = await post(tsdb, '/api/put?details&sync', [healthy[0], poisoned, healthy[1]]);
    assert.equal(synced.status, 200);
    const summary = json<PutSummary>(synced);
    assert.deepEqual([summary.success, summary.failed], [2, 1]);
    assert.deepEqual(
      summary.errors!.map((e) => e.error),
      [OpenTsdbMessages.storage],
    );
    assert.equal(tsdb.points.length, 2);
    const unsynced = await post(tsdb, '/api/put?details', [poisoned]);
    assert.equal(unsynced.status, 200);
    assert.deepEqual(json(unsynced), { success: 1, failed: 0, errors: [] });
    assert.equal(tsdb.lost.length, 1);
    assert.equal(tsdb.points.length, 2);
    assert.deepEqual(tsdb.violations, []);
  });

  it('unknown-reason: as storage, with an exception text no writer has seen', async (t) => {
    const tsdb = await start(t);
    tsdb.poison(isPoisoned, 'unknown-reason');
    const answer = await post(tsdb, '/api/put?details&sync', [poisoned, ...healthy]);
    assert.equal(answer.status, 200);
    const summary = json<PutSummary>(answer);
    assert.deepEqual([summary.success, summary.failed], [2, 1]);
    assert.deepEqual(
      summary.errors!.map((e) => e.error),
      [OpenTsdbMessages.unseenException],
    );
    assert.equal(tsdb.points.length, 2);
    assert.deepEqual(tsdb.violations, []);
  });

  it('storage next to a point that fails validation: the status is 400', async (t) => {
    const tsdb = await start(t);
    tsdb.poison(isPoisoned, 'storage');
    const answer = await post(tsdb, '/api/put?details&sync', [poisoned, point({ metric: 'bad metric' })]);
    assert.equal(answer.status, 400);
    assert.deepEqual(
      json<PutSummary>(answer).errors!.map((e) => e.error),
      [OpenTsdbMessages.storage, OpenTsdbMessages.illegalCharacter('metric name', 'bad metric', ' ')],
    );
  });

  it('timeout: a sync put is answered when its sync_timeout passes, "Write timedout" for the poisoned point; the others stored', async (t) => {
    const tsdb = await start(t);
    tsdb.poison(isPoisoned, 'timeout');
    const answer = await post(tsdb, '/api/put?details&sync&sync_timeout=200', [
      healthy[0],
      poisoned,
      healthy[1],
    ]);
    assert.equal(answer.status, 400);
    const summary = json<PutSummary & { timeouts: number }>(answer);
    assert.deepEqual([summary.success, summary.failed, summary.timeouts], [2, 0, 1]);
    assert.deepEqual(
      summary.errors!.map((e) => [e.datapoint.tags, e.error]),
      [[{ testid: '666', nodeid: '77' }, OpenTsdbMessages.writeTimedOut]],
    );
    assert.equal(tsdb.points.length, 2);
    // Without sync the TSD answers once queued: the poisoned point is lost.
    const unsynced = await post(tsdb, '/api/put?details', [poisoned]);
    assert.deepEqual(json(unsynced), { success: 1, failed: 0, errors: [] });
    assert.equal(tsdb.lost.length, 1);
    assert.deepEqual(tsdb.violations, []);
  });

  it('500: the whole request is answered 500 and nothing of it is stored; requests without the point are', async (t) => {
    const tsdb = await start(t);
    tsdb.poison(isPoisoned, '500');
    const answer = await post(tsdb, '/api/put?details&sync', [healthy[0], poisoned, healthy[1]]);
    assert.equal(answer.status, 500);
    assert.equal(json<ErrorBody>(answer).error.code, 500);
    assert.equal(tsdb.points.length, 0);
    assert.equal((await post(tsdb, '/api/put?details&sync', healthy)).status, 200);
    assert.equal(tsdb.points.length, 2);
    assert.deepEqual(tsdb.violations, []);
  });

  it('drop: the connection is destroyed once the request is read; nothing of it is stored', async (t) => {
    const tsdb = await start(t);
    tsdb.poison(isPoisoned, 'drop');
    await assert.rejects(post(tsdb, '/api/put?details&sync', [healthy[0], poisoned]), TypeError);
    assert.equal(tsdb.requests[0]!.outcome, 'destroyed');
    assert.equal(tsdb.requests[0]!.status, null);
    assert.equal(tsdb.points.length, 0);
    assert.equal((await post(tsdb, '/api/put?details&sync', healthy)).status, 200);
    assert.equal(tsdb.points.length, 2);
  });

  it('the first matching rule decides; the rule sees metric, timestamp as sent and tags; reset() clears the rules', async (t) => {
    const tsdb = await start(t);
    const seen: Array<{ metric: string; timestamp: number; tags: Record<string, string> }> = [];
    tsdb.poison((p) => {
      seen.push(p);
      return p.timestamp === TS + 60;
    }, 'refuse');
    tsdb.poison((p) => p.timestamp === TS + 60, '500');
    const answer = await post(tsdb, '/api/put?details', healthy);
    assert.equal(answer.status, 400);
    assert.deepEqual(seen[0], { metric: METRIC, timestamp: TS, tags: { testid: '90001', nodeid: '77' } });
    tsdb.reset();
    assert.equal((await post(tsdb, '/api/put?details', healthy)).status, 200);
    assert.equal(tsdb.points.length, 2);
  });
});
