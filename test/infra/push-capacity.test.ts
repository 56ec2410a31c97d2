import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTEXT_DEFAULTS } from '../../infra/bridge-context.js';
import { type PushCapacity, pushCapacityWarnings, quotaNeededFor } from '../../infra/push-capacity.js';

const DEFAULTS: PushCapacity = {
  pushRateLimit: CONTEXT_DEFAULTS.pushRateLimit,
  pushBurstLimit: CONTEXT_DEFAULTS.pushBurstLimit,
  pushReservedConcurrency: undefined,
};

function idsOf(capacity: PushCapacity): string[] {
  return pushCapacityWarnings(capacity).map((w) => w.id);
}

describe('push capacity', () => {
  it('reserves nothing by default, so nothing to warn about: a new account (quota 10) can deploy', () => {
    assert.equal('pushReservedConcurrency' in CONTEXT_DEFAULTS, false);
    assert.deepEqual(pushCapacityWarnings(DEFAULTS), []);
  });

  it('warns about any reservation: the quota it needs is the reservation + the 100 Lambda keeps unreserved', () => {
    assert.equal(quotaNeededFor(500), 600);
    const warnings = pushCapacityWarnings({ ...DEFAULTS, pushReservedConcurrency: 500 });
    assert.deepEqual(
      warnings.map((w) => w.id),
      ['catchpoint-bridge:pushReservedConcurrency'],
    );
    assert.match(warnings[0]!.message, /pushReservedConcurrency \(500\).*at least 600/);
    assert.match(warnings[0]!.message, /aws lambda get-account-settings/);
    assert.match(
      pushCapacityWarnings({ ...DEFAULTS, pushReservedConcurrency: 5 })[0]!.message,
      /at least 105/,
    );
  });

  it('also warns when a reservation cannot serve the stage rate at the planned answer time', () => {
    assert.deepEqual(idsOf({ ...DEFAULTS, pushReservedConcurrency: 499 }), [
      'catchpoint-bridge:pushReservedConcurrency',
      'catchpoint-bridge:pushConcurrencyBelowRate',
    ]);
    const [, warning] = pushCapacityWarnings({ ...DEFAULTS, pushReservedConcurrency: 499 });
    assert.match(
      warning!.message,
      /\(499\) is below pushRateLimit × 1 s \(500\).*answers those 500, not 429/,
    );
  });

  it("warns when the stage limits exceed the account's default API Gateway throttle", () => {
    const big = { pushRateLimit: 800, pushBurstLimit: 5001, pushReservedConcurrency: undefined };
    assert.deepEqual(idsOf(big), ['catchpoint-bridge:pushLimitsAboveAccountDefault']);
    assert.deepEqual(idsOf({ ...big, pushBurstLimit: 5000 }), []);
  });
});
