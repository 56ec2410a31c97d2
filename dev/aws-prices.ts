/**
 * AWS list prices the cost figures use: us-east-1, late 2026, on-demand, no free tier. One place for the
 * bench, docs/cost.md and docs/capacity.md (their tests recompute the pages' figures from these).
 */
export const AWS_PRICES = {
  /** HTTP API, per million requests: the first 300 million a month, and beyond. */
  httpApiPerMillion: 1.0,
  httpApiPerMillionBeyond: 0.9,
  httpApiTierMillions: 300,
  lambdaRequestsPerMillion: 0.2,
  /** Lambda duration on arm64, per GB-second (first 7.5 billion GB-s a month). */
  lambdaArm64PerGbSecond: 0.0000133334,
  /** CloudWatch Logs ingestion, standard class, per GB. */
  logsIngestedPerGb: 0.5,
  /** CloudWatch custom metrics, per metric a month (first 10,000). */
  metricPerMonth: 0.3,
  /** CloudWatch standard-resolution alarm, per alarm a month. */
  alarmPerMonth: 0.1,
  dashboardPerMonth: 3.0,
  /** DynamoDB on-demand, per million read and write request units. */
  dynamoReadPerMillion: 0.125,
  dynamoWritePerMillion: 0.625,
} as const;

/** Lambda gives a function CPU in proportion to its memory: one whole vCPU at 1,769 MB. */
export const LAMBDA_MB_PER_VCPU = 1769;

/** A 30-day month, in seconds. */
export const SECONDS_PER_MONTH = 30 * 86_400;
