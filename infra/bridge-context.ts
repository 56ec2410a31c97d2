// Every CDK context value the stack reads, read and validated once. A missing or malformed value fails
// the synth with one message that lists every problem, names the key and says how to set it.
import type { IConstruct } from 'constructs';
import { METRIC_SET_NAMES, type MetricNaming, type MetricSet } from '../lambda/config.js';
import { type BackfillScheduleSetting, parseBackfillSchedule } from './backfill-schedule.js';

export class BridgeContextError extends Error {
  override name = 'BridgeContextError';

  constructor(readonly problems: readonly string[]) {
    super(
      'The Catchpoint bridge cannot be synthesized; fix these CDK context values ' +
        '(in cdk.json under "context", or on the command line with -c key=value):\n' +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
  }
}

export interface BridgeContext {
  vpcId: string;
  /** Private subnets of the VPC that reach OpenTSDB; the push and replay functions run in them. */
  subnetIds: string[];
  openTsdbUrl: string;
  /** TCP port of OpenTSDB (from the URL, or the scheme's default). */
  openTsdbPort: number;
  /** When set, the functions' security group is allowed into this one (and only this one) on that port. */
  openTsdbSecurityGroupId: string | undefined;
  /** SHA-256 hex digests (lower case) of the accepted push tokens. */
  pushTokenHashes: string[];
  catchpointCredentialsParameter: string;
  /** Customer managed KMS key of that parameter; undefined for the default aws/ssm key. */
  catchpointCredentialsKmsKeyArn: string | undefined;
  catchpointApiUrl: string | undefined;
  /** Days until a node no longer listed expires (NODE_TTL_DAYS); undefined keeps the function's default. */
  nodeTtlDays: number | undefined;
  refreshSchedule: string;
  /** Comma-separated, as the push function reads METRIC_SETS; undefined keeps the function's default. */
  metricSets: string | undefined;
  metricNaming: MetricNaming | undefined;
  createDynamoDbEndpoint: boolean;
  /** Route tables of the subnets; needed only when the stack creates the DynamoDB gateway endpoint. */
  routeTableIds: string[];
  /** The region's DynamoDB prefix list (pl-…); undefined makes the stack look it up at deploy time. */
  dynamoDbPrefixListId: string | undefined;
  alarmEmail: string | undefined;
  logRetentionDays: number;
  /** The push stage's steady rate limit, requests per second (above it API Gateway answers 429). */
  pushRateLimit: number;
  /** The push stage's burst: requests admitted at once above the steady rate (a token bucket's size). */
  pushBurstLimit: number;
  /**
   * Reserved concurrency of the push function (its share of the account's concurrency, and its cap); undefined,
   * the default, reserves none: a reservation fails the deploy on an account whose quota cannot hold it
   * plus the 100 Lambda keeps unreserved (docs/capacity.md).
   */
  pushReservedConcurrency: number | undefined;
  /** false sets OPENTSDB_SYNC=false on push and replay, for an OpenTSDB that cannot confirm storage. */
  openTsdbSync: boolean;
  /**
   * The push function's system log level. WARN drops Lambda's START and REPORT lines, about as many bytes
   * per push as the push's own line (docs/cost.md); Lambda's Duration, Errors and Throttles metrics remain.
   */
  pushSystemLogLevel: SystemLogLevel;
  /**
   * The push function's memory, MB. A push mostly waits for OpenTSDB (a `sync` put waits for the TSD's HBase
   * client to flush its buffer) and the wait is billed by memory × time: docs/cost.md has the measurements.
   */
  pushMemorySize: number;
  /** The opt-in gap repair (`backfillSchedule`, `backfillWindowMinutes`); undefined: off (the default). */
  backfill: BackfillScheduleSetting | undefined;
}

const SYSTEM_LOG_LEVELS = ['DEBUG', 'INFO', 'WARN'] as const;
export type SystemLogLevel = (typeof SYSTEM_LOG_LEVELS)[number];

/**
 * The made-up VPC of README's example synth. The network values have no defaults (a synth
 * without them fails), so this only arrives with -c; the stack warns when it is given.
 */
export const EXAMPLE_VPC_ID = 'vpc-0123456789abcdef0';
/**
 * SHA-256 of the public word "example-token": what README's example synth passes with -c. Never a default
 * (cdk.json has no pushTokenHashes, so a synth without one fails); the stack warns when it is given.
 */
export const EXAMPLE_PUSH_TOKEN_HASH = '4d1566a1d7df42a8517456d60ea06ed284e535cfe4c956aa6ee172dbcdf945f7';

export const CONTEXT_DEFAULTS = {
  refreshSchedule: 'rate(1 hour)',
  createDynamoDbEndpoint: true,
  logRetentionDays: 30,
  // Sized for an account of 500 tests on 100 nodes every 5 minutes (167 pushes/s on average, in bursts at the
  // minute boundaries) with no 429; the reasoning and a table for other sizes: docs/capacity.md.
  pushRateLimit: 500,
  pushBurstLimit: 2000,
  openTsdbSync: true,
  pushSystemLogLevel: 'WARN',
  pushMemorySize: 256,
} as const;

/** The values of CloudWatch Logs' retention setting (days). */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

type Lookup = (key: string) => unknown;

/** Reads the context of the app (cdk.json "context" merged with -c values). */
export function readBridgeContext(scope: IConstruct): BridgeContext {
  return parseBridgeContext((key) => scope.node.tryGetContext(key));
}

export function parseBridgeContext(lookup: Lookup): BridgeContext {
  const problems: string[] = [];
  const reader = new ContextReader(lookup, problems);

  const vpcId = reader.required(
    'vpcId',
    'the VPC that reaches OpenTSDB',
    EXAMPLE_VPC_ID,
    /^vpc-[0-9a-f]{8,17}$/,
  );
  const subnetIds = reader.list(
    'subnetIds',
    'the private subnets (of vpcId) that reach OpenTSDB, comma-separated',
    'subnet-0123456789abcdef0,subnet-0fedcba9876543210',
    /^subnet-[0-9a-f]{8,17}$/,
    true,
  );
  const openTsdbUrl = reader.required(
    'openTsdbUrl',
    'the base URL of OpenTSDB as seen from those subnets',
    'http://opentsdb.internal:4242',
  );
  let openTsdbPort = 0;
  let normalisedUrl = '';
  if (openTsdbUrl) {
    const parsed = parseHttpUrl(openTsdbUrl);
    if (openTsdbUrl.includes('@')) {
      // It would be in the template and the function's environment: refused, and not repeated here.
      problems.push('openTsdbUrl must not carry credentials (user:password@host)');
    } else if (!parsed) {
      problems.push(`openTsdbUrl must be an http:// or https:// URL, got "${openTsdbUrl}"`);
    } else {
      openTsdbPort = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
      normalisedUrl = openTsdbUrl.replace(/\/+$/, '');
    }
  }
  const openTsdbSecurityGroupId = reader.optional('openTsdbSecurityGroupId', /^sg-[0-9a-f]{8,17}$/);

  const pushTokenHashes = reader
    .list(
      'pushTokenHashes',
      'the SHA-256 hex digests of the accepted push tokens, comma-separated ' +
        '(printf %s "$TOKEN" | sha256sum); never the token itself',
      '<64 hex digits>',
      undefined,
      true,
    )
    .map((h) => h.toLowerCase());
  if (pushTokenHashes.some((h) => !/^[0-9a-f]{64}$/.test(h))) {
    // Never echo the value: someone may have pasted a token instead of its digest.
    problems.push(
      'pushTokenHashes must hold SHA-256 hex digests (64 hex digits each), not tokens: ' +
        'hash a token with printf %s "$TOKEN" | sha256sum',
    );
  }

  const catchpointCredentialsParameter = reader.required(
    'catchpointCredentialsParameter',
    'the name of the SSM SecureString parameter with the Catchpoint API credentials',
    '/catchpoint-bridge/credentials',
    /^[a-zA-Z0-9_.\-/]{1,2048}$/,
  );
  const catchpointCredentialsKmsKeyArn = reader.optional(
    'catchpointCredentialsKmsKeyArn',
    // A single-region key's id is a UUID; a multi-region key's is mrk- and 32 hex digits.
    /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(mrk-)?[0-9a-f-]+$/,
  );
  const catchpointApiUrl = reader.optional('catchpointApiUrl');
  if (catchpointApiUrl && !parseHttpUrl(catchpointApiUrl)) {
    problems.push(`catchpointApiUrl must be an http:// or https:// URL, got "${catchpointApiUrl}"`);
  }

  const nodeTtlDays = reader.positiveInt('nodeTtlDays', undefined);

  const refreshSchedule = reader.optional('refreshSchedule') ?? CONTEXT_DEFAULTS.refreshSchedule;
  if (!/^(rate\(\s*\d+\s+(minute|minutes|hour|hours|day|days)\s*\)|cron\(.+\))$/.test(refreshSchedule)) {
    problems.push(
      `refreshSchedule must be an EventBridge schedule expression such as "rate(1 hour)" or ` +
        `"cron(0 * * * ? *)", got "${refreshSchedule}"`,
    );
  }

  const metricSetList = reader.list('metricSets', '', '', undefined, false).map((s) => s.toLowerCase());
  const unknownSets = metricSetList.filter((s) => !(METRIC_SET_NAMES as readonly string[]).includes(s));
  if (unknownSets.length > 0) {
    problems.push(
      `metricSets has unknown set(s) ${unknownSets.join(', ')}; choose from ${METRIC_SET_NAMES.join(', ')}`,
    );
  }
  const metricSets = metricSetList.length > 0 ? (metricSetList as MetricSet[]).join(',') : undefined;

  const namingRaw = reader.optional('metricNaming')?.toLowerCase();
  if (namingRaw !== undefined && namingRaw !== 'default' && namingRaw !== 'per-test') {
    problems.push(`metricNaming must be "default" or "per-test", got "${namingRaw}"`);
  }
  const metricNaming = namingRaw as MetricNaming | undefined;

  const createDynamoDbEndpoint = reader.boolean(
    'createDynamoDbEndpoint',
    CONTEXT_DEFAULTS.createDynamoDbEndpoint,
  );
  const routeTableIds = reader.list('routeTableIds', '', '', /^rtb-[0-9a-f]{8,17}$/, false);
  if (createDynamoDbEndpoint && routeTableIds.length === 0) {
    problems.push(
      'routeTableIds is not set: the stack creates a DynamoDB gateway endpoint and needs the route tables of ' +
        'subnetIds, e.g. -c routeTableIds=rtb-0123456789abcdef0; if the VPC already has a DynamoDB gateway ' +
        'endpoint on those route tables, pass -c createDynamoDbEndpoint=false instead',
    );
  }
  const dynamoDbPrefixListId = reader.optional('dynamoDbPrefixListId', /^pl-[0-9a-f]{8,17}$/);
  const alarmEmail = reader.optional('alarmEmail', /^[^@\s]+@[^@\s]+\.[^@\s]+$/);

  const logRetentionDays = reader.positiveInt('logRetentionDays', CONTEXT_DEFAULTS.logRetentionDays);
  if (!RETENTION_DAYS.includes(logRetentionDays)) {
    problems.push(`logRetentionDays must be one of CloudWatch Logs' values (${RETENTION_DAYS.join(', ')})`);
  }
  const pushRateLimit = reader.positiveInt('pushRateLimit', CONTEXT_DEFAULTS.pushRateLimit);
  const pushBurstLimit = reader.positiveInt('pushBurstLimit', CONTEXT_DEFAULTS.pushBurstLimit);
  if (pushBurstLimit < pushRateLimit) {
    // The bucket would hold less than one second at the steady rate: the minute bursts would meet 429s
    // while the rate limit itself is far from reached.
    problems.push(
      `pushBurstLimit (${pushBurstLimit}) must be at least pushRateLimit (${pushRateLimit}): ` +
        'the burst is what carries the pushes arriving together at the minute boundaries',
    );
  }
  // Opt-in: none by default (docs/capacity.md, "Reserving concurrency").
  const pushReservedConcurrency = reader.positiveInt('pushReservedConcurrency', undefined);
  const openTsdbSync = reader.boolean('openTsdbSync', CONTEXT_DEFAULTS.openTsdbSync);
  const levelRaw =
    reader.optional('pushSystemLogLevel')?.toUpperCase() ?? CONTEXT_DEFAULTS.pushSystemLogLevel;
  if (!(SYSTEM_LOG_LEVELS as readonly string[]).includes(levelRaw)) {
    problems.push(`pushSystemLogLevel must be one of ${SYSTEM_LOG_LEVELS.join(', ')}, got "${levelRaw}"`);
  }
  const pushSystemLogLevel = levelRaw as SystemLogLevel;
  const pushMemorySize = reader.positiveInt('pushMemorySize', CONTEXT_DEFAULTS.pushMemorySize);
  if (pushMemorySize < 128 || pushMemorySize > 10_240) {
    problems.push(`pushMemorySize must be 128–10240 (MB, Lambda's range), got ${pushMemorySize}`);
  }

  const backfill = parseBackfillSchedule(
    reader.optional('backfillSchedule'),
    reader.positiveInt('backfillWindowMinutes', undefined),
    problems,
  );

  if (problems.length > 0) throw new BridgeContextError(problems);
  return {
    vpcId,
    subnetIds,
    openTsdbUrl: normalisedUrl,
    openTsdbPort,
    openTsdbSecurityGroupId,
    pushTokenHashes: [...new Set(pushTokenHashes)],
    catchpointCredentialsParameter,
    catchpointCredentialsKmsKeyArn,
    catchpointApiUrl,
    nodeTtlDays,
    refreshSchedule,
    metricSets,
    metricNaming,
    createDynamoDbEndpoint,
    routeTableIds,
    dynamoDbPrefixListId,
    alarmEmail,
    logRetentionDays,
    pushRateLimit,
    pushBurstLimit,
    pushReservedConcurrency,
    openTsdbSync,
    pushSystemLogLevel,
    pushMemorySize,
    backfill,
  };
}

function parseHttpUrl(raw: string): URL | undefined {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Context values arrive as JSON values from cdk.json and as strings from -c. */
class ContextReader {
  constructor(
    private readonly lookup: Lookup,
    private readonly problems: string[],
  ) {}

  private text(key: string): string | undefined {
    const value = this.lookup(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      this.problems.push(`${key} must be a string, got ${JSON.stringify(value)}`);
      return undefined;
    }
    const text = String(value).trim();
    return text === '' ? undefined : text;
  }

  required(key: string, what: string, example: string, pattern?: RegExp): string {
    const value = this.text(key);
    if (value === undefined) {
      if (!this.problems.some((p) => p.startsWith(`${key} `))) {
        this.problems.push(`${key} is not set: ${what}, e.g. -c ${key}=${example}`);
      }
      return '';
    }
    if (pattern && !pattern.test(value)) this.problems.push(`${key} is malformed: "${value}" (${what})`);
    return value;
  }

  optional(key: string, pattern?: RegExp): string | undefined {
    const value = this.text(key);
    if (value !== undefined && pattern && !pattern.test(value)) {
      this.problems.push(`${key} is malformed: "${value}"`);
      return undefined;
    }
    return value;
  }

  /** A list: a JSON array in cdk.json, or a comma-separated string. */
  list(
    key: string,
    what: string,
    example: string,
    pattern: RegExp | undefined,
    isRequired: boolean,
  ): string[] {
    const value = this.lookup(key);
    let items: string[] = [];
    if (Array.isArray(value)) {
      items = value.map((v) => String(v).trim());
    } else if (value !== undefined && value !== null) {
      items = String(value).split(',');
    }
    items = items.map((s) => s.trim()).filter((s) => s !== '');
    if (items.length === 0) {
      if (isRequired) this.problems.push(`${key} is not set: ${what}, e.g. -c ${key}=${example}`);
      return [];
    }
    if (pattern) {
      const bad = items.filter((s) => !pattern.test(s));
      if (bad.length > 0)
        this.problems.push(`${key} has malformed value(s): ${bad.map((s) => `"${s}"`).join(', ')}`);
    }
    return [...new Set(items)];
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.lookup(key);
    if (value === undefined || value === null || value === '') return fallback;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    this.problems.push(`${key} must be true or false, got ${JSON.stringify(value)}`);
    return fallback;
  }

  positiveInt<Fallback extends number | undefined>(key: string, fallback: Fallback): number | Fallback {
    const value = this.text(key);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) <= 0) {
      this.problems.push(`${key} must be a positive integer, got "${value}"`);
      return fallback;
    }
    return Number(value);
  }
}
