// `npm run backfill -- --tests 101,102 --from … --to …`: Catchpoint runs from its REST API into OpenTSDB, as
// the push path would have written them (docs/backfill.md). Exit status: 0 done; 1 failed, or nothing could
// be read; 2 bad flags or settings; 130 stopped by Ctrl-C (resume with --resume).
import { NodesFileError, readNodesFile } from '../dev/nodes-file.js';
import { PrintingSink } from '../dev/printing-sink.js';
import { boundedDynamoClient } from '../lambda/aws/dynamo-client.js';
import { formatRateLimits, RequestLimiter } from '../lambda/backfill/rate-limits.js';
import { estimatePlan, isoSeconds, planWindows, windowKey } from '../lambda/backfill/request-plan.js';
import { CredentialsError, credentialsFromEnv } from '../lambda/catchpoint-api/api-credentials.js';
import { CatchpointApiError } from '../lambda/catchpoint-api/api-http.js';
import { createRawClient, type RawClient } from '../lambda/catchpoint-api/raw-client.js';
import {
  booleanFlag,
  ConfigError,
  type Env,
  httpUrl,
  parseMetricNaming,
  parseMetricSets,
  positiveInt,
  readCatchpointApiSettings,
} from '../lambda/config.js';
import type { NodeRecord } from '../lambda/nodes/node-record.js';
import { NodeTable } from '../lambda/nodes/node-table.js';
import { storedRuns } from '../lambda/opentsdb/stored-runs.js';
import { openTsdbWriter } from '../lambda/opentsdb/writer.js';
import { errorText } from '../lambda/shared/error-text.js';
import type { Log } from '../lambda/shared/log.js';
import { type BackfillArgs, parseBackfillArgs, USAGE, UsageError } from './backfill/args.js';
import { Checkpoint, CheckpointError } from './backfill/checkpoint.js';
import { formatDuration, type Progress, progressFor } from './backfill/progress.js';
import { type BackfillReport, runBackfill } from './backfill/run-backfill.js';

/** Time one window's write to OpenTSDB may take, retries included. */
const WRITE_BUDGET_MS = 60_000;
/** The longest rate-limit reset waited for; past it the backfill stops (resume it later). */
const MAX_RESET_WAIT_MS = 65 * 60_000;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

async function main(argv: readonly string[], env: Env): Promise<number> {
  const args = parseBackfillArgs(argv);
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const credentials = credentialsFromEnv(env);
  if (credentials === undefined)
    throw new CliError('no Catchpoint credentials: set CATCHPOINT_API_KEY (API v2)', 2);
  if (credentials.version !== 'v2')
    throw new CliError(
      'the raw data API is API v2: set CATCHPOINT_API_KEY, not CATCHPOINT_CLIENT_ID/SECRET',
      2,
    );
  const { catchpointApiUrl } = readCatchpointApiSettings(env);
  const metrics = { sets: parseMetricSets(env.METRIC_SETS), naming: parseMetricNaming(env.METRIC_NAMING) };
  const openTsdbRaw = env.OPENTSDB_URL?.trim();
  if (!args.dryRun && !openTsdbRaw)
    throw new CliError('OPENTSDB_URL is not set: give the base URL of OpenTSDB (or use --dry-run)', 2);
  const openTsdbUrl = openTsdbRaw ? httpUrl('OPENTSDB_URL', openTsdbRaw) : undefined;
  const openTsdbTimeoutMs = positiveInt(env, 'OPENTSDB_TIMEOUT_MS', 3000);
  const openTsdbSync = booleanFlag(env, 'OPENTSDB_SYNC', true);

  const windows = planWindows(args.tests, args.fromMs, args.toMs, {
    windowMs: args.windowMs,
    testsPerRequest: args.testsPerRequest,
  });
  const plan = {
    tests: args.tests,
    from: isoSeconds(args.fromMs),
    to: isoSeconds(args.toMs),
    failedDeliveries: args.failedDeliveries,
    windowMs: args.windowMs,
    testsPerRequest: args.testsPerRequest,
  };
  let checkpoint: Checkpoint | undefined;
  if (args.dryRun) {
    if (args.resume)
      say('--resume has no effect with --dry-run: a dry run reads every window and records none');
  } else
    checkpoint = args.resume
      ? Checkpoint.resume(args.checkpoint, plan)
      : Checkpoint.fresh(args.checkpoint, plan);

  const nodes = await loadNodes(args, env);
  const progress = progressFor(process.stderr);
  const limiter = new RequestLimiter(args.rate);
  const client = createRawClient(credentials, {
    baseUrl: catchpointApiUrl,
    limiter,
    maxRetryAfterMs: MAX_RESET_WAIT_MS,
    timeoutMs: 60_000,
    // A bigger answer is asked again as narrower windows.
    maxBodyBytes: 64 * 1024 * 1024,
    onRetry: (retry) =>
      progress.note(`Catchpoint answered ${retry.reason}; asking again in ${formatDuration(retry.delayMs)}`),
  });

  const pendingWindows = windows.filter((w) => !checkpoint?.has(windowKey(w)));
  const estimate = estimatePlan(pendingWindows, args.rate, 1);
  say(
    `backfill: ${args.tests.length} test(s), ${plan.from} to ${plan.to}${args.failedDeliveries ? ', failed deliveries only' : ''}: ` +
      `${windows.length} window(s) of ${formatDuration(args.windowMs)} with up to ${args.testsPerRequest} tests each` +
      `${checkpoint && checkpoint.finished > 0 ? ` (${windows.length - pendingWindows.length} already done)` : ''}.\n` +
      `  ${estimate.requests} request(s) to Catchpoint (1 enumeration + 1 per window; a window holding more than one answer takes more), ` +
      `${estimate.durationMs < 1000 ? 'no wait' : `at least ${formatDuration(estimate.durationMs)}`} under the limits ${formatRateLimits(args.rate)}.`,
  );

  const dimensionTypeIds = await dimensionTypes(client, (message) => say(message));
  const log = cliLog(progress);
  const sink =
    openTsdbUrl && !args.dryRun
      ? openTsdbWriter({ openTsdbUrl, openTsdbTimeoutMs, openTsdbSync }, log)
      : new PrintingSink();
  if (args.dryRun && !openTsdbUrl)
    say('dry run without OPENTSDB_URL: every run is printed, none is checked against OpenTSDB');

  let stop = false;
  process.on('SIGINT', () => {
    if (stop) process.exit(130);
    stop = true;
    progress.note('stopping once the window in flight is written (Ctrl-C again to quit at once)');
  });

  const report = await runBackfill({
    source: client,
    windows,
    failedDeliveries: args.failedDeliveries,
    dimensionTypeIds,
    nodes,
    metrics,
    stored: openTsdbUrl
      ? (testId, startS, endS) =>
          storedRuns(
            { baseUrl: openTsdbUrl, naming: metrics.naming, timeoutMs: openTsdbTimeoutMs },
            testId,
            startS,
            endS,
          )
      : undefined,
    sink,
    writeBudgetMs: WRITE_BUDGET_MS,
    checkpoint,
    progress,
    stopRequested: () => stop,
  });
  printReport(report, args, estimate.requests);
  return exitCode(report, args);
}

/** The node records to tag with: `--nodes-table`, else NODES_FILE, else none (tags from the run). */
async function loadNodes(args: BackfillArgs, env: Env): Promise<(nodeId: number) => NodeRecord | undefined> {
  let records: NodeRecord[] = [];
  if (args.nodesTable !== undefined) {
    const client = args.endpoint
      ? boundedDynamoClient(5000, {
          endpoint: args.endpoint,
          region: env.AWS_REGION ?? 'local',
          credentials: {
            accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'local',
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'local',
          },
        })
      : boundedDynamoClient(5000);
    try {
      records = await new NodeTable(client, args.nodesTable).scanAll();
    } catch (error) {
      throw new CliError(`cannot read the nodes table ${args.nodesTable}: ${errorText(error)}`, 1);
    }
    say(`tags from the nodes table ${args.nodesTable}: ${records.length} nodes`);
  } else if (env.NODES_FILE?.trim()) {
    records = await readNodesFile(env.NODES_FILE.trim());
    say(`tags from NODES_FILE ${env.NODES_FILE.trim()}: ${records.length} nodes`);
  } else {
    say(
      'no NODES_FILE or --nodes-table: every run is tagged from the run itself, as a push from an unknown node',
    );
  }
  const byId = new Map(records.map((r) => [r.nodeId, r]));
  return (nodeId) => byId.get(nodeId);
}

/** The enumeration's test and node dimension type ids; undefined (match by name) when it does not say. */
async function dimensionTypes(
  client: RawClient,
  note: (message: string) => void,
): Promise<{ test: ReadonlySet<number>; node: ReadonlySet<number> } | undefined> {
  try {
    const { dimensions } = await client.enumeration();
    const ids = (name: string) =>
      new Set(dimensions.filter((d) => d.name.trim().toLowerCase() === name).map((d) => d.id));
    const test = ids('test');
    const node = ids('node');
    if (test.size > 0 && node.size > 0) return { test, node };
    note('the enumeration names no Test and Node dimensions: the raw answers are read by dimension names');
  } catch (error) {
    if (error instanceof CatchpointApiError && error.kind === 'auth') throw error;
    note(`the enumeration failed (${errorText(error)}): the raw answers are read by dimension names`);
  }
  return undefined;
}

function cliLog(progress: Progress): Log {
  const line =
    (level: string) =>
    (message: string, ...attributes: Record<string, unknown>[]) =>
      progress.note(
        `${level}: ${message}${attributes.length > 0 ? ` ${JSON.stringify(Object.assign({}, ...attributes))}` : ''}`,
      );
  return { debug: () => {}, info: () => {}, warn: line('warning'), error: line('error') };
}

function printReport(report: BackfillReport, args: BackfillArgs, planned: number): void {
  const verb = args.dryRun ? 'printed' : 'written';
  const lines = [
    `backfill ${report.stopped ? 'stopped' : 'done'}: ${report.windowsAlreadyDone + report.windowsDone}/${report.windowsTotal} windows` +
      `${report.windowsAlreadyDone > 0 ? ` (${report.windowsAlreadyDone} done before)` : ''}, ${report.requests + 1} requests (${planned} planned)`,
    `  runs ${verb}: ${report.runsWritten}`,
    `  runs skipped as already stored: ${report.runsSkipped}`,
    `  datapoints ${verb}: ${report.datapoints}${report.rejected > 0 ? ` (${report.rejected} refused by OpenTSDB)` : ''}`,
  ];
  if (report.unknownNodeRuns > 0)
    lines.push(
      `  runs of nodes not in the node list: ${report.unknownNodeRuns} (tagged from the run, as their push would be)`,
    );
  if (report.statusUnknown > 0)
    lines.push(
      `  runs whose answer had no availability metric: ${report.statusUnknown} (written as succeeded)`,
    );
  if (report.unreadable > 0)
    lines.push(`  items that are no run (no test, node or time): ${report.unreadable}`);
  if (report.truncated.length > 0)
    lines.push(
      `  windows Catchpoint still had more of at the narrowest width (read as far as answered): ${report.truncated.join(' ')}`,
    );
  if (report.unmapped.size === 0) lines.push('  unmapped Catchpoint metric names: none');
  else {
    lines.push('  unmapped Catchpoint metric names (runs with a value; see docs/metrics.md):');
    for (const [name, count] of [...report.unmapped].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])))
      lines.push(`    ${name}: ${count}`);
  }
  if (report.stopped?.reason === 'interrupted')
    lines.push(
      `stopped by Ctrl-C: continue with the same flags and --resume (checkpoint ${args.checkpoint})`,
    );
  if (report.stopped?.reason === 'failed') {
    lines.push(`failed in window ${report.stopped.window}: ${report.stopped.message}`);
    if (!args.dryRun)
      lines.push(`finished windows are in ${args.checkpoint}: continue with the same flags and --resume`);
  }
  say(lines.join('\n'));
}

function exitCode(report: BackfillReport, args: BackfillArgs): number {
  if (report.stopped?.reason === 'interrupted') return 130;
  if (report.stopped?.reason === 'failed') return 1;
  if (report.runsRead === 0 && report.windowsAlreadyDone === 0 && !args.failedDeliveries) {
    say('nothing could be read: no run of these tests in this window (check the test ids and the times)');
    return 1;
  }
  return 0;
}

function say(message: string): void {
  process.stderr.write(`${message}\n`);
}

// A reader that stops early (`--dry-run … | head`) ends the run quietly: nothing more can be shown, and a
// dry run has nothing else to do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (error instanceof CliError) {
      process.stderr.write(`backfill: ${error.message}\n`);
      process.exitCode = error.exitCode;
    } else if (
      error instanceof ConfigError ||
      error instanceof CheckpointError ||
      error instanceof CredentialsError ||
      error instanceof NodesFileError
    ) {
      process.stderr.write(`backfill: ${error.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`backfill failed: ${errorText(error)}\n`);
      process.exitCode = 1;
    }
  },
);
