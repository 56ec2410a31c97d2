// `npm run bench`: figures, not a test. Prints the CPU time of one push through the push Lambda's own
// handler, and the size and cold import time of each function's bundle, next to their targets. It exits 0
// whether or not a target is met; only a failure of the script itself (a bundle that does not build, a
// fixture the handler refuses) exits 1. `npm run bench -- --help` lists the options.

import { spawnSync } from 'node:child_process';
import { Console } from 'node:console';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import {
  createNodesTable,
  createSpoolTable,
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../dev/embedded-dynamo.js';
import { FIXTURE_NODES_FILE, pushFixture, pushFixtureNames } from '../dev/fixtures.js';
import { readNodesFile } from '../dev/nodes-file.js';
import { BUNDLE_ALIASES, ESBUILD_TARGET, MAIN_FIELDS } from '../infra/bundling.js';
import { readPushConfig } from '../lambda/config.js';
import { NodeTable } from '../lambda/nodes/node-table.js';
import type { PostAnswer } from '../lambda/opentsdb/http-post.js';
import { OpenTsdbWriter } from '../lambda/opentsdb/writer.js';
import { createPushHandler, type PushHandler } from '../lambda/push/push-handler.js';
import { sha256Hex } from '../lambda/push/push-token.js';
import { createMetrics } from '../lambda/shared/observability.js';
import { integerOption } from './cli.js';
import { ascending, fixed, percentile, table, verdict } from './report.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WEB_FIXTURE = 'v4-web-failed.json';

// The AWS SDK warns once on Node < 22 (the bundles target Lambda's node24); the warning is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const TARGET_CPU_US = 100;
const TARGET_PUSH_BUNDLE_KB = 350;
const TARGET_IMPORT_MS = 100;

const TOKEN = 'bench-token';
const NODES_TABLE = 'catchpoint-nodes';
const SPOOL_TABLE = 'catchpoint-spool';

/** Environment the entries read at import (as the stack sets it); nothing is contacted at import. */
const IMPORT_ENV: Record<string, string> = {
  NODES_TABLE,
  SPOOL_TABLE,
  OPENTSDB_URL: 'http://127.0.0.1:4242',
  PUSH_TOKEN_HASHES: sha256Hex(TOKEN),
  CATCHPOINT_CREDENTIALS_PARAMETER: '/catchpoint/bench/credentials',
  AWS_REGION: 'eu-west-1',
  POWERTOOLS_METRICS_NAMESPACE: 'CatchpointBridge',
};

/**
 * esbuild as infra/bridge-function.ts has NodejsFunction run it (local bundling, settings from
 * infra/bundling.ts): `esbuild --bundle <entry>
 * --target=node24 --platform=node --format=esm --outfile=index.mjs --minify --sourcemap
 * --sources-content=false --main-fields=module,main --alias:…`, with no externals (bundleAwsSDK: true).
 */
const CDK_ESBUILD: BuildOptions = {
  absWorkingDir: ROOT,
  bundle: true,
  target: ESBUILD_TARGET,
  alias: { ...BUNDLE_ALIASES },
  platform: 'node',
  format: 'esm',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: MAIN_FIELDS,
  metafile: true,
  logLevel: 'error',
};

// ---------------------------------------------------------------------------------------------- helpers

/** Bytes nobody reads: the Powertools consoles write here instead of stdout. */
let discarded = 0;
const nowhere = new Writable({
  write(chunk: Buffer | string, _encoding, callback) {
    discarded += chunk.length;
    callback();
  },
});

/**
 * What the CPU measurement needs from the push path. By default these come from a bundle built as the stack
 * builds the Lambda's (see bundledParts); `--source` takes them from the TypeScript sources through tsx, whose
 * transform (keepNames) adds work the bundle does not have.
 */
interface PushParts {
  readPushConfig: typeof readPushConfig;
  createPushHandler: typeof createPushHandler;
  OpenTsdbWriter: typeof OpenTsdbWriter;
  createMetrics: typeof createMetrics;
  Logger: typeof Logger;
  DynamoDBClient: typeof DynamoDBClient;
}

const SOURCE_PARTS: PushParts = {
  readPushConfig,
  createPushHandler,
  OpenTsdbWriter,
  createMetrics,
  Logger,
  DynamoDBClient,
};

const PARTS_ENTRY = `
export { Logger } from '@aws-lambda-powertools/logger';
export { DynamoDBClient } from '@aws-sdk/client-dynamodb';
export { readPushConfig } from './lambda/config.js';
export { createMetrics } from './lambda/shared/observability.js';
export { OpenTsdbWriter } from './lambda/opentsdb/writer.js';
export { createPushHandler } from './lambda/push/push-handler.js';
`;

/** The push path's modules bundled with the stack's esbuild settings (minified, no keepNames). */
async function bundledParts(dir: string): Promise<PushParts> {
  const outfile = join(dir, 'push-parts.mjs');
  await build({
    ...CDK_ESBUILD,
    stdin: { contents: PARTS_ENTRY, resolveDir: ROOT, sourcefile: 'push-parts.ts', loader: 'ts' },
    outfile,
  });
  return (await import(pathToFileURL(outfile).href)) as PushParts;
}

/**
 * A Powertools Logger that builds every line exactly as in production (same attributes, same JSON replacer,
 * compact JSON) and then drops it instead of writing it to stdout.
 */
function discardingLogger(Base: typeof Logger): Logger {
  class DiscardingLogger extends Base {
    protected override printLog(_level: number, log: LogItem): void {
      discarded += JSON.stringify(log.getAttributes(), this.getJsonReplacer()).length;
    }
  }
  return new DiscardingLogger({ serviceName: 'push' });
}

/**
 * The production Metrics (enabled, flushed by the handler after every push), with its EMF output console
 * pointed at a discarding stream: serialisation is counted, the write to stdout is not.
 */
function discardingMetrics(parts: PushParts): Metrics {
  const metrics = parts.createMetrics('push');
  // `console` is private in the typings but a plain field at run time; Powertools reassigns it itself.
  (metrics as unknown as { console: Console }).console = new Console({ stdout: nowhere, stderr: nowhere });
  return metrics;
}

function apiEvent(body: string): APIGatewayProxyEventV2 {
  const now = new Date();
  return {
    version: '2.0',
    routeKey: 'POST /push',
    rawPath: '/push',
    rawQueryString: `token=${TOKEN}`,
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      host: 'abc123.execute-api.eu-west-1.amazonaws.com',
      'user-agent': 'Catchpoint',
    },
    queryStringParameters: { token: TOKEN },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: 'POST',
        path: '/push',
        protocol: 'HTTP/1.1',
        sourceIp: '192.0.2.1',
        userAgent: 'Catchpoint',
      },
      requestId: 'bench',
      routeKey: 'POST /push',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    // API Gateway passes a JSON body as text; the push handler also takes base64 (the local server's way).
    body,
    isBase64Encoded: false,
  };
}

/** A warm invocation's context: plenty of time left (the handler's deadline is then its write budget). */
const CONTEXT: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'push',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:push',
  memoryLimitInMB: '512',
  awsRequestId: 'bench',
  logGroupName: '/aws/lambda/push',
  logStreamName: 'bench',
  getRemainingTimeInMillis: () => 14_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
};

const ANSWER_204: PostAnswer = { status: 204, contentType: '', body: '' };

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

// ----------------------------------------------------------------------------------------- CPU per push

interface CpuFigures {
  fixture: string;
  bytes: number;
  datapoints: number;
  medianUs: number;
  p99Us: number;
  maxUs: number;
  wallMedianUs: number;
  failures: number;
}

async function withPushHandler<T>(
  parts: PushParts,
  run: (handler: PushHandler, posts: () => number) => Promise<T>,
): Promise<T> {
  const dynamo: EmbeddedDynamo = await startEmbeddedDynamo();
  // The handler's own client, from the same code as the handler (the bundle's SDK when bundled).
  const client = new parts.DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 2,
  });
  try {
    await createNodesTable(dynamo.client, NODES_TABLE);
    await createSpoolTable(dynamo.client, SPOOL_TABLE);
    await new NodeTable(dynamo.client, NODES_TABLE).putMany(await readNodesFile(FIXTURE_NODES_FILE));
    // The Lambda's configuration, read as the Lambda reads it. The cache TTL is raised from 300 s so that no
    // table reload falls inside the measurement (a reload is asynchronous and rare in production).
    const config = parts.readPushConfig({ ...IMPORT_ENV, NODE_CACHE_TTL_SECONDS: '3600' });
    const logger = discardingLogger(parts.Logger);
    let posts = 0;
    const sink = new parts.OpenTsdbWriter(config.openTsdbUrl!, {
      timeoutMs: config.openTsdbTimeoutMs,
      log: logger,
      post: async () => {
        posts++;
        return ANSWER_204;
      },
    });
    const handler = parts.createPushHandler({
      config,
      dynamo: client,
      logger,
      metrics: discardingMetrics(parts),
      sink,
    });
    return await run(handler, () => posts);
  } finally {
    client.destroy();
    await dynamo.close();
  }
}

async function measureCpu(parts: PushParts, pushes: number, warmup: number): Promise<CpuFigures[]> {
  const fixtures = pushFixtureNames().map((name) => {
    const body = pushFixture(name);
    return { name, body, event: apiEvent(body) };
  });
  return withPushHandler(parts, async (handler, posts) => {
    // First push of each fixture: checks the answer and fills the node cache (table load, single lookups).
    const datapoints = new Map<string, number>();
    for (const f of fixtures) {
      const answer = await handler(f.event, CONTEXT);
      const body = JSON.parse(answer.body ?? '{}') as { datapoints?: number; error?: string };
      if (answer.statusCode !== 200 || typeof body.datapoints !== 'number') {
        throw new Error(`${f.name}: the handler answered ${answer.statusCode} ${answer.body}`);
      }
      datapoints.set(f.name, body.datapoints);
    }
    // Round-robin over the fixtures, as mixed traffic reaches one warm Lambda.
    for (let i = 0; i < warmup; i++) for (const f of fixtures) await handler(f.event, CONTEXT);
    const cpu = fixtures.map(() => [] as number[]);
    const wall = fixtures.map(() => [] as number[]);
    const failures = fixtures.map(() => 0);
    const postsBefore = posts();
    for (let i = 0; i < pushes; i++) {
      for (let j = 0; j < fixtures.length; j++) {
        const w0 = performance.now();
        const c0 = cpuMicros();
        const answer = await handler(fixtures[j]!.event, CONTEXT);
        const c1 = cpuMicros();
        const w1 = performance.now();
        cpu[j]!.push(c1 - c0);
        wall[j]!.push((w1 - w0) * 1000);
        if (answer.statusCode !== 200) failures[j]!++;
      }
    }
    const postsPerRound = (posts() - postsBefore) / pushes;
    if (postsPerRound !== fixtures.length) {
      console.log(
        `note: ${postsPerRound.toFixed(2)} OpenTSDB requests per round of ${fixtures.length} pushes`,
      );
    }
    return fixtures.map((f, j) => {
      const sorted = ascending(cpu[j]!);
      return {
        fixture: f.name,
        bytes: Buffer.byteLength(f.body),
        datapoints: datapoints.get(f.name) ?? 0,
        medianUs: percentile(sorted, 0.5),
        p99Us: percentile(sorted, 0.99),
        maxUs: sorted.at(-1) ?? Number.NaN,
        wallMedianUs: percentile(ascending(wall[j]!), 0.5),
        failures: failures[j]!,
      };
    });
  });
}

/** CPU µs of one JSON.parse of the body: batches of 1000, median over the batches. */
function measureJsonParse(body: string): number {
  let keep = 0;
  const perBatch: number[] = [];
  for (let batch = 0; batch < 60; batch++) {
    const c0 = cpuMicros();
    for (let i = 0; i < 1000; i++) keep += (JSON.parse(body) as { TestId: number }).TestId;
    if (batch >= 10) perBatch.push((cpuMicros() - c0) / 1000);
  }
  if (keep === 0) console.log('');
  return percentile(ascending(perBatch), 0.5);
}

/** What one `process.cpuUsage()` pair costs, to read small figures against. */
function measureProbe(): number {
  for (let i = 0; i < 1000; i++) cpuMicros();
  const c0 = cpuMicros();
  for (let i = 0; i < 10_000; i++) cpuMicros();
  return (cpuMicros() - c0) / 10_000;
}

// ------------------------------------------------------------------------------------ bundles & imports

interface BundleFigures {
  entry: string;
  kb: number;
  mapKb: number;
  biggest: string;
  importMs: number;
  importSourceMapsMs: number;
  importRange: string;
  error?: string;
}

/** Builds the bundle of one entry under lambda/ into `outDir`/index.mjs, as the stack does. */
async function bundle(entry: string, outDir: string): Promise<{ file: string; metafile: Metafile }> {
  const outfile = join(outDir, 'index.mjs');
  const result = await build({ ...CDK_ESBUILD, entryPoints: [join(ROOT, 'lambda', entry)], outfile });
  return { file: outfile, metafile: result.metafile ?? { inputs: {}, outputs: {} } };
}

/** The three biggest contributors to the bundle, by package (own code as `lambda/`). */
function biggestInputs(metafile: Metafile, outFile: string): string {
  const output = Object.entries(metafile.outputs).find(([path]) => outFile.endsWith(path))?.[1];
  if (!output) return '';
  const byPackage = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path.split('/')[0] ?? path;
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + bytesInOutput);
  }
  return [...byPackage]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([pkg, bytes]) => `${pkg} ${Math.round(bytes / 1024)}`)
    .join(', ');
}

/** Milliseconds of `await import(file)` in a fresh node, timed inside the child. */
function importOnce(file: string, nodeOptions: string): { ms?: number; error?: string } {
  const code =
    'const t0 = performance.now(); await import(process.env.BENCH_IMPORT_URL); ' +
    'process.stdout.write(String(performance.now() - t0));';
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    env: {
      PATH: process.env.PATH ?? '',
      ...IMPORT_ENV,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      NODE_OPTIONS: nodeOptions,
      BENCH_IMPORT_URL: pathToFileURL(file).href,
    },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const ms = Number(child.stdout);
  if (child.status !== 0 || child.stdout === '' || !Number.isFinite(ms)) {
    const why = (child.stderr || child.error?.message || `exit ${child.status}`).trim().split('\n');
    return { error: why.find((l) => /Error|error/.test(l)) ?? why[0] ?? 'failed' };
  }
  return { ms };
}

function importTimes(file: string, runs: number, nodeOptions: string): { times: number[]; error?: string } {
  importOnce(file, nodeOptions); // the first read of a fresh file warms the page cache: not counted
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { ms, error } = importOnce(file, nodeOptions);
    if (ms === undefined) return { times, error };
    times.push(ms);
  }
  return { times };
}

async function measureBundles(runs: number): Promise<BundleFigures[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-bench-'));
  try {
    const figures: BundleFigures[] = [];
    for (const entry of ['push.ts', 'refresh.ts', 'replay.ts']) {
      const outDir = join(dir, entry.replace(/\.ts$/, ''));
      const { file, metafile } = await bundle(entry, outDir);
      const plain = importTimes(file, runs, '');
      // The stack sets NODE_OPTIONS=--enable-source-maps on every function: Lambda imports with it.
      const mapped = importTimes(file, runs, '--enable-source-maps');
      const sorted = ascending(mapped.times);
      figures.push({
        entry,
        kb: statSync(file).size / 1024,
        mapKb: statSync(`${file}.map`).size / 1024,
        biggest: biggestInputs(metafile, relative(ROOT, file)),
        importMs: percentile(ascending(plain.times), 0.5),
        importSourceMapsMs: percentile(sorted, 0.5),
        importRange: sorted.length ? `${fixed(sorted[0]!, 0)}–${fixed(sorted.at(-1)!, 0)}` : '—',
        error: plain.error ?? mapped.error,
      });
    }
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------------------- main

const USAGE = `npm run bench -- [options]

CPU time of one push through the push Lambda's handler, and size and cold import time of each function's
bundle, next to their targets.

  --pushes N      measured pushes per fixture, 1–100000 (default 2000)
  --warmup N      warm-up rounds over the fixtures before measuring, 1–100000 (default 500)
  --imports N     fresh node processes per bundle for the import time, 1–50 (default 7)
  --skip-cpu      no CPU measurement
  --skip-bundles  no bundle sizes and import times
  --source        measure the TypeScript sources through tsx instead of the bundled push path
  -h, --help      this text`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pushes: { type: 'string', default: '2000' },
      warmup: { type: 'string', default: '500' },
      imports: { type: 'string', default: '7' },
      'skip-cpu': { type: 'boolean', default: false },
      'skip-bundles': { type: 'boolean', default: false },
      source: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const pushes = integerOption(values.pushes, 'pushes', 1, 100_000);
  const warmup = integerOption(values.warmup, 'warmup', 1, 100_000);
  const imports = integerOption(values.imports, 'imports', 1, 50);

  console.log(`bench: node ${process.version}, ${process.platform}/${process.arch}`);
  if (!values['skip-cpu']) {
    const partsDir = mkdtempSync(join(tmpdir(), 'bridge-bench-'));
    let rows: CpuFigures[];
    try {
      const parts = values.source ? SOURCE_PARTS : await bundledParts(partsDir);
      rows = await measureCpu(parts, pushes, warmup);
    } finally {
      rmSync(partsDir, { recursive: true, force: true });
    }
    const webBody = pushFixture(WEB_FIXTURE);
    const parseUs = measureJsonParse(webBody);
    const probeUs = measureProbe();
    console.log(
      `\nCPU per push (process.cpuUsage user+system) through createPushHandler ` +
        (values.source ? '(TypeScript sources via tsx)' : "(bundled with the stack's esbuild settings)") +
        `: ${pushes} pushes per fixture after ${warmup} warm-up, round-robin; warm node cache (dynalite + nodes/v1-items.json); ` +
        'OpenTsdbWriter with a post answering 204; Logger and Metrics (enabled, flushed per push) serialise ' +
        'as in production, output discarded.\n',
    );
    console.log(
      table(
        ['fixture', 'bytes', 'points', 'median µs', 'p99 µs', 'max µs', 'wall med µs', 'non-200', 'target'],
        [
          ...rows.map((r) => [
            r.fixture,
            String(r.bytes),
            String(r.datapoints),
            fixed(r.medianUs),
            fixed(r.p99Us),
            fixed(r.maxUs, 0),
            fixed(r.wallMedianUs),
            String(r.failures),
            r.fixture === WEB_FIXTURE ? `≤ ${TARGET_CPU_US} µs: ${verdict(r.medianUs <= TARGET_CPU_US)}` : '',
          ]),
          [`JSON.parse ${WEB_FIXTURE} (reference)`, '', '', fixed(parseUs, 2), '', '', '', '', ''],
          ['process.cpuUsage() pair (probe cost)', '', '', fixed(probeUs * 2, 2), '', '', '', '', ''],
        ],
      ),
    );
  }
  if (!values['skip-bundles']) {
    const rows = await measureBundles(imports);
    console.log(
      '\nBundles as the CDK stack builds them (esbuild ESM, node24, minify, external source map, AWS SDK ' +
        `bundled); cold import = median of ${imports} fresh node processes, timed around the import.\n`,
    );
    console.log(
      table(
        [
          'function',
          '.mjs KB',
          '.map KB',
          'import ms',
          'import ms (source maps)',
          'min–max',
          'target',
          'biggest inputs (KB)',
        ],
        rows.map((r) => {
          const limits = [
            `import ≤ ${TARGET_IMPORT_MS} ms: ${verdict(r.importSourceMapsMs <= TARGET_IMPORT_MS)}`,
          ];
          if (r.entry === 'push.ts')
            limits.unshift(`≤ ${TARGET_PUSH_BUNDLE_KB} KB: ${verdict(r.kb <= TARGET_PUSH_BUNDLE_KB)}`);
          return [
            r.entry.replace(/\.ts$/, ''),
            fixed(r.kb),
            fixed(r.mapKb),
            fixed(r.importMs),
            fixed(r.importSourceMapsMs),
            r.importRange,
            r.error ? `IMPORT FAILED: ${r.error}` : limits.join('; '),
            r.biggest,
          ];
        }),
      ),
    );
    console.log(
      '\n"import ms (source maps)" runs with NODE_OPTIONS=--enable-source-maps, as the stack configures every ' +
        'function; targets are read against it.',
    );
  }
}

try {
  await main();
  if (discarded < 0) console.log(discarded); // keeps the discarded output observable
} catch (error) {
  console.error('bench failed:', error);
  process.exitCode = 1;
}
