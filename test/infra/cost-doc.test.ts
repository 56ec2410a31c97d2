// docs/cost.md's figures, recomputed from the prices in dev/aws-prices.ts, the stack's defaults and the
// measurements the page states, so that the page cannot drift from its own arithmetic or from the stack.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AWS_PRICES, SECONDS_PER_MONTH } from '../../dev/aws-prices.js';
import { BACKFILL_MEMORY_MB, BACKFILL_TIMEOUT } from '../../infra/backfill-schedule.js';
import { CONTEXT_DEFAULTS } from '../../infra/bridge-context.js';
import { PROJECT_ROOT } from './synth-bridge.js';

const page = readFileSync(new URL('docs/cost.md', PROJECT_ROOT), 'utf8');

/** What the page states it measured or assumes. */
const ANSWER_SECONDS = 0.502;
const PUSH_LINE_BYTES = 272;
const ACCESS_LINE_BYTES = 347;
const GB = 2 ** 30;

const dollars = (n: number) =>
  `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

function perPush(memoryMb: number, answerSeconds: number) {
  return {
    api: AWS_PRICES.httpApiPerMillion / 1e6,
    requests: AWS_PRICES.lambdaRequestsPerMillion / 1e6,
    compute: answerSeconds * (memoryMb / 1024) * AWS_PRICES.lambdaArm64PerGbSecond,
    pushLogs: (PUSH_LINE_BYTES / GB) * AWS_PRICES.logsIngestedPerGb,
    accessLogs: (ACCESS_LINE_BYTES / GB) * AWS_PRICES.logsIngestedPerGb,
  };
}

describe('docs/cost.md', () => {
  const memoryMb = CONTEXT_DEFAULTS.pushMemorySize;
  const push = perPush(memoryMb, ANSWER_SECONDS);

  it('prices a million pushes at the default memory with the stated formula', () => {
    assert.equal(memoryMb, 256);
    assert.ok(page.includes(`0.502 s × ${memoryMb / 1024} GB a push`));
    for (const value of [push.api, push.requests, push.compute, push.pushLogs, push.accessLogs]) {
      assert.ok(page.includes(dollars(value * 1e6)), dollars(value * 1e6));
    }
    const total = Object.values(push).reduce((a, b) => a + b, 0) * 1e6;
    assert.ok(page.includes(`**${dollars(total)}**`), `total ${dollars(total)}`);
    assert.ok(PUSH_LINE_BYTES <= 300, 'the line the bundled push test holds to 300 bytes');
  });

  it("prices the 167 pushes/s account's month item by item", () => {
    const pushes = 167 * SECONDS_PER_MONTH;
    const millions = pushes / 1e6;
    assert.ok(page.includes(pushes.toLocaleString('en-US')));
    const api =
      Math.min(millions, AWS_PRICES.httpApiTierMillions) * AWS_PRICES.httpApiPerMillion +
      Math.max(millions - AWS_PRICES.httpApiTierMillions, 0) * AWS_PRICES.httpApiPerMillionBeyond;
    const instances = Math.round(167 * 0.5);
    const reads = instances * 12 * 24 * 30 * Math.ceil((3000 * 250) / 4096) * 0.5;
    const dynamo = (reads / 1e6) * AWS_PRICES.dynamoReadPerMillion;
    const flat =
      19 * AWS_PRICES.metricPerMonth + 15 * AWS_PRICES.alarmPerMonth + AWS_PRICES.dashboardPerMonth;
    const items = [
      api,
      millions * AWS_PRICES.lambdaRequestsPerMillion,
      pushes * push.compute,
      pushes * push.pushLogs,
      pushes * push.accessLogs,
      dynamo,
      flat,
    ];
    for (const item of items) assert.ok(page.includes(dollars(item)), dollars(item));
    const total = items.reduce((a, b) => a + b, 0);
    assert.ok(page.includes(`**${dollars(total)}**`), `total ${dollars(total)}`);
  });

  it('says what the opt-in scheduled gap repair adds: its alarms, metrics and one invocation a period', () => {
    const start = page.indexOf('- **The scheduled gap repair**');
    assert.ok(start > 0, 'an item for the gap repair');
    const item = page.slice(start, page.indexOf('\n- ', start + 1)).replace(/\s+/g, ' ');
    // Its four alarms (test/infra/backfill-schedule.test.ts counts them in the template).
    assert.ok(item.includes(`4 alarms, ${dollars(4 * AWS_PRICES.alarmPerMonth)} a month`), item);
    // Every metric the gap-repair handler publishes.
    const source = readFileSync(new URL('lambda/backfill/gap-repair-handler.ts', PROJECT_ROOT), 'utf8');
    const metrics = new Set([...source.matchAll(/MetricName\.(\w+)/g)].map((m) => m[1]));
    assert.ok(item.includes(`up to ${metrics.size} metrics`), `${metrics.size} metrics`);
    assert.ok(item.includes(dollars(metrics.size * AWS_PRICES.metricPerMonth)));
    // An hourly schedule: 720 invocations a month, each at most the function's timeout.
    const runs = SECONDS_PER_MONTH / 3600;
    const gbSecond = (BACKFILL_MEMORY_MB / 1024) * AWS_PRICES.lambdaArm64PerGbSecond;
    assert.ok(item.includes(`at ${BACKFILL_MEMORY_MB} MB: with \`rate(1 hour)\`, ${runs} a month`), item);
    assert.ok(
      item.includes(`$${((runs * AWS_PRICES.lambdaRequestsPerMillion) / 1e6).toFixed(4)} of requests`),
    );
    const timeout = BACKFILL_TIMEOUT.toSeconds();
    assert.ok(item.includes(`${timeout / 60}-minute timeout`));
    assert.ok(item.includes(`at most ${dollars(runs * timeout * gbSecond)} of compute`), item);
    assert.ok(item.includes(`a run of 5 s: ${dollars(runs * 5 * gbSecond)} a month`), item);
  });

  it('is linked from README', () => {
    const readme = readFileSync(new URL('README.md', PROJECT_ROOT), 'utf8');
    assert.match(readme, /\n- \[docs\/cost\.md\]\(docs\/cost\.md\): /);
  });
});
