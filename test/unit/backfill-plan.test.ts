import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_RATE_LIMITS,
  durationOf,
  parseRateLimits,
  type RateLimits,
  RequestLimiter,
} from '../../lambda/backfill/rate-limits.js';
import { estimatePlan, planWindows, splitWindow, windowKey } from '../../lambda/backfill/request-plan.js';
import { readWindowRuns } from '../../lambda/backfill/window-runs.js';
import { parseRateLimitReset } from '../../lambda/catchpoint-api/api-http.js';

const H = 3_600_000;
const FROM = Date.UTC(2026, 10, 20);

describe('planWindows', () => {
  it('covers the range with aligned windows, several tests a request', () => {
    const windows = planWindows([3, 1, 2, 2], FROM + H / 2, FROM + 13 * H, {
      windowMs: 6 * H,
      testsPerRequest: 2,
    });
    assert.deepEqual(windows.map(windowKey), [
      '1,2@2026-11-20T00:30:00Z/2026-11-20T06:00:00Z',
      '3@2026-11-20T00:30:00Z/2026-11-20T06:00:00Z',
      '1,2@2026-11-20T06:00:00Z/2026-11-20T12:00:00Z',
      '3@2026-11-20T06:00:00Z/2026-11-20T12:00:00Z',
      '1,2@2026-11-20T12:00:00Z/2026-11-20T13:00:00Z',
      '3@2026-11-20T12:00:00Z/2026-11-20T13:00:00Z',
    ]);
  });

  it('splits a window in time, then by tests, then gives up', () => {
    const [a, b] = splitWindow({ testIds: [1, 2, 3], startMs: FROM, endMs: FROM + H })!;
    assert.deepEqual([a.startMs, a.endMs, b.startMs, b.endMs], [FROM, FROM + H / 2, FROM + H / 2, FROM + H]);
    const narrow = { testIds: [1, 2, 3], startMs: FROM, endMs: FROM + 60_000 };
    assert.deepEqual(
      splitWindow(narrow)?.map((w) => w.testIds),
      [[1, 2], [3]],
    );
    assert.equal(splitWindow({ ...narrow, testIds: [1] }), undefined);
  });

  it('estimates what the limits make of a plan', () => {
    const windows = planWindows([101, 102], Date.UTC(2026, 10, 20), Date.UTC(2026, 10, 27));
    assert.deepEqual(estimatePlan(windows, DEFAULT_RATE_LIMITS, 1), { requests: 29, durationMs: 60_000 });
    // 2,001 requests at 2,000 a day: the last waits a day for the first.
    assert.equal(durationOf(2001, DEFAULT_RATE_LIMITS), 86_400_000);
    assert.equal(durationOf(21, DEFAULT_RATE_LIMITS), 60_000);
    assert.equal(durationOf(1, DEFAULT_RATE_LIMITS), 0);
  });
});

describe('rate limits', () => {
  it('parses --rate, any subset, and names a bad part', () => {
    assert.deepEqual(parseRateLimits('2/s, 10/min'), { ...DEFAULT_RATE_LIMITS, perSecond: 2, perMinute: 10 });
    assert.deepEqual(parseRateLimits('100/hour,900/day'), {
      ...DEFAULT_RATE_LIMITS,
      perHour: 100,
      perDay: 900,
    });
    assert.throws(() => parseRateLimits('0/s'), /"0\/s" is not/);
    assert.throws(() => parseRateLimits('7 per second'), /"7 per second" is not/);
  });

  /** Starts `count` requests on a fake clock; the start times. */
  async function starts(
    limits: RateLimits,
    count: number,
    limiter?: (l: RequestLimiter) => void,
  ): Promise<number[]> {
    let now = 0;
    const out: number[] = [];
    const l = new RequestLimiter(
      limits,
      () => now,
      async (ms) => {
        now += ms;
      },
    );
    limiter?.(l);
    for (let i = 0; i < count; i++) {
      await l.take();
      out.push(now);
    }
    return out;
  }

  /** The most starts in any span of `spanMs`. */
  function most(times: number[], spanMs: number): number {
    let best = 0;
    for (let i = 0; i < times.length; i++) {
      let n = 0;
      for (let j = i; j < times.length && times[j]! < times[i]! + spanMs; j++) n++;
      best = Math.max(best, n);
    }
    return best;
  }

  it('never starts more than a limit allows in any second, minute, hour or day', async () => {
    const limits = { perSecond: 3, perMinute: 10, perHour: 25, perDay: 40 };
    const times = await starts(limits, 45);
    assert.ok(most(times, 1000) <= 3);
    assert.ok(most(times, 60_000) <= 10);
    assert.ok(most(times, 3_600_000) <= 25);
    assert.ok(most(times, 86_400_000) <= 40);
    assert.equal(times[40], 86_400_000, 'the 41st waits for the first to be a day old');
  });

  it('takes an answer’s lower caps, never higher ones, and holds until a reset', async () => {
    const times = await starts(DEFAULT_RATE_LIMITS, 4, (l) => {
      l.applyUsage({ limits: { minute: 2, hour: 100_000, day: 0 } });
      assert.deepEqual(l.current, { ...DEFAULT_RATE_LIMITS, perMinute: 2 });
      l.applyHeaders(0, 5000);
    });
    assert.deepEqual(times, [5000, 5000, 65_000, 65_000]);
  });

  it('reads X-Rate-Limit-Reset as seconds, an epoch or a date', () => {
    const now = Date.UTC(2026, 11, 3, 12);
    assert.equal(parseRateLimitReset('30', now), 30_000);
    assert.equal(parseRateLimitReset(String(now / 1000 + 10), now), 10_000);
    assert.equal(parseRateLimitReset(String(now + 2500), now), 2500);
    assert.equal(parseRateLimitReset(new Date(now + 4000).toUTCString(), now), 4000);
    assert.equal(parseRateLimitReset('soon', now), undefined);
    assert.equal(parseRateLimitReset(null, now), undefined);
  });
});

describe('readWindowRuns', () => {
  it('asks again in halves while an answer has more, and keeps each run once and inside its window', async () => {
    const asked: string[] = [];
    const item = (at: string, nodeId: number) => ({
      dateTime: at,
      values: [10],
      dimensions: [
        { type: { id: 1, name: 'Test' }, id: 101 },
        { type: { id: 2, name: 'Node' }, id: nodeId },
      ],
    });
    const all = [
      item('2026-11-20T00:10:00', 1),
      item('2026-11-20T00:10:00', 1),
      item('2026-11-20T00:40:00', 2),
      item('2026-11-20T01:00:00', 3),
    ];
    const source = {
      raw: async (window: { startMs: number; endMs: number; testIds: readonly number[] }) => {
        asked.push(windowKey(window));
        const items = all.filter((i) => {
          const at = Date.parse(`${i.dateTime}Z`);
          return at >= window.startMs && at <= window.endMs;
        });
        return {
          data: {
            responseItems: [{ metrics: [{ index: 0, name: 'Response (ms)' }], items: items.slice(0, 3) }],
          },
          hasMore: items.length > 3 && window.endMs - window.startMs > 30 * 60_000,
        };
      },
    };
    const read = await readWindowRuns(source, { testIds: [101], startMs: FROM, endMs: FROM + H });
    assert.deepEqual(asked, [
      '101@2026-11-20T00:00:00Z/2026-11-20T01:00:00Z',
      '101@2026-11-20T00:00:00Z/2026-11-20T00:30:00Z',
      '101@2026-11-20T00:30:00Z/2026-11-20T01:00:00Z',
    ]);
    assert.deepEqual(
      read.runs.map((r) => r.nodeId),
      [1, 2],
      'the repeat and the run at the window’s end are left out',
    );
    assert.equal(read.requests, 3);
  });
});
