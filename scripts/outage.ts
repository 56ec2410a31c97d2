// `npm run outage`: figures, not a test. How long pushes take to be answered while OpenTSDB is away, with the
// circuit breaker and without it (the old behaviour: every push retries until its budget runs out), in the
// same run. Pushes go through the push function's own factory, as API Gateway would call it, with the
// deployed limits (WRITE_BUDGET_MS, OPENTSDB_TIMEOUT_MS at their defaults) and a real spool (an embedded
// DynamoDB). Each push is handed to an idle simulated Lambda, or to a new one when all are busy: a Lambda
// handles one push at a time and keeps its own breaker, as in AWS. Exits 0 whether or not a target is met.
// `npm run outage -- --help` lists the options.

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createNodesTable, createSpoolTable, startEmbeddedDynamo } from '../dev/embedded-dynamo.js';
import { FIXTURE_NODES_FILE, pushFixture, pushFixtureNames } from '../dev/fixtures.js';
import { httpApiEvent, lambdaContext } from '../dev/lambda-shim.js';
import { freePort } from '../dev/loopback.js';
import { readNodesFile } from '../dev/nodes-file.js';
import { type OpenTsdbFault, startOpenTsdbStandIn } from '../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import { type PushConfig, readPushConfig } from '../lambda/config.js';
import { NodeTable } from '../lambda/nodes/node-table.js';
import { CircuitBreaker } from '../lambda/opentsdb/circuit-breaker.js';
import { httpPost } from '../lambda/opentsdb/http-post.js';
import { OpenTsdbWriter } from '../lambda/opentsdb/writer.js';
import { createPushHandler, type PushHandler } from '../lambda/push/push-handler.js';
import { PUSH_TIMEOUT_SECONDS } from '../lambda/push/push-limits.js';
import { sha256Hex } from '../lambda/push/push-token.js';
import { integerOption } from './cli.js';
import { ascending, fixed, percentile, table, verdict } from './report.js';

const TOKEN = 'outage-token';
const NODES_TABLE = 'nodes';
const SPOOL_TABLE = 'spool';

const TARGET_MEDIAN_MS = 1000;
/** The push rate for which the table says how many Lambdas would be busy at once. */
const LAMBDAS_AT_RATE = 200;
/** Catchpoint's wait for an answer. */
const CATCHPOINT_WAIT_MS = 20_000;

const OUTAGES = {
  refused: 'OpenTSDB down: connection refused',
  hang: 'OpenTSDB hanging: connections accepted, never answered',
  stall: 'HBase stalled: the TSD answers "Write timedout" once sync_timeout has passed',
} as const;
type Outage = keyof typeof OUTAGES;

const USAGE = `npm run outage -- [options]

Sends a stream of pushes through the push function's factory while OpenTSDB is away, with and without the
circuit breaker, and prints how long the answers took (median, p99, max) next to the targets.

  --seconds N      measured time of each scenario, 1–600 (default 20)
  --concurrency N  pushes in flight at once, 1–200 (default 20)
  --outages LIST   comma-separated, from ${Object.keys(OUTAGES).join(', ')} (default refused,hang)
  -h, --help       this text`;

interface Options {
  seconds: number;
  concurrency: number;
  outages: Outage[];
}

function readOptions(): Options | undefined {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '20' },
      concurrency: { type: 'string', default: '20' },
      outages: { type: 'string', default: 'refused,hang' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const outages = values.outages.split(',').map((o) => o.trim());
  for (const outage of outages) {
    if (!Object.hasOwn(OUTAGES, outage)) throw new Error(`--outages: unknown outage "${outage}"`);
  }
  return {
    seconds: integerOption(values.seconds, 'seconds', 1, 600),
    concurrency: integerOption(values.concurrency, 'concurrency', 1, 200),
    outages: outages as Outage[],
  };
}

/** Lambdas of one function: a push goes to an idle one, or to a new one (a cold start) when all are busy. */
class LambdaPool {
  private readonly idle: PushHandler[] = [];
  created = 0;

  constructor(private readonly make: () => PushHandler) {}

  async invoke(body: string): Promise<{ status: number; spooled: boolean }> {
    const handler = this.idle.pop() ?? this.newLambda();
    try {
      const event = httpApiEvent({
        method: 'POST',
        path: '/push',
        query: new URLSearchParams({ token: TOKEN }),
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(body),
        sourceIp: '192.0.2.10',
      });
      const result = await handler(event, lambdaContext('push', PUSH_TIMEOUT_SECONDS * 1000));
      return { status: result.statusCode ?? 0, spooled: (result.body ?? '').includes('"spooled"') };
    } finally {
      this.idle.push(handler);
    }
  }

  private newLambda(): PushHandler {
    this.created++;
    return this.make();
  }
}

interface Figures {
  pushes: number;
  answered200: number;
  spooled: number;
  lambdas: number;
  /** Requests the writers sent to OpenTSDB (put and uid/assign). */
  asked: number;
  ms: number[];
}

/** Push number `i`: a fixture with its own test id, so that each spool entry is a run of its own. */
function pushBody(fixtures: Array<Record<string, unknown>>, i: number): string {
  const doc = structuredClone(fixtures[i % fixtures.length]!);
  const holder = (doc.TestId === undefined ? doc.TestDetails : doc) as Record<string, unknown>;
  holder.TestId = 5_000_000 + i;
  return JSON.stringify(doc);
}

async function measure(
  config: PushConfig,
  dynamo: DynamoDBClient,
  withBreaker: boolean,
  options: Options,
): Promise<Figures> {
  const logger = new Logger({ serviceName: 'push', logLevel: 'SILENT' });
  let asked = 0;
  const pool = new LambdaPool(() =>
    createPushHandler({
      config,
      dynamo,
      logger,
      emit: () => {},
      sink: new OpenTsdbWriter(config.openTsdbUrl!, {
        timeoutMs: config.openTsdbTimeoutMs,
        sync: config.openTsdbSync,
        log: logger,
        // Each Lambda has its own; without one, a write retries until its deadline, as before the breaker.
        breaker: withBreaker ? new CircuitBreaker() : CircuitBreaker.disabled(),
        post: (url, body, headers, timeoutMs) => {
          asked++;
          return httpPost(url, body, headers, timeoutMs);
        },
      }),
    }),
  );
  const fixtures = pushFixtureNames().map((name) => JSON.parse(pushFixture(name)) as Record<string, unknown>);
  const figures: Figures = { pushes: 0, answered200: 0, spooled: 0, lambdas: 0, asked: 0, ms: [] };
  const end = Date.now() + options.seconds * 1000;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < end) {
      const body = pushBody(fixtures, next++);
      const started = performance.now();
      const answer = await pool.invoke(body);
      figures.ms.push(performance.now() - started);
      figures.pushes++;
      if (answer.status === 200) figures.answered200++;
      if (answer.spooled) figures.spooled++;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  figures.lambdas = pool.created;
  figures.asked = asked;
  return figures;
}

async function main(): Promise<void> {
  const options = readOptions();
  if (options === undefined) {
    console.log(USAGE);
    return;
  }
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const dynamo = await startEmbeddedDynamo();
  const tsdb = await startOpenTsdbStandIn();
  try {
    await createNodesTable(dynamo.client, NODES_TABLE);
    await createSpoolTable(dynamo.client, SPOOL_TABLE);
    await new NodeTable(dynamo.client, NODES_TABLE).putMany(await readNodesFile(FIXTURE_NODES_FILE));
    const refusedUrl = `http://127.0.0.1:${await freePort()}`;
    const faults: Record<Exclude<Outage, 'refused'>, OpenTsdbFault> = { hang: 'hang', stall: 'stall' };

    const rows: string[][] = [];
    const verdicts: string[] = [];
    let defaults: PushConfig | undefined;
    for (const outage of options.outages) {
      if (outage !== 'refused') tsdb.fault = faults[outage];
      // The deployed configuration: every limit at its default.
      const config = readPushConfig({
        NODES_TABLE,
        SPOOL_TABLE,
        OPENTSDB_URL: outage === 'refused' ? refusedUrl : tsdb.url,
        PUSH_TOKEN_HASHES: sha256Hex(TOKEN),
      });
      defaults ??= config;
      const medians: number[] = [];
      for (const withBreaker of [false, true]) {
        const f = await measure(config, dynamo.client, withBreaker, options);
        const sorted = ascending(f.ms);
        const median = percentile(sorted, 0.5);
        const max = sorted.at(-1) ?? Number.NaN;
        const mean = f.ms.reduce((a, b) => a + b, 0) / f.ms.length;
        medians.push(median);
        rows.push([
          `${outage}, ${withBreaker ? 'breaker' : 'no breaker (before)'}`,
          String(f.pushes),
          String(f.answered200),
          String(f.spooled),
          String(f.lambdas),
          String(f.asked),
          fixed(median, 0),
          fixed(mean, 0),
          fixed(percentile(sorted, 0.99), 0),
          fixed(max, 0),
          // A Lambda is busy for as long as its push takes: rate × mean time is how many are needed.
          fixed((LAMBDAS_AT_RATE * mean) / 1000, 0),
        ]);
        if (withBreaker) {
          verdicts.push(
            `${outage}: median ${fixed(median, 0)} ms (≤ ${TARGET_MEDIAN_MS}: ${verdict(median <= TARGET_MEDIAN_MS)}), ` +
              `max ${fixed(max, 0)} ms (< ${CATCHPOINT_WAIT_MS}: ${verdict(max < CATCHPOINT_WAIT_MS)}), ` +
              `median ${fixed(medians[0]! / median, 0)}× shorter than without the breaker`,
          );
        }
      }
      tsdb.fault = 'none';
    }

    console.log(
      `\nPush answer times during an OpenTSDB outage: ${options.seconds} s per scenario, ${options.concurrency} pushes ` +
        `in flight, WRITE_BUDGET_MS ${defaults?.writeBudgetMs}, OPENTSDB_TIMEOUT_MS ${defaults?.openTsdbTimeoutMs}, ` +
        `sync ${defaults?.openTsdbSync ? 'on' : 'off'}, a spool in an embedded DynamoDB.`,
    );
    for (const outage of options.outages) console.log(`  ${outage}: ${OUTAGES[outage]}`);
    console.log();
    console.log(
      table(
        [
          'scenario',
          'pushes',
          '200s',
          'spooled',
          'lambdas',
          'OpenTSDB requests',
          'median ms',
          'mean ms',
          'p99 ms',
          'max ms',
          `Lambdas at ${LAMBDAS_AT_RATE}/s`,
        ],
        rows,
      ),
    );
    console.log();
    for (const line of verdicts) console.log(line);
  } finally {
    await tsdb.close();
    await dynamo.close();
  }
}

try {
  await main();
} catch (error) {
  console.error('outage failed:', error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
