// `npm run bench:drain`: figures, not a test. Spools 20,000 realistic runs (the push fixtures with varied
// test ids, nodes and timestamps) into the embedded DynamoDB with the push path's own DynamoSpool, starts a
// real VictoriaMetrics, drains the spool with the replay function's own handler (as many invocations as it
// takes) and reads every datapoint back. Next to it, a yardstick measured in the same run on the same
// machine: the old replay's shape, one run per OpenTSDB request, one request at a time (without even its
// DynamoDB reads and deletes), so that the ratio can be compared across machines. Exits 0 whether or not a
// target is met; only a failure of the script itself exits 1. `npm run bench:drain -- --help` for options.
// With `--poison 1%`, both drains go through scripts/poison-proxy.ts, and a second drain of as many runs, a
// share of them poisoned (every kind of OpenTSDB failure in turn), is measured against the clean one.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { createSpoolTable, startDynaliteProcess } from '../dev/embedded-dynamo.js';
import { FIXTURE_NODES_FILE, pushFixture, pushFixtureNames } from '../dev/fixtures.js';
import { lambdaContext } from '../dev/lambda-shim.js';
import { readNodesFile } from '../dev/nodes-file.js';
import { seriesKey } from '../dev/series-key.js';
import {
  startVictoriaMetrics,
  type VictoriaMetrics,
  victoriaMetricsInstalled,
} from '../dev/victoria-metrics.js';
import { REPLAY_TIMEOUT } from '../infra/spool-replay.js';
import { DEFAULT_METRIC_SETS } from '../lambda/config.js';
import { toDatapoints } from '../lambda/metrics/datapoints.js';
import { nodeDimensions } from '../lambda/metrics/node-dimensions.js';
import type { Datapoint } from '../lambda/opentsdb/datapoint.js';
import { OpenTsdbWriter } from '../lambda/opentsdb/writer.js';
import { errorText } from '../lambda/shared/error-text.js';
import type { MetricsRecorder } from '../lambda/shared/observability.js';
import { DynamoSpool } from '../lambda/spool/dynamo-spool.js';
import { createReplayHandler, replayWriter } from '../lambda/spool/replay-handler.js';
import type { ReplayResult } from '../lambda/spool/replay-spool.js';
import { parsePush } from '../lambda/webhook/parse-push.js';
import { integerOption } from './cli.js';
import { oldReplay } from './old-replay.js';
import {
  drainWithPoison,
  type PoisonProxy,
  poisonedTestIds,
  poisonShare,
  printPoisonDrain,
  startPoisonProxy,
} from './poison-drain.js';
import { fixed, table, verdict } from './report.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `usage: npm run bench:drain [-- --runs N] [--yardstick-runs N] [--parallel N] [--poison P%]

Spools N realistic runs (default 20000) into the embedded DynamoDB, drains them into a real VictoriaMetrics
with the replay handler and reads every datapoint back; measures the old one-run-per-request replay on
--yardstick-runs other runs (default 1000) as a yardstick; --parallel sets the OpenTSDB writes in flight
(the replay's default otherwise); --poison P% drains N more runs, P% of them poisoned (OpenTSDB failing on
them in each way it can), and compares the rate with the clean drain's. Needs Debian's victoria-metrics.`;

const TARGET_RUNS_PER_SECOND = 1000;
const TARGET_RUNS_PER_REQUEST = 10;
/** The functions' default OPENTSDB_TIMEOUT_MS: a `sync_timeout` of poison waits out nearly that long. */
export const OPENTSDB_TIMEOUT_MS = 3000;
/** The drain with poison, as a share of the clean drain of the same run. */
const TARGET_POISON_RATIO = 0.8;
const SPOOL_TABLE = 'catchpoint-spool';
/** The issue's sizing case: a one-hour outage at 100 pushes/s. */
const OUTAGE_RUNS = 100 * 3600;

interface Options {
  runs: number;
  yardstickRuns: number;
  /** OpenTSDB writes in flight; the replay's default unless given. */
  parallel: number | undefined;
  /** Share of poisoned runs in a second drain; undefined: no second drain. */
  poison: number | undefined;
}

function readOptions(): Options | undefined {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '20000' },
      'yardstick-runs': { type: 'string', default: '1000' },
      parallel: { type: 'string' },
      poison: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  return {
    runs: integerOption(values.runs, 'runs', 100, 1_000_000),
    yardstickRuns: integerOption(values['yardstick-runs'], 'yardstick-runs', 10, 100_000),
    parallel: values.parallel === undefined ? undefined : integerOption(values.parallel, 'parallel', 1, 64),
    poison: values.poison === undefined ? undefined : poisonShare(values.poison),
  };
}

interface Run {
  runKey: string;
  points: Datapoint[];
}

/**
 * `count` distinct runs: the six push fixtures in turn, each with its own test id (2,000 tests), on the
 * fixture's node or another of 50 (tagged from the node table or from the payload), a minute apart.
 */
async function realisticRuns(count: number, testIdOf: (i: number) => number): Promise<Run[]> {
  const nodes = new Map((await readNodesFile(FIXTURE_NODES_FILE)).map((n) => [n.nodeId, n]));
  const templates = pushFixtureNames().map((name) => parsePush(pushFixture(name), Date.now()));
  const options = { sets: new Set(DEFAULT_METRIC_SETS), naming: 'default' as const };
  const base = Math.floor(Date.now() / 1000) - 2 * 86_400;
  const runs: Run[] = [];
  for (let i = 0; i < count; i++) {
    const template = templates[i % templates.length]!;
    const nodeId = i % 3 === 0 ? template.nodeId : 1000 + (i % 50);
    const result = {
      ...template,
      testId: testIdOf(i),
      nodeId,
      timestamp: base + Math.floor(i / 2000) * 60 + (i % 60),
    };
    const points = toDatapoints(result, nodeDimensions(result, nodes.get(nodeId)), options, base);
    runs.push({ runKey: `${result.testId}:${nodeId}:${result.timestamp}`, points });
  }
  return runs;
}

function recorder(): MetricsRecorder {
  return { addMetric: () => undefined, publishStoredMetrics: () => undefined };
}

/** VictoriaMetrics' own count of the OpenTSDB HTTP requests it has taken. */
async function putRequests(vm: VictoriaMetrics): Promise<number> {
  const text = await (await fetch(`${vm.httpUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('vm_ingestserver_requests_total{') && l.includes('type="opentsdbhttp"'));
  if (line === undefined) throw new Error('VictoriaMetrics does not report vm_ingestserver_requests_total');
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** CPU seconds a process has used so far (Linux /proc; NaN elsewhere). */
function processCpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime, fields 14 and 15 of stat (11 and 12 after the command name), in clock ticks.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function runConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

async function main(): Promise<number> {
  const options = readOptions();
  if (options === undefined) {
    console.log(USAGE);
    return 0;
  }
  if (!victoriaMetricsInstalled()) {
    console.error('victoria-metrics is not installed: apt-get install -y victoria-metrics');
    return 1;
  }
  const quiet = new Logger({ serviceName: 'replay', logLevel: 'ERROR' });
  const drainRuns = await realisticRuns(options.runs, (i) => 300_000 + (i % 2000));
  const yardstickRuns = await realisticRuns(options.yardstickRuns, (i) => 900_000 + (i % 2000));
  const expected = new Map<string, number>();
  for (const run of [...drainRuns, ...yardstickRuns]) {
    for (const p of run.points) expected.set(`${seriesKey(p.metric, p.tags)}@${p.timestamp * 1000}`, p.value);
  }
  const drainPoints = drainRuns.reduce((n, r) => n + r.points.length, 0);

  // DynamoDB in a process of its own: the CPU measured here is then the replay's, as on Lambda.
  const dynamo = await startDynaliteProcess();
  const vm = await startVictoriaMetrics();
  let proxy: PoisonProxy | undefined;
  try {
    // With poison, both drains meet the same OpenTSDB: the proxy, which passes clean requests on.
    if (options.poison !== undefined) proxy = await startPoisonProxy(vm.openTsdbUrl);
    const drainUrl = proxy?.url ?? vm.openTsdbUrl;
    await createSpoolTable(dynamo.client, SPOOL_TABLE);
    const spool = new DynamoSpool(dynamo.client, SPOOL_TABLE);

    // Spooled as the push path does, over the last hour, oldest first.
    const spoolStart = performance.now();
    const hourAgo = Date.now() - 3_600_000;
    let spooled = 0;
    await runConcurrently(drainRuns, 16, async (run) => {
      const at = hourAgo + Math.floor((spooled++ * 3_600_000) / drainRuns.length);
      await spool.save(run.runKey, run.points, at, Date.now() + 10_000);
    });
    const spoolSeconds = (performance.now() - spoolStart) / 1000;
    console.error(`spooled ${drainRuns.length} runs in ${fixed(spoolSeconds)} s`);

    // The yardsticks: the old replay (a table keyed by run, one Scan, then per run GetItem, one write,
    // DeleteItem, one run at a time), and the bare OpenTSDB part of it (one run per request, sequential).
    const writer = new OpenTsdbWriter(vm.openTsdbUrl, { timeoutMs: 5000, log: quiet });
    const half = Math.floor(yardstickRuns.length / 2);
    const oldReplayRate = await oldReplay(dynamo.client, yardstickRuns.slice(0, half), writer);
    const barePutStart = performance.now();
    for (const run of yardstickRuns.slice(half)) {
      const outcome = await writer.write(run.points, Date.now() + 10_000);
      if (outcome.pending.length > 0) throw new Error(`yardstick write failed: ${outcome.lastError}`);
    }
    const barePutRate = (yardstickRuns.length - half) / ((performance.now() - barePutStart) / 1000);
    console.error(
      `yardsticks: old replay ${fixed(oldReplayRate, 0)} runs/s, bare puts ${fixed(barePutRate, 0)} runs/s`,
    );

    // The drain: the replay function's handler, invoked as EventBridge would until the spool is empty.
    const handler = createReplayHandler({
      spool,
      sink: replayWriter(
        { openTsdbUrl: drainUrl, openTsdbTimeoutMs: OPENTSDB_TIMEOUT_MS, openTsdbSync: true },
        quiet,
      ),
      logger: quiet,
      metrics: recorder(),
      tuning: options.parallel === undefined ? {} : { parallelWrites: options.parallel },
    });
    const timeoutMs = REPLAY_TIMEOUT.toMilliseconds();
    const requestsBefore = await putRequests(vm);
    const cpuBefore = process.cpuUsage();
    const dynamoCpuBefore = processCpuSeconds(dynamo.pid);
    const vmCpuBefore = processCpuSeconds(vm.pid);
    const drainStart = performance.now();
    const invocations: ReplayResult[] = [];
    for (;;) {
      const result = await handler(undefined, lambdaContext('replay', timeoutMs));
      invocations.push(result);
      console.error(
        `invocation ${invocations.length}: ${result.replayed} runs, ${result.writes} writes, depth ${result.depth}${result.stoppedBy ? `, stopped: ${result.stoppedBy}` : ''}`,
      );
      if (result.depth === 0 || invocations.length >= 50) break;
      if (result.replayed === 0) throw new Error(`replay makes no progress: ${result.stoppedBy}`);
    }
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const dynamoCpu = processCpuSeconds(dynamo.pid) - dynamoCpuBefore;
    const vmCpu = processCpuSeconds(vm.pid) - vmCpuBefore;
    const requests = (await putRequests(vm)) - requestsBefore;
    const replayed = invocations.reduce((n, r) => n + r.replayed, 0);
    const writes = invocations.reduce((n, r) => n + r.writes, 0);
    const datapoints = invocations.reduce((n, r) => n + r.datapoints, 0);
    const rate = replayed / drainSeconds;
    const perRequest = replayed / requests;

    // Every datapoint back, once.
    const exported = await vm.seriesByKey('catchpoint[.].*');
    let samples = 0;
    let found = 0;
    let wrongValue = 0;
    for (const [key, series] of exported) {
      for (const [i, ts] of series.timestamps.entries()) {
        samples++;
        const want = expected.get(`${key}@${ts}`);
        if (want === undefined) continue;
        found++;
        const got = series.values[i]!;
        if (Math.abs(got - want) > Math.abs(want) * 1e-9) wrongValue++;
      }
    }

    const cpuPerRun = (cpu.user + cpu.system) / replayed;
    const perInvocation = rate * ((timeoutMs - 5500) / 1000);
    const outageMinutes = OUTAGE_RUNS / rate / 60;
    console.log(
      `\nDrain of ${drainRuns.length} spooled runs (${drainPoints} datapoints) into VictoriaMetrics, ` +
        `Node ${process.version}\n`,
    );
    console.log(
      table(
        ['figure', 'measured', 'target', ''],
        [
          [
            'drain rate',
            `${fixed(rate, 0)} runs/s`,
            `≥ ${TARGET_RUNS_PER_SECOND}`,
            verdict(rate >= TARGET_RUNS_PER_SECOND, 'UNDER'),
          ],
          [
            'runs per OpenTSDB request',
            `${fixed(perRequest)} (${requests} requests, ${writes} writes)`,
            `≥ ${TARGET_RUNS_PER_REQUEST}`,
            verdict(perRequest >= TARGET_RUNS_PER_REQUEST, 'UNDER'),
          ],
          ['yardstick: old replay (1 run per request)', `${fixed(oldReplayRate, 0)} runs/s`, '', ''],
          ['drain rate ÷ old replay', `${fixed(rate / oldReplayRate)}×`, '', ''],
          ['bare puts, 1 run per request, sequential', `${fixed(barePutRate, 0)} runs/s`, '', ''],
          ['drain rate ÷ bare puts', `${fixed(rate / barePutRate)}×`, '', ''],
          [
            'datapoints read back',
            `${found} of ${expected.size}, ${samples - found} extra, ${wrongValue} wrong`,
            'all, once',
            verdict(found === expected.size && samples === expected.size && wrongValue === 0, 'UNDER'),
          ],
          ['datapoints replayed (replay count)', `${datapoints} of ${drainPoints}`, '', ''],
          ['replay invocations', String(invocations.length), '', ''],
          [
            'replay CPU during the drain',
            `${fixed((cpu.user + cpu.system) / 1e6)} s in ${fixed(drainSeconds)} s, ${fixed(cpuPerRun, 0)} µs per run`,
            '',
            '',
          ],
          [
            'CPU of dynalite / VictoriaMetrics then',
            `${fixed(dynamoCpu)} s / ${fixed(vmCpu)} s (the machine has 2 cores)`,
            '',
            '',
          ],
          [
            'spooling (16 at a time, into dynalite)',
            `${fixed(drainRuns.length / spoolSeconds, 0)} runs/s`,
            '',
            '',
          ],
        ],
      ),
    );
    console.log(
      `\nOne-hour outage at 100 pushes/s = ${OUTAGE_RUNS.toLocaleString('en')} runs: at this rate ` +
        `${fixed(outageMinutes)} minutes of draining, ~${fixed(perInvocation, 0)} runs per ${timeoutMs / 1000} s ` +
        `invocation, ${Math.ceil(OUTAGE_RUNS / perInvocation)} invocations (one a minute).`,
    );
    if (proxy !== undefined && options.poison !== undefined) {
      const share = options.poison;
      const runs = await realisticRuns(options.runs, poisonedTestIds(share, 500_000));
      const spooledFrom = Date.now() - 3_600_000;
      let n = 0;
      await runConcurrently(runs, 16, async (run) => {
        await spool.save(run.runKey, run.points, spooledFrom + n++, Date.now() + 10_000);
      });
      const poisoned = await drainWithPoison(
        spool,
        runs,
        proxy.url,
        timeoutMs,
        OPENTSDB_TIMEOUT_MS,
        options.parallel === undefined ? {} : { parallelWrites: options.parallel },
      );
      printPoisonDrain(poisoned, share, runs.length, rate, {
        runsPerSecond: TARGET_RUNS_PER_SECOND,
        ratio: TARGET_POISON_RATIO,
      });
    }
    return 0;
  } finally {
    await proxy?.close();
    await vm.close();
    await dynamo.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`the drain benchmark failed: ${errorText(error)}`);
    process.exitCode = 1;
  },
);
