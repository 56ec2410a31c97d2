// `npm run backfill` flags, read and checked once: a bad flag is a UsageError (exit 2 with the usage).
import { parseArgs } from 'node:util';
import { DEFAULT_RATE_LIMITS, parseRateLimits, type RateLimits } from '../../lambda/backfill/rate-limits.js';
import {
  DEFAULT_TESTS_PER_REQUEST,
  DEFAULT_WINDOW_MS,
  MIN_WINDOW_MS,
} from '../../lambda/backfill/request-plan.js';
import { errorText } from '../../lambda/shared/error-text.js';

export const USAGE = `usage: npm run backfill -- --tests 101,102 --from 2026-11-20T00:00:00Z --to 2026-11-27T00:00:00Z [options]

Reads the runs of the given Catchpoint tests from its REST API (GET /api/v2/tests/explorer/raw) and writes
them to OPENTSDB_URL as the push path would have written them. Runs OpenTSDB already holds are skipped.

  --tests IDS              comma-separated test ids (required)
  --from TIME, --to TIME   the window, UTC: 2026-11-20T00:00:00Z (or an offset, or a date 2026-11-20)
  --failed-deliveries      only the runs whose webhook delivery failed (availabilityFilter=8)
  --dry-run                print the datapoints as OpenTSDB put lines on stdout; write nothing
  --resume                 continue from the checkpoint file; finished windows are not read or written again
  --checkpoint FILE        the checkpoint file (default backfill.checkpoint.json)
  --rate LIMITS            the account's REST limits (default 7/s,20/min,500/h,2000/day; any subset)
  --window SIZE            width of one request's window: 30m, 6h, 1d (default 6h)
  --tests-per-request N    test ids asked for in one request (default 10)
  --nodes-table NAME       tag with the nodes of this DynamoDB table (the stack output NodesTableName);
                           AWS credentials and region from the environment. Else NODES_FILE, if set.
  --endpoint URL           with --nodes-table: a DynamoDB-compatible endpoint instead of AWS

Environment: CATCHPOINT_API_KEY (API v2), CATCHPOINT_API_URL (default https://io.catchpoint.com);
OPENTSDB_URL (required unless --dry-run), OPENTSDB_TIMEOUT_MS, OPENTSDB_SYNC; METRIC_SETS, METRIC_NAMING
(as the stack's push function has them); NODES_FILE.`;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface BackfillArgs {
  tests: number[];
  fromMs: number;
  toMs: number;
  failedDeliveries: boolean;
  dryRun: boolean;
  resume: boolean;
  checkpoint: string;
  rate: RateLimits;
  windowMs: number;
  testsPerRequest: number;
  nodesTable?: string;
  endpoint?: string;
  help: boolean;
}

export function parseBackfillArgs(argv: readonly string[]): BackfillArgs {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    // parseArgs' own message names the flag ("Unknown option '--frm'").
    throw new UsageError(errorText(error));
  }
  const base = {
    failedDeliveries: values['failed-deliveries'] === true,
    dryRun: values['dry-run'] === true,
    resume: values.resume === true,
    checkpoint: values.checkpoint ?? 'backfill.checkpoint.json',
    help: values.help === true,
  };
  if (base.help) {
    return {
      ...base,
      tests: [],
      fromMs: 0,
      toMs: 0,
      rate: DEFAULT_RATE_LIMITS,
      windowMs: DEFAULT_WINDOW_MS,
      testsPerRequest: DEFAULT_TESTS_PER_REQUEST,
    };
  }
  if (values.tests === undefined) throw new UsageError('--tests is required');
  if (values.from === undefined || values.to === undefined)
    throw new UsageError('--from and --to are required');
  const fromMs = utcTime(values.from, '--from');
  const toMs = utcTime(values.to, '--to');
  if (toMs <= fromMs) throw new UsageError('--to must be after --from');
  let rate = DEFAULT_RATE_LIMITS;
  if (values.rate !== undefined) {
    try {
      rate = parseRateLimits(values.rate);
    } catch (error) {
      throw new UsageError(errorText(error));
    }
  }
  if (values.endpoint !== undefined && values['nodes-table'] === undefined)
    throw new UsageError('--endpoint goes with --nodes-table');
  const args: BackfillArgs = {
    ...base,
    tests: testIds(values.tests),
    fromMs,
    toMs,
    rate,
    windowMs: values.window === undefined ? DEFAULT_WINDOW_MS : duration(values.window),
    testsPerRequest:
      values['tests-per-request'] === undefined
        ? DEFAULT_TESTS_PER_REQUEST
        : wholeNumber(values['tests-per-request'], '--tests-per-request', 1, 100),
  };
  if (values['nodes-table'] !== undefined) {
    if (values['nodes-table'].trim() === '') throw new UsageError('--nodes-table needs a table name');
    args.nodesTable = values['nodes-table'].trim();
  }
  if (values.endpoint !== undefined) {
    try {
      args.endpoint = new URL(values.endpoint).href.replace(/\/$/, '');
    } catch {
      throw new UsageError(`--endpoint is not a URL: "${values.endpoint}"`);
    }
  }
  return args;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      tests: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'failed-deliveries': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      resume: { type: 'boolean' },
      checkpoint: { type: 'string' },
      rate: { type: 'string' },
      window: { type: 'string' },
      'tests-per-request': { type: 'string' },
      'nodes-table': { type: 'string' },
      endpoint: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}

function testIds(raw: string): number[] {
  const parts = raw.split(',').map((p) => p.trim());
  const ids: number[] = [];
  for (const part of parts) {
    if (part === '') continue;
    if (!/^\d{1,15}$/.test(part) || Number(part) <= 0)
      throw new UsageError(`--tests: "${part}" is not a test id (a positive whole number)`);
    ids.push(Number(part));
  }
  if (ids.length === 0) throw new UsageError('--tests names no test id');
  // Ascending, each once: the checkpoint names the backfill by them, whatever order they were given in.
  return [...new Set(ids)].sort((a, b) => a - b);
}

const TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2}))?$/;

/** An instant with its zone (`Z` or an offset), or a date (UTC midnight); whole seconds. */
function utcTime(raw: string, flag: string): number {
  const text = raw.trim();
  const ms =
    TIME.test(text) && isCalendarDay(text.slice(0, 10))
      ? Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text)
      : Number.NaN;
  if (Number.isNaN(ms))
    throw new UsageError(
      `${flag}: "${raw}" is not a UTC time such as 2026-11-20T00:00:00Z (or a date 2026-11-20)`,
    );
  if (ms % 1000 !== 0) throw new UsageError(`${flag}: whole seconds only`);
  return ms;
}

/** `YYYY-MM-DD` is a day of the calendar: Date.parse would read 2026-11-31 as December 1st. */
function isCalendarDay(day: string): boolean {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  const parsed = new Date(Date.UTC(year, month - 1, date));
  return (
    parsed.getUTCFullYear() === year && parsed.getUTCMonth() === month - 1 && parsed.getUTCDate() === date
  );
}

/** `30m`, `6h`, `1d` → milliseconds, from one minute to seven days. */
function duration(raw: string): number {
  const match = /^(\d{1,4})(m|h|d)$/.exec(raw.trim());
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  const ms = match ? Number(match[1]) * unit[match[2] as keyof typeof unit] : Number.NaN;
  if (!(ms >= MIN_WINDOW_MS && ms <= 7 * 86_400_000))
    throw new UsageError(`--window: "${raw}" is not a width such as 30m, 6h or 1d (1m to 7d)`);
  return ms;
}

function wholeNumber(raw: string, flag: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max)
    throw new UsageError(`${flag} must be a whole number ${min}–${max}`);
  return n;
}
