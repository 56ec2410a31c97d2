// `npm run spool -- list | retry | drop`: what an operator does with parked runs (runs OpenTSDB kept
// refusing, which replay moved out of the drain order). Works against a spool table in AWS by name
// (credentials and region from the environment, the SDK's default chain) and against `npm start`'s embedded
// one (--local). See docs/operations.md, "Parked runs".

import { createInterface } from 'node:readline/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { localDynamoClient, localDynamoFile, readLocalDynamoFile } from '../dev/embedded-dynamo.js';
import { boundedDynamoClient } from '../lambda/aws/dynamo-client.js';
import type { Env } from '../lambda/config.js';
import { errorText } from '../lambda/shared/error-text.js';
import { DynamoSpool } from '../lambda/spool/dynamo-spool.js';
import type { SpooledRun } from '../lambda/spool/spooled-run.js';

const USAGE = `usage: npm run spool -- <command> (--table NAME | --local) [options]

Commands:
  list                      the parked runs: run key, age, attempts, reason; how many runs wait in
                            the drain order, and the oldest of them: run key, age, attempts
  retry (RUN... | --all)    put parked runs back into the drain order; the next replay sends them
  drop (RUN... | --all)     delete parked runs for good (asks first; --yes does not)

RUN is a run key (test:node:timestamp, every parked item of that run) or an item id from \`list --ids\`.

Which spool:
  --table NAME              a spool table in AWS (the stack output SpoolTableName); credentials and
                            region from the environment (AWS_PROFILE, AWS_REGION, AWS_ACCESS_KEY_ID, ...)
  --local                   \`npm start\`'s embedded table (npm start must be running)
  --endpoint URL            with --table: a DynamoDB-compatible endpoint instead of AWS

Options:
  --all                     every parked run (retry, drop)
  --yes, -y                 drop without asking
  --ids                     list: show each item's id as well
  --help, -h                this text`;

/** What the command reads and writes; the tests give their own. */
export interface CliIo {
  env: Env;
  out(line: string): void;
  err(line: string): void;
  /** Asks a yes/no question; undefined when there is no terminal to ask on. */
  confirm: ((question: string) => Promise<boolean>) | undefined;
  now(): number;
}

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

interface Target {
  client: DynamoDBClient;
  tableName: string;
  /** How to name it in messages. */
  where: string;
  local: boolean;
}

/** Runs one command; resolves with the exit code. Expected failures are one line on `err`, never a stack. */
export async function runSpoolCli(argv: readonly string[], io: CliIo): Promise<number> {
  let target: Target | undefined;
  try {
    const { values, positionals } = readArgs(argv);
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    const [command, ...runs] = positionals;
    if (command !== 'list' && command !== 'retry' && command !== 'drop')
      throw new CliError(command ? `unknown command "${command}"\n${USAGE}` : USAGE, 2);
    target = openTarget(values, io.env);
    const spool = new DynamoSpool(target.client, target.tableName);
    if (command === 'list') {
      if (runs.length > 0) throw new CliError('list takes no run keys', 2);
      await list(spool, io, values.ids === true);
      return 0;
    }
    if (runs.length === 0 && !values.all)
      throw new CliError(`${command}: name the runs (run key or item id), or give --all`, 2);
    if (runs.length > 0 && values.all) throw new CliError(`${command}: run keys or --all, not both`, 2);
    const chosen = select(await spool.parked(), runs);
    if (chosen.length === 0) {
      io.out('no parked runs');
      return 0;
    }
    if (command === 'retry') await retry(spool, chosen, io);
    else await drop(spool, chosen, io, values.yes === true);
    return 0;
  } catch (error) {
    if (error instanceof CliError) {
      io.err(error.message);
      return error.exitCode;
    }
    io.err(`spool: ${explain(error, target)}`);
    return 1;
  } finally {
    target?.client.destroy();
  }
}

function readArgs(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        table: { type: 'string' },
        local: { type: 'boolean' },
        endpoint: { type: 'string' },
        all: { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
        ids: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new CliError(`${errorText(error)}\n${USAGE}`, 2);
  }
}

function openTarget(
  values: { table?: string | undefined; local?: boolean | undefined; endpoint?: string | undefined },
  env: CliIo['env'],
): Target {
  if (values.local && (values.table !== undefined || values.endpoint !== undefined))
    throw new CliError('--local finds its own table: give either --local or --table', 2);
  if (values.local) {
    const file = localDynamoFile(env);
    const info = readLocalDynamoFile(file);
    if (info === undefined)
      throw new CliError(`npm start is not running (no ${file}): start it, or give --table NAME`);
    return {
      client: localDynamoClient(info.endpoint),
      tableName: info.spoolTable,
      where: `npm start's DynamoDB at ${info.endpoint}`,
      local: true,
    };
  }
  const tableName = values.table?.trim();
  if (!tableName)
    throw new CliError(`give --table NAME (the stack output SpoolTableName) or --local\n${USAGE}`, 2);
  if (values.endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(values.endpoint);
    } catch {
      throw new CliError(`--endpoint is not a URL: "${values.endpoint}"`, 2);
    }
    return {
      client: boundedDynamoClient(5000, {
        endpoint: url.href.replace(/\/$/, ''),
        region: env.AWS_REGION ?? 'local',
        credentials: {
          accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'local',
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'local',
        },
      }),
      tableName,
      where: `${values.endpoint}`,
      local: false,
    };
  }
  // The SDK's default chain: environment, shared config and SSO profiles, instance and container roles.
  return {
    client: boundedDynamoClient(5000),
    tableName,
    where: `region ${env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? '(from the profile)'}`,
    local: false,
  };
}

async function list(spool: DynamoSpool, io: CliIo, ids: boolean): Promise<void> {
  const [parked, stats, oldest] = await Promise.all([
    spool.parked(),
    spool.queueStats(),
    spool.oldestQueued(),
  ]);
  const now = io.now();
  // Two reads, not one snapshot: a replay may empty the drain order between them.
  const queued =
    stats.depth === 0 && oldest === undefined
      ? 'the drain order is empty'
      : `${stats.depthIsLowerBound ? 'more than ' : ''}${Math.max(stats.depth, oldest ? 1 : 0)} run(s) wait in the drain order`;
  io.out(`${parked.length} parked run(s); ${queued}.`);
  if (oldest !== undefined) {
    const attempts = `${oldest.attempts} attempt${oldest.attempts === 1 ? '' : 's'}`;
    const details = [
      `queued ${age(now, oldest.queuedAtMs)} ago`,
      `spooled ${age(now, oldest.spooledAtMs)} ago`,
      oldest.lastError === undefined ? attempts : `${attempts}, last failure: ${oldest.lastError}`,
      ...(ids ? [`id ${oldest.key.entry}`] : []),
    ];
    io.out(`oldest queued (sent next): ${oldest.runKey}, ${details.join(', ')}`);
  }
  if (parked.length === 0) return;
  const header = ['run key', 'spooled', 'parked', 'attempts', 'points', 'reason'];
  const rows = parked.map((run) => {
    const row = [
      run.runKey,
      `${age(now, run.spooledAtMs)} ago`,
      run.parkedAtMs === undefined ? '' : `${age(now, run.parkedAtMs)} ago`,
      String(run.attempts),
      String(run.pointCount),
      run.reason ?? '',
    ];
    return ids ? [...row, run.key.entry] : row;
  });
  io.out('');
  io.out(textTable(ids ? [...header, 'id'] : header, rows, new Set([3, 4])));
}

/** Columns two spaces apart, left-aligned but for the `numeric` ones; no trailing blanks. */
function textTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: Set<number>,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The parked runs named by run key or item id; every name must match something. */
function select(parked: readonly SpooledRun[], names: readonly string[]): SpooledRun[] {
  if (names.length === 0) return [...parked];
  const chosen: SpooledRun[] = [];
  for (const name of names) {
    const matches = parked.filter((r) => r.runKey === name || r.key.entry === name);
    if (matches.length === 0)
      throw new CliError(`no parked run "${name}" (npm run spool -- list shows them)`);
    for (const run of matches) if (!chosen.includes(run)) chosen.push(run);
  }
  return chosen;
}

async function retry(spool: DynamoSpool, runs: readonly SpooledRun[], io: CliIo): Promise<void> {
  for (const run of runs) {
    await spool.requeue(run, io.now());
    io.out(`back in the drain order: ${run.runKey}`);
  }
  io.out(`${runs.length} run(s) will be sent to OpenTSDB by the next replay.`);
}

async function drop(spool: DynamoSpool, runs: readonly SpooledRun[], io: CliIo, yes: boolean): Promise<void> {
  if (!yes) {
    if (io.confirm === undefined)
      throw new CliError(
        `drop deletes ${runs.length} parked run(s) for good: add --yes (there is no terminal to ask on)`,
      );
    for (const run of runs) io.out(`  ${run.runKey}  ${run.reason ?? ''}`);
    if (!(await io.confirm(`Delete these ${runs.length} parked run(s) for good? [y/N] `))) {
      io.out('nothing deleted');
      return;
    }
  }
  const left = await spool.remove(runs.map((r) => r.key));
  if (left.length > 0)
    throw new CliError(`${left.length} run(s) not deleted (DynamoDB throttled): try again`);
  io.out(`${runs.length} parked run(s) deleted.`);
}

/** "45 s", "12 min", "3 h 05 min", "2 d 04 h". */
export function age(nowMs: number, thenMs: number): string {
  const s = Math.max(0, Math.floor((nowMs - thenMs) / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${String(h % 24).padStart(2, '0')} h`;
}

/** One line for the failures an operator meets: no credentials, no region, no table, no network, no right. */
function explain(error: unknown, target: Target | undefined): string {
  const name = error instanceof Error ? error.name : '';
  const message = errorText(error);
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (name === 'ResourceNotFoundException')
    return `no spool table "${target?.tableName}" (${target?.where}): check the name (stack output SpoolTableName) and the region`;
  if (name === 'CredentialsProviderError' || (/credential/i.test(message) && !target?.local))
    return `no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (${message})`;
  if (/region is missing/i.test(message)) return 'no AWS region: set AWS_REGION (or a profile with a region)';
  if (name === 'AccessDeniedException' || name === 'UnrecognizedClientException')
    return `not allowed on "${target?.tableName}": ${message}`;
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message))
    return target?.local
      ? `cannot reach ${target.where}: is npm start still running?`
      : `cannot reach DynamoDB (${target?.where}): connection refused`;
  if (name === 'TimeoutError' || name === 'AbortError')
    return `DynamoDB did not answer in time (${target?.where})`;
  return name && name !== 'Error' ? `${name}: ${message}` : message;
}

async function main(): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const terminal = process.stdin.isTTY === true;
  return runSpoolCli(process.argv.slice(2), {
    env: process.env,
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    confirm: terminal
      ? async (question) => {
          const rl = createInterface({ input: process.stdin, output: process.stdout });
          try {
            return /^y(es)?$/i.test((await rl.question(question)).trim());
          } finally {
            rl.close();
          }
        }
      : undefined,
    now: Date.now,
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`spool: ${errorText(error)}`);
      process.exitCode = 1;
    },
  );
}
