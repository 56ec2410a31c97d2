import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  CatchpointApiError,
  type CatchpointClientOptions,
  createCatchpointClient,
  type RetryNotice,
} from '../../lambda/catchpoint-api/api-client.js';
import { catchpointMessage, HTTP_DEFAULTS, parseRetryAfter } from '../../lambda/catchpoint-api/api-http.js';
import type { RawNodeList } from '../../lambda/catchpoint-api/node-api-types.js';
import {
  type CatchpointStandIn,
  fixtureNodes,
  makeV1Items,
  makeV2Nodes,
  STAND_IN_API_KEY,
  STAND_IN_CLIENT_ID,
  STAND_IN_CLIENT_SECRET,
  StandInMessages,
  startCatchpointStandIn,
} from '../support/catchpoint-stand-in.js';

/** A clock that only moves when the client sleeps, and a record of every sleep. */
function fakeTime(startMs = Date.UTC(2026, 10, 25)) {
  const clock = { nowMs: startMs, sleeps: [] as number[], retries: [] as RetryNotice[] };
  const options: Partial<CatchpointClientOptions> = {
    now: () => clock.nowMs,
    sleep: async (ms) => {
      clock.sleeps.push(ms);
      clock.nowMs += ms;
    },
    random: () => 0.5,
    onRetry: (retry) => clock.retries.push(retry),
  };
  return { clock, options };
}

let standIn: CatchpointStandIn;
let time: ReturnType<typeof fakeTime>;

beforeEach(async () => {
  standIn = await startCatchpointStandIn();
  time = fakeTime();
});
afterEach(async () => {
  await standIn.close();
});

const v2 = (options: Partial<CatchpointClientOptions> = {}) =>
  createCatchpointClient(
    { version: 'v2', apiKey: STAND_IN_API_KEY },
    { baseUrl: standIn.url, timeoutMs: 2000, ...time.options, ...options },
  );
const v1 = (options: Partial<CatchpointClientOptions> = {}) =>
  createCatchpointClient(
    { version: 'v1', clientId: STAND_IN_CLIENT_ID, clientSecret: STAND_IN_CLIENT_SECRET },
    { baseUrl: standIn.url, timeoutMs: 2000, ...time.options, ...options },
  );

async function rejection(promise: Promise<unknown>): Promise<CatchpointApiError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CatchpointApiError, `expected a CatchpointApiError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

const paths = () =>
  standIn.requests.map((r) => `${r.method} ${r.path}${r.query.size > 0 ? `?${r.query}` : ''}`);

describe('API v2', () => {
  it('pages /nodes/all by 100 until hasMore is false, then reads the Enterprise list', async () => {
    standIn.data.v2Nodes = makeV2Nodes(250);
    const raw = await v2().fetchNodes();
    assert.equal(raw.version, 'v2');
    assert.equal((raw as Extract<RawNodeList, { version: 'v2' }>).nodes.length, 250);
    assert.deepEqual((raw as Extract<RawNodeList, { version: 'v2' }>).enterprise, fixtureNodes().enterprise);
    assert.deepEqual(paths(), [
      'GET /api/v2/nodes/all?pageNumber=1&pageSize=100',
      'GET /api/v2/nodes/all?pageNumber=2&pageSize=100',
      'GET /api/v2/nodes/all?pageNumber=3&pageSize=100',
      'GET /api/v2/nodes',
    ]);
    for (const request of standIn.requests) assert.equal(request.authorization, `Bearer ${STAND_IN_API_KEY}`);
  });

  it('serves the documented pages (fixtures) in order', async () => {
    const raw = await v2({ pageSize: 2 }).fetchNodes();
    const { v2Nodes, enterprise } = fixtureNodes();
    assert.deepEqual(raw, { version: 'v2', nodes: v2Nodes, enterprise });
    assert.equal(standIn.requests.filter((r) => r.path === '/api/v2/nodes/all').length, 2);
  });

  it('throttles: requests start at least minIntervalMs apart', async () => {
    standIn.data.v2Nodes = makeV2Nodes(300);
    await v2({ minIntervalMs: 250 }).fetchNodes();
    assert.deepEqual(time.clock.sleeps, [250, 250, 250]);
  });

  it('fails on a refused API key with Catchpoint’s message, without retrying or echoing the key', async () => {
    const error = await rejection(
      createCatchpointClient(
        { version: 'v2', apiKey: 'wrong-key-secret' },
        { baseUrl: standIn.url, ...time.options },
      ).fetchNodes(),
    );
    assert.equal(error.kind, 'auth');
    assert.equal(error.status, 401);
    assert.match(error.message, /refused the API key/);
    assert.ok(error.message.includes(StandInMessages.invalidApiKey), error.message);
    assert.ok(!error.message.includes('wrong-key-secret'));
    assert.equal(standIn.requests.length, 1);
  });

  it('waits as long as Retry-After says on a 429, then goes on', async () => {
    standIn.addFault({
      path: '/api/v2/nodes/all',
      pageNumber: 2,
      status: 429,
      headers: { 'retry-after': '7' },
      body: { errors: [{ id: '429', message: 'Rate limit exceeded.' }], completed: false },
    });
    const raw = await v2({ pageSize: 2 }).fetchNodes();
    assert.equal((raw as Extract<RawNodeList, { version: 'v2' }>).nodes.length, 3);
    assert.ok(time.clock.sleeps.includes(7000), `sleeps: ${time.clock.sleeps}`);
    assert.equal(time.clock.retries.length, 1);
    assert.equal(time.clock.retries[0]?.status, 429);
    assert.equal(time.clock.retries[0]?.delayMs, 7000);
    assert.match(time.clock.retries[0]?.reason ?? '', /Rate limit exceeded/);
    assert.equal(standIn.requests.filter((r) => r.query.get('pageNumber') === '2').length, 2);
  });

  it('reads a Retry-After date too', () => {
    const now = Date.UTC(2026, 10, 25, 12, 0, 0);
    assert.equal(parseRetryAfter('Wed, 25 Nov 2026 12:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Wed, 25 Nov 2026 11:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('12', now), 12_000);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });

  it('does not wait for a Retry-After beyond its limit: it fails at once, saying so', async () => {
    standIn.addFault({
      path: '/api/v2/nodes/all',
      status: 429,
      headers: { 'retry-after': '3600' },
      times: Infinity,
    });
    const error = await rejection(v2({ maxRetryAfterMs: 60_000 }).fetchNodes());
    assert.equal(error.status, 429);
    assert.match(error.message, /retry after 3600 s/);
    assert.equal(standIn.requests.length, 1);
    assert.deepEqual(time.clock.sleeps, []);
  });

  it('retries a 5xx with growing backoff and succeeds when it clears', async () => {
    standIn.addFault({
      path: '/api/v2/nodes/all',
      pageNumber: 1,
      status: 503,
      body: 'Service Unavailable',
      times: 2,
    });
    await v2({ backoffBaseMs: 1000, minIntervalMs: 0 }).fetchNodes();
    // random() = 0.5: three quarters of base·2^(n-1).
    assert.deepEqual(time.clock.sleeps, [750, 1500]);
  });

  it('gives up on a 500 in the middle of paging after maxAttempts, with Catchpoint’s message', async () => {
    standIn.addFault({
      path: '/api/v2/nodes/all',
      pageNumber: 2,
      status: 500,
      times: Infinity,
      body: { data: null, errors: [{ id: '500', message: 'An unexpected error occurred (trace 42).' }] },
    });
    const error = await rejection(v2({ pageSize: 2, maxAttempts: 3 }).fetchNodes());
    assert.equal(error.kind, 'http');
    assert.equal(error.status, 500);
    assert.match(error.message, /GET \/api\/v2\/nodes\/all\?pageNumber=2&pageSize=2 answered 500/);
    assert.match(error.message, /An unexpected error occurred \(trace 42\)/);
    assert.match(error.message, /after 3 attempts/);
    assert.equal(standIn.requests.filter((r) => r.query.get('pageNumber') === '2').length, 3);
    assert.ok(
      !standIn.requests.some((r) => r.path === '/api/v2/nodes'),
      'stopped before the Enterprise list',
    );
  });

  it('bounds every attempt by the timeout and retries it', async () => {
    standIn.addFault({ path: '/api/v2/nodes', hang: true });
    const raw = await v2({ timeoutMs: 100 }).fetchNodes();
    assert.equal((raw as Extract<RawNodeList, { version: 'v2' }>).enterprise.length, 1);
    assert.match(time.clock.retries[0]?.reason ?? '', /no answer within 100 ms/);
  });

  it('reports a timeout when no attempt gets an answer', async () => {
    standIn.addFault({ path: '/api/v2/nodes/all', hang: true, times: Infinity });
    const error = await rejection(v2({ timeoutMs: 50, maxAttempts: 2 }).fetchNodes());
    assert.equal(error.kind, 'timeout');
    assert.match(error.message, /failed after 2 attempt\(s\): no answer within 50 ms/);
  });

  it('reports a network failure when nothing listens', async () => {
    const url = standIn.url;
    await standIn.close();
    const error = await rejection(
      createCatchpointClient(
        { version: 'v2', apiKey: STAND_IN_API_KEY },
        { baseUrl: url, maxAttempts: 2, ...time.options },
      ).fetchNodes(),
    );
    assert.equal(error.kind, 'network');
    assert.match(error.message, /ECONNREFUSED/);
  });

  it('starts no attempt once the deadline has passed', async () => {
    const error = await rejection(v2({ deadline: () => time.clock.nowMs - 1 }).fetchNodes());
    assert.equal(error.kind, 'timeout');
    assert.match(
      error.message,
      /GET \/api\/v2\/nodes\/all\?pageNumber=1&pageSize=100: out of time before attempt 1/,
    );
    assert.equal(standIn.requests.length, 0);
  });

  it('does not wait for a retry that would end after the deadline', async () => {
    standIn.addFault({ path: '/api/v2/nodes/all', status: 429, headers: { 'retry-after': '5' } });
    const deadline = time.clock.nowMs + 2000;
    const error = await rejection(v2({ deadline: () => deadline }).fetchNodes());
    assert.equal(error.status, 429);
    assert.match(error.message, /answered 429; no time left to retry in 5000 ms/);
    assert.deepEqual(time.clock.sleeps, []);
  });

  it('shortens the last attempt’s timeout to the time left', async () => {
    standIn.addFault({ path: '/api/v2/nodes/all', hang: true });
    const deadline = time.clock.nowMs + 80;
    const error = await rejection(v2({ timeoutMs: 5000, deadline: () => deadline }).fetchNodes());
    assert.equal(error.kind, 'timeout');
    assert.match(error.message, /no answer within 80 ms; no time left to retry/);
  });

  it('treats an envelope reporting errors or an incomplete answer as a failure', async () => {
    standIn.addFault({
      path: '/api/v2/nodes',
      status: 200,
      body: {
        data: { nodes: [] },
        errors: [{ id: '9', message: 'Division not accessible.' }],
        completed: false,
      },
    });
    const error = await rejection(v2().fetchNodes());
    assert.equal(error.kind, 'response');
    assert.match(error.message, /reported errors: Division not accessible\./);
  });

  it('refuses a page without hasMore rather than guess it was the last', async () => {
    standIn.addFault({ path: '/api/v2/nodes/all', status: 200, body: { data: { nodes: [] }, errors: [] } });
    const error = await rejection(v2().fetchNodes());
    assert.match(error.message, /without data\.hasMore/);
  });

  it('refuses an empty page that claims to have more (no endless paging)', async () => {
    standIn.addFault({
      path: '/api/v2/nodes/all',
      status: 200,
      body: { data: { nodes: [], hasMore: true } },
    });
    const error = await rejection(v2().fetchNodes());
    assert.match(error.message, /empty page that has more/);
  });
});

describe('API v1', () => {
  it('gets a client-credentials token, then the items with the raw bearer token', async () => {
    const raw = await v1().fetchNodes();
    assert.deepEqual(raw, { version: 'v1', items: fixtureNodes().v1Items });
    const [token, nodes] = standIn.requests;
    assert.equal(token?.method, 'POST');
    assert.equal(token?.path, '/ui/api/token');
    assert.equal(token?.contentType, 'application/x-www-form-urlencoded');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(token?.body)), {
      grant_type: 'client_credentials',
      client_id: STAND_IN_CLIENT_ID,
      client_secret: STAND_IN_CLIENT_SECRET,
    });
    assert.match(nodes?.authorization ?? '', /^Bearer v1-token-1-/);
  });

  it('reuses the token until it expires', async () => {
    const client = v1();
    await client.fetchNodes();
    await client.fetchNodes();
    assert.equal(standIn.requests.filter((r) => r.path === '/ui/api/token').length, 1);
    time.clock.nowMs += 1800 * 1000; // the token's 30 minutes have passed
    await client.fetchNodes();
    assert.equal(standIn.requests.filter((r) => r.path === '/ui/api/token').length, 2);
  });

  it('renews the token on an "Expired token" answer', async () => {
    const client = v1();
    await client.fetchNodes();
    standIn.expireTokens();
    const raw = await client.fetchNodes();
    assert.equal(raw.version === 'v1' && raw.items.length, 3);
    assert.deepEqual(paths(), [
      'POST /ui/api/token',
      'GET /ui/api/v1/nodes',
      'GET /ui/api/v1/nodes',
      'POST /ui/api/token',
      'GET /ui/api/v1/nodes',
    ]);
  });

  it('fails when even a fresh token is "Expired token"', async () => {
    standIn.addFault({
      path: '/ui/api/v1/nodes',
      status: 401,
      body: { Message: StandInMessages.expired },
      times: Infinity,
    });
    const error = await rejection(v1().fetchNodes());
    assert.equal(error.kind, 'auth');
    assert.match(error.message, /freshly issued token was "Expired token"/);
    assert.equal(standIn.requests.filter((r) => r.path === '/ui/api/token').length, 2);
  });

  it('sends the token base64-encoded when the raw one is refused, and remembers that', async () => {
    standIn.data.bearerEncoding = 'base64';
    const client = v1();
    await client.fetchNodes();
    await client.fetchNodes();
    const gets = standIn.requests
      .filter((r) => r.path === '/ui/api/v1/nodes')
      .map((r) => r.authorization ?? '');
    assert.equal(gets.length, 3);
    const token = gets[0]?.slice('Bearer '.length) ?? '';
    assert.equal(gets[1], `Bearer ${Buffer.from(token).toString('base64')}`);
    assert.equal(gets[2], gets[1]);
  });

  it('fails with Catchpoint’s message when the token is refused both ways', async () => {
    standIn.addFault({
      path: '/ui/api/v1/nodes',
      status: 401,
      body: { Message: StandInMessages.denied },
      times: 2,
    });
    const error = await rejection(v1().fetchNodes());
    assert.equal(error.kind, 'auth');
    assert.ok(error.message.includes(StandInMessages.denied), error.message);
    assert.match(error.message, /sent raw and base64-encoded/);
  });

  it('fails on refused client credentials with Catchpoint’s message and without the secret', async () => {
    standIn.data.clientSecret = 'another-secret';
    const error = await rejection(v1().fetchNodes());
    assert.equal(error.kind, 'auth');
    assert.equal(error.status, 401);
    assert.ok(error.message.includes(StandInMessages.invalidClient), error.message);
    assert.ok(!error.message.includes(STAND_IN_CLIENT_SECRET));
    assert.equal(standIn.requests.length, 1);
  });

  it('retries the token request on a 5xx', async () => {
    standIn.addFault({ path: '/ui/api/token', status: 502, body: '<html><h1>502 Bad Gateway</h1></html>' });
    await v1().fetchNodes();
    assert.match(time.clock.retries[0]?.reason ?? '', /^502: 502 Bad Gateway$/);
  });
});

describe('defaults', () => {
  it('makes 4 attempts, 3 retries, backing off 0.5–1 s, 1–2 s, then 2–4 s', async () => {
    standIn.addFault({ path: '/api/v2/nodes/all', status: 503, times: Infinity });
    const client = createCatchpointClient(
      { version: 'v2', apiKey: STAND_IN_API_KEY },
      { baseUrl: standIn.url, ...time.options, random: () => 0 },
    );
    const error = await rejection(client.fetchNodes());
    assert.equal(HTTP_DEFAULTS.maxAttempts, 4);
    assert.match(error.message, /after 4 attempts/);
    assert.equal(standIn.requests.length, 4);
    assert.deepEqual(
      time.clock.retries.map((r) => r.attempt),
      [1, 2, 3],
    );
    // random() = 0: the shortest waits, half of 1, 2 and 4 s.
    assert.deepEqual(
      time.clock.retries.map((r) => r.delayMs),
      [500, 1000, 2000],
    );
  });

  it('are the numbers docs/node-refresh.md states', () => {
    const path = new URL('../../docs/node-refresh.md', import.meta.url);
    const doc = readFileSync(path, 'utf8').replace(/\s+/g, ' ');
    const retries = HTTP_DEFAULTS.maxAttempts - 1;
    for (const claim of [
      `throttled to ${1000 / HTTP_DEFAULTS.minIntervalMs} per second`,
      `bounded by a ${HTTP_DEFAULTS.timeoutMs / 1000} s timeout`,
      `read as a stream, up to ${HTTP_DEFAULTS.maxBodyBytes / 1024 / 1024} MiB`,
      `past the ${HTTP_DEFAULTS.maxBodyBytes} bytes this client reads`,
      `retried up to ${retries} times (${HTTP_DEFAULTS.maxAttempts} attempts in all)`,
      `waiting 0.5–1 s, 1–2 s, then 2–4 s`,
      `honouring \`Retry-After\` (up to ${HTTP_DEFAULTS.maxRetryAfterMs / 1000} s;`,
    ]) {
      assert.ok(doc.includes(claim), `docs/node-refresh.md says "${claim}"`);
    }
    assert.equal(HTTP_DEFAULTS.backoffBaseMs, 1000);
    assert.ok(HTTP_DEFAULTS.maxBackoffMs >= 4000);
  });
});

/** A v1 answer of at least `bytes` bytes: real-looking items, as many as it takes. */
function v1AnswerOf(bytes: number): string {
  const item = JSON.stringify(makeV1Items(1)[0]);
  const items = Array.from({ length: Math.ceil(bytes / (item.length + 1)) }, () => item);
  return `{"items":[${items.join(',')}]}`;
}

describe('answer size cap', () => {
  const CAP = HTTP_DEFAULTS.maxBodyBytes;
  // A generous timeout: the cap, not the time 16 MiB takes on a loaded machine, is under test.
  const slow = { timeoutMs: 60_000 };
  const v1Reads = () => standIn.requests.filter((r) => r.path === '/ui/api/v1/nodes').length;

  it('refuses an answer whose Content-Length is past the cap, without reading or retrying it', async () => {
    const body = v1AnswerOf(CAP + 1);
    standIn.addFault({
      path: '/ui/api/v1/nodes',
      status: 200,
      headers: { 'content-length': String(Buffer.byteLength(body)) },
      body,
      times: Infinity,
    });
    const error = await rejection(v1(slow).fetchNodes());
    assert.equal(error.kind, 'response');
    assert.equal(
      error.message,
      `Catchpoint GET /ui/api/v1/nodes answered 200 with a body of ${Buffer.byteLength(body)} bytes, ` +
        `past the ${CAP} bytes this client reads`,
    );
    assert.equal(v1Reads(), 1);
    assert.deepEqual(time.clock.retries, []);
  });

  it('stops reading an answer of unknown length once it passes the cap', async () => {
    standIn.addFault({
      path: '/ui/api/v1/nodes',
      status: 200,
      body: v1AnswerOf(CAP + 100_000),
      chunked: true,
      times: Infinity,
    });
    const error = await rejection(v1(slow).fetchNodes());
    assert.equal(error.kind, 'response');
    assert.equal(
      error.message,
      `Catchpoint GET /ui/api/v1/nodes answered 200 with a body past the ${CAP} bytes this client reads`,
    );
    assert.equal(v1Reads(), 1);
  });

  it('reads a large real-sized list whole (5,000 v1 nodes)', async () => {
    standIn.data.v1Items = makeV1Items(5000);
    const raw = await v1(slow).fetchNodes();
    assert.equal((raw as Extract<RawNodeList, { version: 'v1' }>).items.length, 5000);
  });

  it('applies to every answer: a v2 page past a smaller cap', async () => {
    standIn.data.v2Nodes = makeV2Nodes(100);
    const error = await rejection(v2({ maxBodyBytes: 10_000 }).fetchNodes());
    assert.equal(error.kind, 'response');
    assert.match(
      error.message,
      /GET \/api\/v2\/nodes\/all\?pageNumber=1&pageSize=100 answered 200 with a body past the 10000 bytes/,
    );
  });

  it('bounds the reading of a body by the attempt’s timeout', async () => {
    standIn.addFault({ path: '/api/v2/nodes', status: 200, body: { data: { nodes: [] } }, stall: true });
    const error = await rejection(v2({ timeoutMs: 100, maxAttempts: 1 }).fetchNodes());
    assert.equal(error.kind, 'timeout');
    assert.match(error.message, /GET \/api\/v2\/nodes failed after 1 attempt\(s\): no answer within 100 ms/);
  });
});

describe('catchpointMessage', () => {
  it('reads v2 errors[].message, v1 Message and OAuth error_description', () => {
    assert.equal(
      catchpointMessage({
        json: {
          errors: [
            { id: 1, message: 'a' },
            { id: 2, message: 'b' },
          ],
        },
        text: '',
      }),
      'a; b',
    );
    assert.equal(catchpointMessage({ json: { Message: 'Expired token' }, text: '' }), 'Expired token');
    assert.equal(
      catchpointMessage({ json: { error: 'invalid_client', error_description: 'bad secret' }, text: '' }),
      'bad secret; invalid_client',
    );
    assert.equal(catchpointMessage({ json: { data: {} }, text: '{"data":{}}' }), undefined);
    assert.equal(catchpointMessage({ json: undefined, text: '' }), undefined);
  });
});
