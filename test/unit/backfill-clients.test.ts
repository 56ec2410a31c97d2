// The backfill's two HTTP clients against the stand-ins: Catchpoint's raw data (raw-client.ts) and
// OpenTSDB's /api/query (stored-runs.ts, and the stand-in's answer shape).
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type OpenTsdbStandIn, startOpenTsdbStandIn } from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import { DEFAULT_RATE_LIMITS, RequestLimiter } from '../../lambda/backfill/rate-limits.js';
import { CatchpointApiError } from '../../lambda/catchpoint-api/api-http.js';
import { createRawClient } from '../../lambda/catchpoint-api/raw-client.js';
import { StoredRunsError, storedRuns } from '../../lambda/opentsdb/stored-runs.js';
import {
  type CatchpointStandIn,
  RAW_DIMENSIONS,
  STAND_IN_API_KEY,
  startCatchpointStandIn,
} from '../support/catchpoint-stand-in.js';

const FROM = Date.UTC(2026, 10, 20);
const H = 3_600_000;

describe('raw data client', () => {
  let catchpoint: CatchpointStandIn;
  beforeEach(async () => {
    catchpoint = await startCatchpointStandIn({
      rawMetrics: ['Response (ms)'],
      rawRuns: [
        {
          testId: 101,
          nodeId: 77,
          nodeName: 'Osaka, JP - KDDI',
          dateTime: '2026-11-20T00:10:00',
          values: { 'Response (ms)': 5 },
        },
      ],
      enumerationMetrics: [{ id: 37, name: 'Response (ms)' }],
    });
  });
  afterEach(() => catchpoint.close());

  /** A client on a fake clock: sleeping moves it; `slept` says for how long each time. */
  function client(limits = DEFAULT_RATE_LIMITS) {
    let now = Date.UTC(2026, 11, 3, 12);
    const slept: number[] = [];
    const sleep = async (ms: number) => {
      slept.push(ms);
      now += ms;
    };
    const limiter = new RequestLimiter(limits, () => now, sleep);
    const raw = createRawClient(
      { version: 'v2', apiKey: STAND_IN_API_KEY },
      { baseUrl: catchpoint.url, limiter, now: () => now, sleep, random: () => 0 },
    );
    return { raw, slept, limiter };
  }

  it('asks for several tests over a window in the documented format', async () => {
    const { raw } = client();
    const answer = await raw.raw(
      { testIds: [101, 102], startMs: FROM, endMs: FROM + H },
      { failedDeliveries: true },
    );
    assert.equal(answer.hasMore, false);
    const [request] = catchpoint.requests;
    assert.equal(request?.authorization, `Bearer ${STAND_IN_API_KEY}`);
    assert.match(request?.path ?? '', /^\/api\/v2\/tests\/explorer\/raw$/);
    assert.deepEqual(Object.fromEntries(request!.query), {
      testIds: '101,102',
      startTimeUtc: '2026-11-20T00:00:00',
      endTimeUtc: '2026-11-20T01:00:00',
      availabilityFilter: '8',
    });
  });

  it('waits out a 429 for as long as X-Rate-Limit-Reset says, then gets the answer', async () => {
    catchpoint.data.rawRuns[0]!.pushFailed = true;
    catchpoint.addFault({
      path: '/api/v2/tests/explorer/raw',
      status: 429,
      headers: { 'X-Rate-Limit-Limit': '20', 'X-Rate-Limit-Remaining': '0', 'X-Rate-Limit-Reset': '42' },
      body: { errors: [{ id: '1', message: 'Too many requests.' }], completed: false },
    });
    const { raw, slept } = client();
    const answer = await raw.raw({ testIds: [101], startMs: FROM, endMs: FROM + H });
    assert.equal(catchpoint.requests.length, 2);
    assert.equal(answer.data.responseItems?.[0]?.items?.length, 1);
    assert.equal(
      slept.reduce((a, b) => a + b, 0),
      42_000,
    );
  });

  it('takes an answer past the size cap for one that has more', async () => {
    const limiter = new RequestLimiter(DEFAULT_RATE_LIMITS);
    const small = createRawClient(
      { version: 'v2', apiKey: STAND_IN_API_KEY },
      { baseUrl: catchpoint.url, limiter, maxBodyBytes: 200 },
    );
    assert.deepEqual(await small.raw({ testIds: [101], startMs: FROM, endMs: FROM + H }), {
      data: {},
      hasMore: true,
    });
  });

  it('takes the answer’s usageLimits when lower than its own', async () => {
    catchpoint.data.usageLimits = { limits: { minute: 5, hour: 50, day: 9000 } };
    const { raw, limiter } = client();
    await raw.raw({ testIds: [101], startMs: FROM, endMs: FROM + H });
    assert.deepEqual(limiter.current, { perSecond: 7, perMinute: 5, perHour: 50, perDay: 2000 });
  });

  it('reads the enumeration’s metrics and dimensions', async () => {
    const { raw } = client();
    assert.deepEqual(await raw.enumeration(), {
      metrics: [{ id: 37, name: 'Response (ms)' }],
      dimensions: Object.values(RAW_DIMENSIONS),
    });
    assert.deepEqual(Object.fromEntries(catchpoint.requests[0]!.query), {
      includeMetrics: 'true',
      includeDimensions: 'true',
    });
  });

  it('refuses v1 credentials and names a refused key without echoing it', async () => {
    const limiter = new RequestLimiter(DEFAULT_RATE_LIMITS);
    assert.throws(
      () =>
        createRawClient(
          { version: 'v1', clientId: 'a', clientSecret: 'b' },
          { baseUrl: catchpoint.url, limiter },
        ),
      /the raw data API is API v2/,
    );
    const wrong = createRawClient(
      { version: 'v2', apiKey: 'secret-wrong-key' },
      { baseUrl: catchpoint.url, limiter },
    );
    await assert.rejects(wrong.raw({ testIds: [1], startMs: FROM, endMs: FROM + H }), (error: unknown) => {
      assert.ok(error instanceof CatchpointApiError);
      assert.equal(error.kind, 'auth');
      assert.doesNotMatch(error.message, /secret-wrong-key/);
      return true;
    });
  });
});

describe('stored runs (OpenTSDB /api/query)', () => {
  let tsdb: OpenTsdbStandIn;
  beforeEach(async () => {
    tsdb = await startOpenTsdbStandIn({ autoCreateMetrics: true });
  });
  afterEach(() => tsdb.close());

  const T = Date.UTC(2026, 10, 20, 1) / 1000;
  async function put(points: unknown[]): Promise<void> {
    const answer = await fetch(`${tsdb.url}/api/put?details&sync`, {
      method: 'POST',
      body: JSON.stringify(points),
    });
    assert.equal(answer.status, 200, await answer.text());
  }
  const status = (metric: string, timestamp: number, tags: Record<string, string>) => ({
    metric,
    timestamp,
    value: 1,
    tags,
  });

  it('says which runs of a test are stored in a window; a name never written means none', async () => {
    const options = { baseUrl: tsdb.url, naming: 'default' as const };
    assert.deepEqual(await storedRuns(options, 101, T, T + 3600), new Set(), 'metric never written');
    await put([
      status('catchpoint.status.by_node', T, { testid: '101', nodeid: '77', status: 'ok' }),
      status('catchpoint.status.by_node', T + 60, { testid: '101', nodeid: '77', status: 'error' }),
      status('catchpoint.status.by_node', T + 60, { testid: '101', nodeid: '79', status: 'ok' }),
      status('catchpoint.status.by_node', T + 3600, { testid: '101', nodeid: '79', status: 'ok' }),
      status('catchpoint.status.by_node', T + 5, { testid: '102', nodeid: '79', status: 'ok' }),
    ]);
    assert.deepEqual(
      await storedRuns(options, 101, T, T + 3600),
      new Set([`101:77:${T}`, `101:77:${T + 60}`, `101:79:${T + 60}`]),
    );
    assert.deepEqual(await storedRuns(options, 103, T, T + 3600), new Set(), 'tag value never written');

    const answer = await fetch(
      `${tsdb.url}/api/query?start=${T}&end=${T + 3599}&m=${encodeURIComponent('zimsum:catchpoint.status.by_node{testid=101,nodeid=*}')}`,
    );
    assert.deepEqual(await answer.json(), [
      {
        metric: 'catchpoint.status.by_node',
        tags: { nodeid: '77', testid: '101' },
        aggregateTags: ['status'],
        dps: { [T]: 1, [T + 60]: 1 },
      },
      {
        metric: 'catchpoint.status.by_node',
        tags: { nodeid: '79', status: 'ok', testid: '101' },
        aggregateTags: [],
        dps: { [T + 60]: 1 },
      },
    ]);
  });

  it('reads per-test names', async () => {
    await put([status('catchpoint.status.by_node.101', T, { nodeid: '77', status: 'ok' })]);
    assert.deepEqual(
      await storedRuns({ baseUrl: tsdb.url, naming: 'per-test' }, 101, T, T + 1),
      new Set([`101:77:${T}`]),
    );
  });

  it('throws when OpenTSDB cannot answer, so that nothing is written blind', async () => {
    const failing = await startOpenTsdbStandIn({ fault: '500', faultScope: 'all' });
    try {
      await assert.rejects(
        storedRuns({ baseUrl: failing.url, naming: 'default' }, 101, T, T + 60),
        StoredRunsError,
      );
    } finally {
      await failing.close();
    }
    await assert.rejects(
      storedRuns({ baseUrl: 'http://127.0.0.1:1', naming: 'default' }, 101, T, T + 60),
      StoredRunsError,
    );
  });
});
