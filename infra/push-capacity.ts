// How the push path's limits fit together and into the account's (docs/capacity.md has the reasoning and a
// sizing table). The stack turns each mismatch into a synth warning: none of them can be checked against the
// account at synth time, and a raised account quota makes any of them right.
import { REPLAY_RESERVED_CONCURRENCY } from './spool-replay.js';

/**
 * The answer time the push function's concurrency is planned for, in seconds: reserved concurrency =
 * pushRateLimit × this. A healthy push with `sync` answers in about a tenth of it (one keep-alive POST in the
 * VPC, which OpenTSDB answers once HBase has the points); 1 s also covers an OpenTSDB that is slow without
 * failing, cold starts, and an outage, where the circuit breaker keeps the median push at ≤ 1 s.
 */
export const PLANNED_PUSH_ANSWER_SECONDS = 1;

/** AWS defaults per account and region (all raisable through Service Quotas). */
export const ACCOUNT_DEFAULTS = {
  /** Lambda concurrent executions, shared by every function in the region. */
  lambdaConcurrency: 1000,
  /** What Lambda keeps unreserved: reserved concurrency can take at most the rest. */
  lambdaMinimumUnreserved: 100,
  /** API Gateway requests per second, shared by every API in the region. */
  apiRateLimit: 10_000,
  apiBurstLimit: 5000,
} as const;

export interface PushCapacity {
  pushRateLimit: number;
  pushBurstLimit: number;
  pushReservedConcurrency: number;
}

export interface CapacityWarning {
  /** Names the warning in the synth output, and for `cdk synth` acknowledgements. */
  id: string;
  message: string;
}

/** What the stack warns about: limits that do not fit each other or the account's default quotas. */
export function pushCapacityWarnings(capacity: PushCapacity): CapacityWarning[] {
  const warnings: CapacityWarning[] = [];
  const { pushRateLimit, pushBurstLimit, pushReservedConcurrency } = capacity;
  const needed = Math.ceil(pushRateLimit * PLANNED_PUSH_ANSWER_SECONDS);
  if (pushReservedConcurrency < needed) {
    warnings.push({
      id: 'catchpoint-bridge:pushConcurrencyBelowRate',
      message:
        `pushReservedConcurrency (${pushReservedConcurrency}) is below pushRateLimit × ` +
        `${PLANNED_PUSH_ANSWER_SECONDS} s (${needed}): pushes the stage admits can be throttled by Lambda, and ` +
        'API Gateway answers those 500, not 429. See docs/capacity.md.',
    });
  }
  const reservable = ACCOUNT_DEFAULTS.lambdaConcurrency - ACCOUNT_DEFAULTS.lambdaMinimumUnreserved;
  if (pushReservedConcurrency + REPLAY_RESERVED_CONCURRENCY > reservable) {
    warnings.push({
      id: 'catchpoint-bridge:pushConcurrencyAboveAccountDefault',
      message:
        `pushReservedConcurrency (${pushReservedConcurrency}) and the replay's ` +
        `${REPLAY_RESERVED_CONCURRENCY} exceed the ${reservable} that ` +
        `an account with the default ${ACCOUNT_DEFAULTS.lambdaConcurrency} concurrent executions can reserve: ` +
        'the deploy fails unless the account quota was raised. See docs/capacity.md.',
    });
  }
  if (pushRateLimit > ACCOUNT_DEFAULTS.apiRateLimit || pushBurstLimit > ACCOUNT_DEFAULTS.apiBurstLimit) {
    warnings.push({
      id: 'catchpoint-bridge:pushLimitsAboveAccountDefault',
      message:
        `pushRateLimit ${pushRateLimit}/s, pushBurstLimit ${pushBurstLimit}: above the account's default API ` +
        `Gateway throttle (${ACCOUNT_DEFAULTS.apiRateLimit}/s, burst ${ACCOUNT_DEFAULTS.apiBurstLimit}), which ` +
        'applies first: raise that quota too. See docs/capacity.md.',
    });
  }
  return warnings;
}
