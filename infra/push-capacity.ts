// How the push path's limits fit together and into the account's (docs/capacity.md has the reasoning and a
// sizing table). The stack turns each point into a synth warning: none of them can be checked against the
// account at synth time, and a raised account quota makes any of them right.

/**
 * The answer time the push path is planned for, in seconds: an opted-in reserved concurrency should be at
 * least pushRateLimit × this. A healthy push with `sync` answers in about half of it: a `sync` put is answered
 * once HBase has the points, and the TSD's HBase client sends what it has buffered every
 * `hbase.rpcs.buffered_flush_interval` (1,000 ms by default), so a put waits 0–1 s, 0.5 s on average
 * (docs/cost.md). 1 s also covers an OpenTSDB that is slow without failing, cold starts, and an outage, where
 * the circuit breaker keeps the median push at ≤ 1 s.
 */
export const PLANNED_PUSH_ANSWER_SECONDS = 1;

/** AWS defaults per account and region (all raisable through Service Quotas). */
export const ACCOUNT_DEFAULTS = {
  /** Lambda concurrent executions, shared by every function in the region (new accounts may start at 10). */
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
  /** undefined: no reservation (the default). */
  pushReservedConcurrency: number | undefined;
}

export interface CapacityWarning {
  /** Names the warning in the synth output, and for `cdk synth` acknowledgements. */
  id: string;
  message: string;
}

/** The Lambda concurrency quota an account needs before it can deploy a reservation of `reserved`. */
export function quotaNeededFor(reserved: number): number {
  return reserved + ACCOUNT_DEFAULTS.lambdaMinimumUnreserved;
}

/** What the stack warns about: a reservation (it needs a large enough quota), and limits that do not fit. */
export function pushCapacityWarnings(capacity: PushCapacity): CapacityWarning[] {
  const warnings: CapacityWarning[] = [];
  const { pushRateLimit, pushBurstLimit, pushReservedConcurrency: reserved } = capacity;
  if (reserved !== undefined) {
    warnings.push({
      id: 'catchpoint-bridge:pushReservedConcurrency',
      message:
        `pushReservedConcurrency (${reserved}): the deploy fails unless the account's Lambda concurrency quota ` +
        `is at least ${quotaNeededFor(reserved)} (the reservation + the ` +
        `${ACCOUNT_DEFAULTS.lambdaMinimumUnreserved} Lambda keeps unreserved), plus whatever else the account ` +
        'reserves. New accounts often have 10. Check first: aws lambda get-account-settings. ' +
        'See docs/capacity.md.',
    });
    const needed = Math.ceil(pushRateLimit * PLANNED_PUSH_ANSWER_SECONDS);
    if (reserved < needed) {
      warnings.push({
        id: 'catchpoint-bridge:pushConcurrencyBelowRate',
        message:
          `pushReservedConcurrency (${reserved}) is below pushRateLimit × ` +
          `${PLANNED_PUSH_ANSWER_SECONDS} s (${needed}): pushes the stage admits can be throttled by Lambda, ` +
          'and API Gateway answers those 500, not 429. See docs/capacity.md.',
      });
    }
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
