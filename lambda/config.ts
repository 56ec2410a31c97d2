import { DEFAULT_WRITE_BUDGET_MS, MAX_WRITE_BUDGET_MS } from './push/push-limits.js';

// Every environment variable the bridge reads, validated once at start-up.
// A bad value fails fast with a message naming the variable, never later in the middle of a push.

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The process environment, or any map shaped like it (tests pass their own). */
export type Env = Readonly<Record<string, string | undefined>>;

export const METRIC_SET_NAMES = ['core', 'timing', 'ping', 'traceroute', 'bytes', 'counters'] as const;
export type MetricSet = (typeof METRIC_SET_NAMES)[number];
export const DEFAULT_METRIC_SETS: readonly MetricSet[] = ['core', 'timing', 'ping', 'traceroute'];

export type MetricNaming = 'default' | 'per-test';

export interface MetricOptions {
  sets: ReadonlySet<MetricSet>;
  naming: MetricNaming;
}

export interface PushConfig {
  nodesTable: string;
  /** Base URL of OpenTSDB; undefined only for the local server, which then prints the datapoints. */
  openTsdbUrl: string | undefined;
  /** SHA-256 hex digests of the accepted push tokens; empty means "accept any" (local server only). */
  pushTokenHashes: readonly string[];
  metrics: MetricOptions;
  /** How long node metadata is trusted before the whole table is read again. */
  nodeCacheTtlMs: number;
  /** Upper bound of one HTTP request to OpenTSDB. */
  openTsdbTimeoutMs: number;
  /** `/api/put?sync`: OpenTSDB answers once the points are stored, not once they are queued (OPENTSDB_SYNC). */
  openTsdbSync: boolean;
  /** Upper bound of the whole write of one push, retries included (Catchpoint waits 20 s). */
  writeBudgetMs: number;
  /** DynamoDB table that keeps datapoints OpenTSDB could not take; undefined disables the spool. */
  spoolTable: string | undefined;
}

/** What every node refresh reads (the Lambda, `npm start`'s, `npm run nodes`), whatever its credentials. */
export interface CatchpointApiSettings {
  /** Base URL of Catchpoint's REST API, without a trailing slash (CATCHPOINT_API_URL). */
  catchpointApiUrl: string;
  /** Days until a node no longer listed expires (NODE_TTL_DAYS). */
  nodeTtlDays: number;
}

export const DEFAULT_CATCHPOINT_API_URL = 'https://io.catchpoint.com';
export const DEFAULT_NODE_TTL_DAYS = 7;

export interface RefreshConfig extends CatchpointApiSettings {
  nodesTable: string;
  /** SSM SecureString holding {"apiKey"} or {"clientId","clientSecret"}. */
  credentialsParameter: string;
}

export interface ReplayConfig {
  spoolTable: string;
  openTsdbUrl: string;
  openTsdbTimeoutMs: number;
  openTsdbSync: boolean;
}

function required(env: Env, name: string, hint: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is not set: ${hint}`);
  return value;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) <= 0)
    throw new ConfigError(`${name} must be a positive integer, got "${raw}"`);
  return Number(raw);
}

/** `true` or `false` (any case); `fallback` when unset or empty. */
export function booleanFlag(env: Env, name: string, fallback: boolean): boolean {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = raw.toLowerCase();
  if (value !== 'true' && value !== 'false')
    throw new ConfigError(`${name} must be true or false, got "${raw}"`);
  return value === 'true';
}

export function httpUrl(name: string, raw: string): string {
  // Credentials in a URL would end up in messages, logs and the stack's template: refused, never echoed.
  if (raw.includes('@')) throw new ConfigError(`${name} must not carry credentials (user:password@host)`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a URL: "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must be an http or https URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

export function parseMetricSets(raw: string | undefined): ReadonlySet<MetricSet> {
  if (raw === undefined || raw.trim() === '') return new Set(DEFAULT_METRIC_SETS);
  const sets = new Set<MetricSet>(['core']);
  for (const part of raw.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '') continue;
    if (!(METRIC_SET_NAMES as readonly string[]).includes(name)) {
      throw new ConfigError(
        `METRIC_SETS has unknown set "${name}"; choose from ${METRIC_SET_NAMES.join(', ')}`,
      );
    }
    sets.add(name as MetricSet);
  }
  return sets;
}

export function parseMetricNaming(raw: string | undefined): MetricNaming {
  const value = raw?.trim().toLowerCase() || 'default';
  if (value !== 'default' && value !== 'per-test') {
    throw new ConfigError(`METRIC_NAMING must be "default" or "per-test", got "${raw}"`);
  }
  return value;
}

export function parseTokenHashes(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const hashes = raw
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  for (const hash of hashes) {
    // Never echo the value: an operator may have pasted a token instead of its hash.
    if (!/^[0-9a-f]{64}$/.test(hash))
      throw new ConfigError('PUSH_TOKEN_HASHES must hold SHA-256 hex digests');
  }
  return hashes;
}

/**
 * WRITE_BUDGET_MS, at most MAX_WRITE_BUDGET_MS: the push function's limit would cut a longer budget short
 * (the answer must leave before it, well within Catchpoint's 20 s).
 */
function writeBudget(env: Env): number {
  const budget = positiveInt(env, 'WRITE_BUDGET_MS', DEFAULT_WRITE_BUDGET_MS);
  if (budget > MAX_WRITE_BUDGET_MS) {
    throw new ConfigError(
      `WRITE_BUDGET_MS must be at most ${MAX_WRITE_BUDGET_MS} (the push function's limit less the time to answer), got ${budget}`,
    );
  }
  return budget;
}

/** Push Lambda configuration. `local` relaxes what the local server provides itself. */
export function readPushConfig(env: Env, local = false): PushConfig {
  const openTsdb = optional(env, 'OPENTSDB_URL');
  const pushTokenHashes = parseTokenHashes(env.PUSH_TOKEN_HASHES);
  if (!local && pushTokenHashes.length === 0) {
    throw new ConfigError(
      'PUSH_TOKEN_HASHES is not set: give the SHA-256 hex digest of at least one push token',
    );
  }
  return {
    nodesTable: required(env, 'NODES_TABLE', 'name the DynamoDB table of Catchpoint nodes'),
    openTsdbUrl:
      openTsdb === undefined
        ? local
          ? undefined
          : httpUrl('OPENTSDB_URL', required(env, 'OPENTSDB_URL', 'give the base URL of OpenTSDB'))
        : httpUrl('OPENTSDB_URL', openTsdb),
    pushTokenHashes,
    metrics: { sets: parseMetricSets(env.METRIC_SETS), naming: parseMetricNaming(env.METRIC_NAMING) },
    nodeCacheTtlMs: positiveInt(env, 'NODE_CACHE_TTL_SECONDS', 300) * 1000,
    openTsdbTimeoutMs: positiveInt(env, 'OPENTSDB_TIMEOUT_MS', 3000),
    openTsdbSync: booleanFlag(env, 'OPENTSDB_SYNC', true),
    writeBudgetMs: writeBudget(env),
    spoolTable: optional(env, 'SPOOL_TABLE'),
  };
}

/** CATCHPOINT_API_URL (default https://io.catchpoint.com) and NODE_TTL_DAYS (default 7), validated. */
export function readCatchpointApiSettings(env: Env): CatchpointApiSettings {
  return {
    catchpointApiUrl: httpUrl(
      'CATCHPOINT_API_URL',
      optional(env, 'CATCHPOINT_API_URL') ?? DEFAULT_CATCHPOINT_API_URL,
    ),
    nodeTtlDays: positiveInt(env, 'NODE_TTL_DAYS', DEFAULT_NODE_TTL_DAYS),
  };
}

export function readRefreshConfig(env: Env): RefreshConfig {
  return {
    nodesTable: required(env, 'NODES_TABLE', 'name the DynamoDB table of Catchpoint nodes'),
    credentialsParameter: required(
      env,
      'CATCHPOINT_CREDENTIALS_PARAMETER',
      'name the SSM SecureString parameter with the Catchpoint API credentials',
    ),
    ...readCatchpointApiSettings(env),
  };
}

export function readReplayConfig(env: Env): ReplayConfig {
  return {
    spoolTable: required(env, 'SPOOL_TABLE', 'name the DynamoDB spool table'),
    openTsdbUrl: httpUrl('OPENTSDB_URL', required(env, 'OPENTSDB_URL', 'give the base URL of OpenTSDB')),
    openTsdbTimeoutMs: positiveInt(env, 'OPENTSDB_TIMEOUT_MS', 3000),
    openTsdbSync: booleanFlag(env, 'OPENTSDB_SYNC', true),
  };
}

/** The scheduled gap repair (lambda/backfill.ts): Catchpoint's failed webhook deliveries → the spool. */
export interface GapRepairConfig extends CatchpointApiSettings {
  nodesTable: string;
  spoolTable: string;
  /** SSM SecureString holding {"apiKey"} (the raw-data API is v2 only). */
  credentialsParameter: string;
  /** The push function's METRIC_SETS and METRIC_NAMING: a repaired run gives exactly the points a push would. */
  metrics: MetricOptions;
  /** Length of the window of run times each invocation asks for (BACKFILL_WINDOW_MINUTES). */
  windowMinutes: number;
  /** How long before the scheduled time the window ends (BACKFILL_SETTLE_MINUTES): Catchpoint's hour of retries and a margin. */
  settleMinutes: number;
}

/** Catchpoint retries a webhook for about an hour (spec §1); the window ends this long before each run. */
export const DEFAULT_BACKFILL_SETTLE_MINUTES = 75;

export function readGapRepairConfig(env: Env): GapRepairConfig {
  return {
    nodesTable: required(env, 'NODES_TABLE', 'name the DynamoDB table of Catchpoint nodes'),
    spoolTable: required(env, 'SPOOL_TABLE', 'name the DynamoDB spool table'),
    credentialsParameter: required(
      env,
      'CATCHPOINT_CREDENTIALS_PARAMETER',
      'name the SSM SecureString parameter with the Catchpoint API credentials',
    ),
    metrics: { sets: parseMetricSets(env.METRIC_SETS), naming: parseMetricNaming(env.METRIC_NAMING) },
    windowMinutes: positiveInt(env, 'BACKFILL_WINDOW_MINUTES', 75),
    settleMinutes: positiveInt(env, 'BACKFILL_SETTLE_MINUTES', DEFAULT_BACKFILL_SETTLE_MINUTES),
    ...readCatchpointApiSettings(env),
  };
}
