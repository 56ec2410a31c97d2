import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTEXT_DEFAULTS } from '../../infra/bridge-context.js';
import {
  ACCOUNT_DEFAULTS,
  PLANNED_PUSH_ANSWER_SECONDS,
  type PushCapacity,
  pushCapacityWarnings,
} from '../../infra/push-capacity.js';

const DEFAULTS: PushCapacity = {
  pushRateLimit: CONTEXT_DEFAULTS.pushRateLimit,
  pushBurstLimit: CONTEXT_DEFAULTS.pushBurstLimit,
  pushReservedConcurrency: CONTEXT_DEFAULTS.pushReservedConcurrency,
};

function idsOf(capacity: PushCapacity): string[] {
  return pushCapacityWarnings(capacity).map((w) => w.id);
}

describe('push capacity', () => {
  it('reserves the default concurrency as the default rate × the planned answer time', () => {
    assert.equal(
      CONTEXT_DEFAULTS.pushReservedConcurrency,
      CONTEXT_DEFAULTS.pushRateLimit * PLANNED_PUSH_ANSWER_SECONDS,
    );
  });

  it('fits the defaults into an account with default quotas, leaving the other functions a share', () => {
    assert.deepEqual(pushCapacityWarnings(DEFAULTS), []);
    const unreserved = ACCOUNT_DEFAULTS.lambdaConcurrency - CONTEXT_DEFAULTS.pushReservedConcurrency - 1;
    assert.ok(unreserved >= 2 * ACCOUNT_DEFAULTS.lambdaMinimumUnreserved, `${unreserved} left unreserved`);
  });

  it('warns when the reserved concurrency cannot serve the stage rate at the planned answer time', () => {
    assert.deepEqual(idsOf({ ...DEFAULTS, pushReservedConcurrency: 499 }), [
      'catchpoint-bridge:pushConcurrencyBelowRate',
    ]);
    const [warning] = pushCapacityWarnings({ ...DEFAULTS, pushReservedConcurrency: 499 });
    assert.match(
      warning!.message,
      /\(499\) is below pushRateLimit × 1 s \(500\).*answers those 500, not 429/,
    );
  });

  it('warns when the reservation needs a raised account concurrency (900 reservable of 1,000, replay has 1)', () => {
    assert.deepEqual(idsOf({ pushRateLimit: 899, pushBurstLimit: 2000, pushReservedConcurrency: 899 }), []);
    assert.deepEqual(idsOf({ pushRateLimit: 900, pushBurstLimit: 2000, pushReservedConcurrency: 900 }), [
      'catchpoint-bridge:pushConcurrencyAboveAccountDefault',
    ]);
  });

  it("warns when the stage limits exceed the account's default API Gateway throttle", () => {
    const big = { pushRateLimit: 800, pushBurstLimit: 5001, pushReservedConcurrency: 800 };
    assert.deepEqual(idsOf(big), ['catchpoint-bridge:pushLimitsAboveAccountDefault']);
    assert.deepEqual(idsOf({ ...big, pushBurstLimit: 5000 }), []);
  });
});
