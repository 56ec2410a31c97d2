// `npm run bench`: figures, not a test. Runs the push function's bundle as Lambda runs it (its own process,
// its environment, an API Gateway event per push) against the strict OpenTSDB stand-in, and prints per push
// its CPU time next to a bare forwarder's in the same process (parse the body, one keep-alive http.request
// POST of the same datapoints to the same stand-in), their ratio, and the bytes it writes to the log; then
// the size and cold import time of each function's bundle. Ratios are what to compare across machines: the
// same code measures up to 3× apart on two of ours. Exits 0 whether or not a target is met; only a failure of
// the script itself exits 1. `npm run bench -- --help` lists the options.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { AWS_PRICES, LAMBDA_MB_PER_VCPU } from '../dev/aws-prices.js';
import { type BundledPush, httpApiPushEvent, startBundledPush } from '../dev/bundled-push/bundled-push.js';
import {
  createNodesTable,
  createSpoolTable,
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../dev/embedded-dynamo.js';
import { expectedDatapoints } from '../dev/expected-datapoints.js';
import { FIXTURE_NODES_FILE, pushFixture, pushFixtureNames } from '../dev/fixtures.js';
import { readNodesFile } from '../dev/nodes-file.js';
import { startStandInProcess } from '../dev/opentsdb-stand-in/stand-in-process.js';
import { BUNDLE_ALIASES, ESBUILD_TARGET, MAIN_FIELDS } from '../infra/bundling.js';
import type { NodeRecord } from '../lambda/nodes/node-record.js';
import { NodeTable } from '../lambda/nodes/node-table.js';
import { serializeDatapoint } from '../lambda/opentsdb/datapoint.js';
import { syncTimeoutFor } from '../lambda/opentsdb/writer.js';
import { DEFAULT_WRITE_BUDGET_MS } from '../lambda/push/push-limits.js';
import { sha256Hex } from '../lambda/push/push-token.js';
import { integerOption } from './cli.js';
import { ascending, fixed, percentile, table, verdict } from './report.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

// The AWS SDK warns once on Node < 22 (the bundles target Lambda's node24); the warning is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const TARGET_PUSH_BUNDLE_KB = 350;
const TARGET_IMPORT_MS = 100;

const TOKEN = 'bench-token';
const NODES_TABLE = 'catchpoint-nodes';
const SPOOL_TABLE = 'catchpoint-spool';

/** The push function's own variables, as the stack sets them (infra/bridge-function.ts, push-api.ts). */
const PUSH_ENV: Record<string, string> = {
  NODE_OPTIONS: '--enable-source-maps',
  POWERTOOLS_SERVICE_NAME: 'push',
  POWERTOOLS_METRICS_NAMESPACE: 'CatchpointBridge',
  NODES_TABLE,
  SPOOL_TABLE,
  PUSH_TOKEN_HASHES: sha256Hex(TOKEN),
  WRITE_BUDGET_MS: String(DEFAULT_WRITE_BUDGET_MS),
};

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

// ----------------------------------------------------------------------------------------- CPU per push

/** Bytes a push may write to the log, platform lines included (issue #10). */
const TARGET_LOG_BYTES = 300;
/** CPU of a push against a bare forwarder's, measured in the same process. */
const TARGET_CPU_RATIO = 1.3;

interface PushFigures {
  fixture: string;
  bytes: number;
  datapoints: number;
  bridgeUs: number;
  bridgeP99Us: number;
  forwarderUs: number;
  logBytes: number;
  failures: number;
}

const median = (values: number[]): number => percentile(ascending(values), 0.5);

/**
 * The body the bridge sends OpenTSDB for a push, built by the same domain code (so the forwarder posts the
 * same bytes): the forwarder's work starts from them.
 */
function datapointsBody(push: string, nodes: readonly NodeRecord[]): { body: string; points: number } {
  const points = expectedDatapoints(push, (id) => nodes.find((n) => n.nodeId === id));
  return { body: `[${points.map(serializeDatapoint).join(',')}]`, points: points.length };
}

async function measurePushes(
  bundleFile: string,
  pushes: number,
  warmup: number,
  options: { cpuProfileDir: string | undefined; node: string | undefined; fixtures: string[] | undefined },
): Promise<{ rows: PushFigures[]; memory: { peakMb: number; node: string } }> {
  const dynamo: EmbeddedDynamo = await startEmbeddedDynamo();
  // In a process of its own: its work must not count against the function or share a process with it.
  const tsdb = await startStandInProcess();
  let fn: BundledPush | undefined;
  try {
    await createNodesTable(dynamo.client, NODES_TABLE);
    await createSpoolTable(dynamo.client, SPOOL_TABLE);
    const nodes = await readNodesFile(FIXTURE_NODES_FILE);
    await new NodeTable(dynamo.client, NODES_TABLE).putMany(nodes);
    fn = await startBundledPush({
      bundleFile,
      execArgv: options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [],
      ...(options.node ? { execPath: options.node } : {}),
      environment: {
        ...PUSH_ENV,
        OPENTSDB_URL: tsdb.url,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        // No table reload inside the measurement (one is asynchronous and rare in production).
        NODE_CACHE_TTL_SECONDS: '3600',
      },
    });
    const all = pushFixtureNames();
    const names = options.fixtures ?? all;
    const unknown = names.filter((name) => !all.includes(name));
    if (unknown.length > 0)
      throw new Error(`no such push fixture: ${unknown.join(', ')} (there are ${all.join(', ')})`);
    const fixtures = names.map((name) => {
      const body = pushFixture(name);
      return { name, body, event: httpApiPushEvent(body, TOKEN) };
    });
    const figures: PushFigures[] = [];
    for (const f of fixtures) {
      // The first push fills the node cache and registers the metric names.
      const first = await fn.push(f.event, 1);
      if (first.statuses[0] !== 200) throw new Error(`${f.name}: the function answered ${first.statuses[0]}`);
      const stored = datapointsBody(f.body, nodes);
      // Where the function puts (OPENTSDB_TIMEOUT_MS is 3000 by default): the forwarder puts there too.
      const putPath = `/api/put?details&sync&sync_timeout=${syncTimeoutFor(3000)}`;
      await fn.push(f.event, warmup);
      await fn.forward(f.body, `${tsdb.url}${putPath}`, stored.body, warmup);
      // One push, one forward, and again: both meet the same state of the machine and of its caches.
      const run = await fn.compare(
        f.event,
        { pushBody: f.body, url: `${tsdb.url}${putPath}`, pointsBody: stored.body },
        pushes,
      );
      const bridge = run.cpuUs;
      const forwarder = run.forwardUs;
      const logBytes = run.logBytes;
      const failures = run.statuses.filter((s) => s !== 200).length;
      figures.push({
        fixture: f.name,
        bytes: Buffer.byteLength(f.body),
        datapoints: stored.points,
        bridgeUs: median(bridge),
        bridgeP99Us: percentile(ascending(bridge), 0.99),
        forwarderUs: median(forwarder),
        logBytes: median(logBytes),
        failures,
      });
    }
    return { rows: figures, memory: await fn.memory() };
  } finally {
    await fn?.close();
    await tsdb.close();
    await dynamo.close();
  }
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

// -------------------------------------------------------------------------------------------- memory size

/**
 * What a push costs at each memory size. Lambda gives CPU in proportion to memory, and bills memory × the
 * whole answer time, which with `sync` is mostly the wait for OpenTSDB's flush: a put is answered once its
 * points are stored, and the TSD's HBase client sends what it buffered every hbase.rpcs.buffered_flush_interval
 * (1,000 ms by default), so a push waits 0–1 s for it, 0.5 s on average. That wait is stated, not measured here.
 */
const OPENTSDB_SYNC_WAIT_MS = 500;
const MEMORY_SIZES_MB = [128, 192, 256, 512, 1024];

function printMemorySizes(rows: PushFigures[], memory: { peakMb: number; node: string }): void {
  const web = rows.find((r) => r.fixture === 'v4-web-failed.json') ?? rows[0];
  if (!web) return;
  console.log(
    `\nMemory: the push function's process (node ${memory.node}) peaked at ${fixed(memory.peakMb, 0)} MB ` +
      `(Lambda's "Max Memory Used"). Per push of ${web.fixture}: its CPU ` +
      `time (${fixed(web.bridgeUs, 0)} µs at a whole core) at each size's CPU share (a vCPU at ` +
      `${LAMBDA_MB_PER_VCPU} MB), plus an OpenTSDB sync wait of ${OPENTSDB_SYNC_WAIT_MS} ms (stated: half ` +
      'of the default 1 s hbase.rpcs.buffered_flush_interval); duration billed at arm64 prices.\n',
  );
  console.log(
    table(
      ['memory MB', 'vCPU', 'CPU ms', 'answer ms', 'duration $/M pushes', 'memory used'],
      MEMORY_SIZES_MB.map((mb) => {
        const share = Math.min(1, mb / LAMBDA_MB_PER_VCPU);
        const cpuMs = web.bridgeUs / 1000 / share;
        const answerMs = cpuMs + OPENTSDB_SYNC_WAIT_MS;
        const perMillion = 1e6 * (answerMs / 1000) * (mb / 1024) * AWS_PRICES.lambdaArm64PerGbSecond;
        return [
          String(mb),
          fixed(share, 3),
          fixed(cpuMs, 1),
          fixed(answerMs, 0),
          `$${fixed(perMillion, 2)}`,
          `${fixed((memory.peakMb / mb) * 100, 0)} %`,
        ];
      }),
    ),
  );
}

// ------------------------------------------------------------------------------------------------- main

const USAGE = `npm run bench -- [options]

CPU time and log bytes of one push through the push function's bundle, against a bare forwarder's CPU in
the same process; size and cold import time of each function's bundle; next to their targets.

  --pushes N      measured pushes per fixture, 1–100000 (default 2000)
  --warmup N      warm-up pushes per fixture before measuring, 1–100000 (default 500)
  --imports N     fresh node processes per bundle for the import time, 1–50 (default 7)
  --fixture NAME  measure only this push fixture (repeatable; default: every one in test/fixtures/push)
  --skip-cpu      no CPU measurement
  --skip-bundles  no bundle sizes and import times
  --cpu-prof DIR  write a V8 CPU profile of the push function's process into DIR (node --cpu-prof)
  --node PATH     run the push function on this Node.js binary (e.g. Node 24, Lambda's runtime:
                  .ci/node24/node_modules/.bin/node after npm run test:node24 installed it)
  -h, --help      this text`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pushes: { type: 'string', default: '2000' },
      warmup: { type: 'string', default: '500' },
      imports: { type: 'string', default: '7' },
      fixture: { type: 'string', multiple: true },
      'skip-cpu': { type: 'boolean', default: false },
      'skip-bundles': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      node: { type: 'string' },
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
    const dir = mkdtempSync(join(tmpdir(), 'bridge-bench-'));
    let rows: PushFigures[];
    let memory: { peakMb: number; node: string };
    try {
      const { file } = await bundle('push.ts', dir);
      ({ rows, memory } = await measurePushes(file, pushes, warmup, {
        cpuProfileDir: values['cpu-prof'],
        node: values.node,
        fixtures: values.fixture,
      }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(
      `\nCPU per push (process.cpuUsage, user + system, median of ${pushes} after ${warmup} warm-up) of the ` +
        "push bundle (the stack's esbuild settings) run as Lambda runs it, in a process of its own, against " +
        'the strict OpenTSDB stand-in (warm node cache: dynalite + nodes/v1-items.json), next to a bare ' +
        'forwarder in that same process: JSON.parse of the push, JSON.stringify of its datapoints (the same ' +
        'points, as plain objects), one keep-alive http.request POST of them, to the same URL. Log bytes: ' +
        "what the function wrote per push (Lambda's " +
        'own START/REPORT lines come on top unless its system log level is WARN).\n',
    );
    console.log(
      table(
        [
          'fixture',
          'points',
          'bridge µs',
          'p99 µs',
          'forwarder µs',
          'ratio',
          'log bytes',
          'non-200',
          'target',
        ],
        rows.map((r) => {
          const ratio = r.bridgeUs / r.forwarderUs;
          return [
            r.fixture,
            String(r.datapoints),
            fixed(r.bridgeUs),
            fixed(r.bridgeP99Us),
            fixed(r.forwarderUs),
            fixed(ratio, 2),
            fixed(r.logBytes, 0),
            String(r.failures),
            `≤ ${TARGET_CPU_RATIO}×: ${verdict(ratio <= TARGET_CPU_RATIO)}; ` +
              `≤ ${TARGET_LOG_BYTES} B: ${verdict(r.logBytes <= TARGET_LOG_BYTES)}`,
          ];
        }),
      ),
    );
    printMemorySizes(rows, memory);
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
} catch (error) {
  console.error('bench failed:', error);
  process.exitCode = 1;
}
