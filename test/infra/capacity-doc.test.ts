// docs/capacity.md's sizing table, recomputed from its stated rules and prices and from the stack's own
// defaults, so that the page cannot drift from the stack (or from its own arithmetic).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AWS_PRICES, SECONDS_PER_MONTH } from '../../dev/aws-prices.js';
import { CONTEXT_DEFAULTS } from '../../infra/bridge-context.js';
import { ACCOUNT_DEFAULTS, PLANNED_PUSH_ANSWER_SECONDS, quotaNeededFor } from '../../infra/push-capacity.js';
import { PROJECT_ROOT } from './synth-bridge.js';

const page = readFileSync(new URL('docs/capacity.md', PROJECT_ROOT), 'utf8');

/** The page's assumptions, as it states them; the prices are dev/aws-prices.ts's (the page quotes them). */
/**
 * A healthy push with `sync` waits for the TSD's buffered flush (hbase.rpcs.buffered_flush_interval, 1 s by
 * default: 0.5 s on average) plus its CPU at 256 MB: docs/cost.md's 502 ms, the one figure both pages use.
 */
const HEALTHY_ANSWER_SECONDS = 0.502;
const MINUTE_PEAK_FACTOR = 3;

interface Row {
  average: number;
  rate: number;
  burst: number;
  healthy: string;
  slow: number;
  reserved: number;
  quota: number;
  cost: number;
}

function sizingRows(): Row[] {
  const number = (cell: string) => Number(cell.replace(/[$,]/g, ''));
  return page
    .split('\n')
    .filter((line) => /^\|\s*[\d,]+\s*\|/.test(line))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim().replace(/`/g, '')),
    )
    .filter((cells) => cells.length === 7)
    .map(([average, rate, burst, healthy, slow, ifReserved, cost]) => {
      const [reserved, quota] = ifReserved!.split(' / ');
      return {
        average: number(average!),
        rate: number(rate!),
        burst: number(burst!),
        healthy: healthy!,
        slow: number(slow!),
        reserved: number(reserved!),
        quota: number(quota!),
        cost: number(cost!),
      };
    });
}

function monthlyCost(pushesPerSecond: number): number {
  const millions = (pushesPerSecond * SECONDS_PER_MONTH) / 1e6;
  const api =
    Math.min(millions, AWS_PRICES.httpApiTierMillions) * AWS_PRICES.httpApiPerMillion +
    Math.max(millions - AWS_PRICES.httpApiTierMillions, 0) * AWS_PRICES.httpApiPerMillionBeyond;
  const requests = millions * AWS_PRICES.lambdaRequestsPerMillion;
  const gbMs = millions * 1e6 * HEALTHY_ANSWER_SECONDS * 1000 * (CONTEXT_DEFAULTS.pushMemorySize / 1024);
  return api + requests + (gbMs / 1000) * AWS_PRICES.lambdaArm64PerGbSecond;
}

describe('docs/capacity.md', () => {
  const rows = sizingRows();

  it('has the sizing table, with the issue-9 account (167 pushes/s) on the stack defaults', () => {
    assert.deepEqual(
      rows.map((r) => r.average),
      [10, 50, 167, 500, 1000],
    );
    const account = rows.find((r) => r.average === 167)!;
    assert.deepEqual(
      [account.rate, account.burst],
      [CONTEXT_DEFAULTS.pushRateLimit, CONTEXT_DEFAULTS.pushBurstLimit],
    );
    for (const key of ['pushRateLimit', 'pushBurstLimit'] as const) {
      assert.match(page, new RegExp(`\\| \`${key}\`\\s+\\| \`${CONTEXT_DEFAULTS[key]}\`\\s+\\|`), key);
    }
    // No reservation by default: the page's key table says so.
    assert.match(page, /\| `pushReservedConcurrency` \| none\s+\| opt-in/);
  });

  it('follows its own rules: limits, reservation, no-429 spread, concurrency used, quotas', () => {
    for (const row of rows) {
      const what = `${row.average} pushes/s`;
      const peak = MINUTE_PEAK_FACTOR * row.average;
      // "About 3 × the average": 3 × 167 = 501 is carried by the default 500.
      assert.ok(row.rate >= Math.max(CONTEXT_DEFAULTS.pushRateLimit, peak - 1), `${what}: rate`);
      assert.ok(row.burst >= Math.max(CONTEXT_DEFAULTS.pushBurstLimit, row.rate), `${what}: burst`);
      assert.ok(row.rate <= ACCOUNT_DEFAULTS.apiRateLimit && row.burst <= ACCOUNT_DEFAULTS.apiBurstLimit);
      assert.equal(row.reserved, row.rate * PLANNED_PUSH_ANSWER_SECONDS, `${what}: reservation`);
      // The minute's runs pass with no 429 if they arrive over this many seconds: within the 20 s assumed.
      assert.ok((60 * row.average - row.burst) / row.rate <= 20, `${what}: spread`);
      assert.equal(
        row.healthy,
        [row.average, peak]
          .map((n) => Math.round(n * HEALTHY_ANSWER_SECONDS).toLocaleString('en-US'))
          .join(' / '),
        `${what}: healthy concurrency`,
      );
      assert.equal(row.slow, Math.min(Math.round(peak * PLANNED_PUSH_ANSWER_SECONDS), row.reserved), what);
      // With a reservation, the deploy needs the quota the synth warns about.
      assert.equal(row.quota, quotaNeededFor(row.reserved), `${what}: quota`);
      // "The standard 1,000 covers the first three rows" (without a reservation).
      assert.equal(
        row.slow <= ACCOUNT_DEFAULTS.lambdaConcurrency,
        row.average <= 167,
        `${what}: standard quota`,
      );
    }
  });

  it("prices each row with the stated formula, prices and the push function's memory", () => {
    for (const row of rows) {
      assert.equal(row.cost.toFixed(2), monthlyCost(row.average).toFixed(2), `${row.average} pushes/s`);
    }
    assert.equal(CONTEXT_DEFAULTS.pushMemorySize, 256, 'the page says 0.25 GB');
    for (const stated of [
      '$1.00 per million for the first 300 million',
      '$0.90 per million beyond',
      '$0.20 per million',
      '$0.0000000133334 per GB-ms',
      'us-east-1 list prices, late 2026',
      '502 ms',
    ]) {
      assert.ok(page.includes(stated), stated);
    }
  });

  it('is linked from README', () => {
    const readme = readFileSync(new URL('README.md', PROJECT_ROOT), 'utf8');
    assert.match(readme, /\n- \[docs\/capacity\.md\]\(docs\/capacity\.md\): /);
  });
});
