// `npm run load`: figures, not a test. Starts a real VictoriaMetrics and the local bridge (`npm start`, as a
// child process, so that the bridge has its own process and event loop as it would in production), drives
// sustained pushes at it over loopback keep-alive connections for a bounded time, prints throughput and
// latency next to their targets, then reads every series back from VictoriaMetrics and checks that each
// datapoint sent arrived. Exits non-zero only if data was lost (or nothing could be measured).
// `npm run load -- --help` lists the options.
//
// Every push is a fixture of test/fixtures/push with its own (test id, timestamp), so each one adds new
// points: test ids cycle over TESTS_PER_FIXTURE per fixture, and the timestamp moves on a second each cycle.

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { expectedDatapoints } from '../dev/expected-datapoints.js';
import { FIXTURE_NODES_FILE, pushFixture, pushFixtureNames } from '../dev/fixtures.js';
import { freePort } from '../dev/loopback.js';
import { readNodesFile } from '../dev/nodes-file.js';
import { seriesKey } from '../dev/series-key.js';
import {
  startVictoriaMetrics,
  type VictoriaMetrics,
  victoriaMetricsInstalled,
} from '../dev/victoria-metrics.js';
import { type MetricOptions, parseMetricNaming, parseMetricSets } from '../lambda/config.js';
import type { NodeRecord } from '../lambda/nodes/node-record.js';
import { integerOption } from './cli.js';
import { ascending, fixed, percentile, table, verdict } from './report.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PUSH_TOKEN = 'load-test-token';

const TARGET_PUSHES_PER_S = 2000;
const TARGET_P99_MS = 25;

/** Distinct test ids per fixture; fixture f uses 1_000_000 + f * 100_000 + (0 … TESTS_PER_FIXTURE - 1). */
const TESTS_PER_FIXTURE = 500;
/** How long one push may take before it counts as an error. */
const REQUEST_TIMEOUT_MS = 30_000;

// ------------------------------------------------------------------------------------------ the pushes

const ID_MARK = '987654321';
const TS_MARK = '88881231235959999';

/** A fixture as text with holes for the test id and the Catchpoint timestamp. */
interface PushTemplate {
  name: string;
  /** Text pieces; between two pieces comes the value named in `holes`. */
  pieces: string[];
  holes: ('id' | 'ts')[];
}

function makeTemplate(name: string): PushTemplate {
  const doc = JSON.parse(pushFixture(name)) as Record<string, unknown>;
  const setId = (holder: Record<string, unknown>): void => {
    holder.TestId = typeof holder.TestId === 'string' ? ID_MARK : Number(ID_MARK);
  };
  const details = doc.TestDetails as Record<string, unknown> | undefined;
  if (doc.TestId !== undefined) setId(doc);
  else if (details?.TestId !== undefined) setId(details);
  else throw new Error(`${name}: no TestId to vary`);
  const summary = doc.Summary as Record<string, unknown> | undefined;
  if (summary?.Timestamp === undefined) throw new Error(`${name}: no Summary.Timestamp to vary`);
  summary.Timestamp = TS_MARK;
  if (doc.TestRuntime !== undefined) doc.TestRuntime = TS_MARK;
  const parts = JSON.stringify(doc).split(new RegExp(`(${ID_MARK}|${TS_MARK})`));
  const pieces: string[] = [];
  const holes: ('id' | 'ts')[] = [];
  parts.forEach((part, i) => {
    if (i % 2 === 0) pieces.push(part);
    else holes.push(part === ID_MARK ? 'id' : 'ts');
  });
  return { name, pieces, holes };
}

function render(template: PushTemplate, testId: number, catchpointTime: string): string {
  let out = template.pieces[0]!;
  for (let i = 0; i < template.holes.length; i++) {
    out += (template.holes[i] === 'id' ? String(testId) : catchpointTime) + template.pieces[i + 1]!;
  }
  return out;
}

/** Epoch seconds → Catchpoint's `yyyyMMddHHmmssfff` (UTC). */
function catchpointTime(epochSeconds: number): string {
  return `${new Date(epochSeconds * 1000).toISOString().replace(/\D/g, '').slice(0, 14)}000`;
}

/** What push number `i` sends. */
interface PushPlan {
  fixture: number;
  testId: number;
  timestamp: number;
}

function plan(i: number, fixtures: number, baseSeconds: number): PushPlan {
  const fixture = i % fixtures;
  const round = Math.floor(i / fixtures);
  return {
    fixture,
    testId: 1_000_000 + fixture * 100_000 + (round % TESTS_PER_FIXTURE),
    timestamp: baseSeconds + Math.floor(round / TESTS_PER_FIXTURE),
  };
}

// ---------------------------------------------------------------------------------------------- HTTP

interface Reply {
  status: number;
  datapoints: number;
  spooled: number;
}

function postPush(agent: http.Agent, url: URL, body: string): Promise<Reply> {
  const bytes = Buffer.from(body);
  return new Promise((resolve) => {
    const request = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: `/push?token=${encodeURIComponent(PUSH_TOKEN)}`,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': bytes.length },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          let answer: { datapoints?: unknown; spooled?: unknown } = {};
          try {
            answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof answer;
          } catch {
            // counted by its status
          }
          resolve({
            status: response.statusCode ?? 0,
            datapoints: typeof answer.datapoints === 'number' ? answer.datapoints : 0,
            spooled: typeof answer.spooled === 'number' ? answer.spooled : 0,
          });
        });
        response.on('error', () => resolve({ status: 0, datapoints: 0, spooled: 0 }));
      },
    );
    request.setTimeout(REQUEST_TIMEOUT_MS, () => request.destroy(new Error('timed out')));
    request.on('error', () => resolve({ status: 0, datapoints: 0, spooled: 0 }));
    request.end(bytes);
  });
}

// ------------------------------------------------------------------------------------ the bridge child

interface Bridge {
  url: URL;
  child: ChildProcess;
  logFile: string;
  stop(): Promise<void>;
}

/** `npm start` as a child process: `node --import tsx dev/main.ts`, its log lines to a file. */
async function startBridge(dir: string, openTsdbUrl: string): Promise<Bridge> {
  const port = await freePort();
  const logFile = join(dir, 'bridge.log');
  const log = openSync(logFile, 'w');
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    OPENTSDB_URL: openTsdbUrl,
    NODES_FILE: FIXTURE_NODES_FILE,
    PUSH_TOKEN,
    // A push OpenTSDB could not take is spooled; replay it soon enough for the read-back to see it.
    REPLAY_INTERVAL_SECONDS: '5',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  // Loopback only: no node refresh from Catchpoint's API.
  for (const name of ['CATCHPOINT_API_KEY', 'CATCHPOINT_CLIENT_ID', 'CATCHPOINT_CLIENT_SECRET'])
    delete env[name];
  const child = spawn(process.execPath, ['--import', 'tsx', join('dev', 'main.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const url = new URL(`http://127.0.0.1:${port}`);
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`the bridge exited with ${child.exitCode}:\n${tail(logFile, 20)}`);
    }
    try {
      const response = await fetch(new URL('/health', url), { signal: AbortSignal.timeout(1000) });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 60_000) {
      await stop();
      throw new Error(`the bridge did not answer /health within 60 s:\n${tail(logFile, 20)}`);
    }
    await sleep(100);
  }
  return { url, child, logFile, stop };
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// --------------------------------------------------------------------------------------- CPU accounting

/** User and system CPU seconds of a process, from /proc (Linux); undefined elsewhere. */
function procCpuSeconds(pid: number | undefined): { user: number; system: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state(0) ppid(1) … utime(11) stime(12), in clock ticks (USER_HZ, 100 on Linux).
    return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------------------------ main

const USAGE = `npm run load -- [options]

Starts VictoriaMetrics and the local bridge (\`npm start\` as a child process), drives pushes at the bridge
over loopback keep-alive connections, prints throughput, latency and CPU next to the targets, then reads
every point back from VictoriaMetrics. Exits 1 if data was lost, 2 if nothing could be measured.

  --seconds N      measured time in seconds, 1–600 (default 20)
  --concurrency N  keep-alive connections, 1–1024 (default 32)
  --warmup N       seconds of pushes before the measurement, 0–60 (default 2)
  -h, --help       this text`;

interface Options {
  seconds: number;
  concurrency: number;
  warmup: number;
}

/** The options, or undefined when --help was asked for. */
function readOptions(): Options | undefined {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '20' },
      concurrency: { type: 'string', default: '32' },
      warmup: { type: 'string', default: '2' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  return {
    seconds: integerOption(values.seconds, 'seconds', 1, 600),
    concurrency: integerOption(values.concurrency, 'concurrency', 1, 1024),
    warmup: integerOption(values.warmup, 'warmup', 0, 60),
  };
}

async function main(): Promise<number> {
  const options = readOptions();
  if (options === undefined) {
    console.log(USAGE);
    return 0;
  }
  if (!victoriaMetricsInstalled()) {
    console.error(
      'victoria-metrics is not installed (apt-get install -y victoria-metrics): nothing to measure',
    );
    return 2;
  }
  const templates = pushFixtureNames().map(makeTemplate);
  // An hour back, so that every timestamp the run can reach is in the past (and accepted).
  const baseSeconds = Math.floor(Date.now() / 1000) - 3600;

  let stopRequested = false;
  const onSignal = (): void => {
    stopRequested = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const dir = mkdtempSync(join(tmpdir(), 'bridge-load-'));
  let vm: VictoriaMetrics | undefined;
  let bridge: Bridge | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  try {
    vm = await startVictoriaMetrics();
    const victoria = vm;
    bridge = await startBridge(dir, vm.openTsdbUrl);
    const running = bridge;
    const vmPid = vm.pid;
    console.log(
      `load: node ${process.version}; bridge = \`npm start\` as a child process (pid ${running.child.pid}), ` +
        `VictoriaMetrics ${vm.openTsdbUrl}; ${options.concurrency} keep-alive connections, ` +
        `${options.warmup} s warm-up + ${options.seconds} s measured; ${templates.length} fixtures round-robin.`,
    );

    // Results by push number; a push's number also fixes what it sent (see plan()).
    const statuses: number[] = [];
    const answered: number[] = [];
    const spooled: number[] = [];
    const latencies: number[] = [];
    const measured: boolean[] = [];
    let next = 0;

    const startAt = performance.now();
    const measureFrom = startAt + options.warmup * 1000;
    const endAt = measureFrom + options.seconds * 1000;
    let measuredStart = Number.NaN;
    type Cpu = { user: number; system: number } | undefined;
    let cpuBefore: { bridge: Cpu; vm: Cpu; self: NodeJS.CpuUsage } | undefined;
    const worker = async (): Promise<void> => {
      while (!stopRequested && performance.now() < endAt && running.child.exitCode === null) {
        const i = next++;
        const p = plan(i, templates.length, baseSeconds);
        const body = render(templates[p.fixture]!, p.testId, catchpointTime(p.timestamp));
        const t0 = performance.now();
        if (t0 >= measureFrom && cpuBefore === undefined) {
          measuredStart = t0;
          cpuBefore = {
            bridge: procCpuSeconds(running.child.pid),
            vm: procCpuSeconds(vmPid),
            self: process.cpuUsage(),
          };
        }
        const reply = await postPush(agent, running.url, body);
        const t1 = performance.now();
        statuses[i] = reply.status;
        answered[i] = reply.datapoints;
        spooled[i] = reply.spooled;
        latencies[i] = t1 - t0;
        measured[i] = t0 >= measureFrom;
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const measuredEnd = performance.now();
    const cpuAfter = {
      bridge: procCpuSeconds(running.child.pid),
      vm: procCpuSeconds(vmPid),
      self: process.cpuUsage(cpuBefore?.self),
    };
    const total = next;

    // ---- throughput and latency of the measured window
    const window: number[] = [];
    let errors = 0;
    let warmupErrors = 0;
    const errorStatuses = new Map<number, number>();
    for (let i = 0; i < total; i++) {
      if (statuses[i] !== 200) {
        if (measured[i]) errors++;
        else warmupErrors++;
        errorStatuses.set(statuses[i]!, (errorStatuses.get(statuses[i]!) ?? 0) + 1);
      }
      if (measured[i]) window.push(latencies[i]!);
    }
    const sorted = ascending(window);
    const seconds = (measuredEnd - measuredStart) / 1000;
    const rate = sorted.length / seconds;
    const p50 = percentile(sorted, 0.5);
    const p99 = percentile(sorted, 0.99);
    const max = sorted.at(-1) ?? Number.NaN;
    console.log('');
    console.log(
      table(
        ['measured', 'pushes', 'seconds', 'pushes/s', 'p50 ms', 'p99 ms', 'max ms', 'non-200', 'targets'],
        [
          [
            `${options.concurrency} connections`,
            String(sorted.length),
            fixed(seconds),
            fixed(rate, 0),
            fixed(p50, 2),
            fixed(p99, 2),
            fixed(max),
            String(errors),
            `≥ ${TARGET_PUSHES_PER_S}/s: ${verdict(rate >= TARGET_PUSHES_PER_S, 'UNDER')}; ` +
              `p99 ≤ ${TARGET_P99_MS} ms: ${verdict(p99 <= TARGET_P99_MS)}`,
          ],
        ],
      ),
    );
    if (warmupErrors > 0 || errors > 0) {
      console.log(
        `non-200 answers by status (0 = no answer): ${[...errorStatuses].map(([s, n]) => `${s}×${n}`).join(', ')}` +
          (warmupErrors > 0 ? ` (${warmupErrors} during the warm-up)` : ''),
      );
    }
    if (cpuBefore && seconds > 0) {
      const share = (before: Cpu, after: Cpu): string => {
        if (before === undefined || after === undefined) return 'n/a';
        const user = after.user - before.user;
        const system = after.system - before.system;
        const used = user + system;
        return (
          `${used.toFixed(1)} s (user ${user.toFixed(1)}, sys ${system.toFixed(1)}) = ` +
          `${((100 * used) / seconds).toFixed(0)}% of a core, ${((used * 1e6) / sorted.length).toFixed(0)} µs/push`
        );
      };
      const self = { user: cpuAfter.self.user / 1e6, system: cpuAfter.self.system / 1e6 };
      console.log(`CPU in the measured window (${os.cpus().length} cores):`);
      console.log(`  bridge           ${share(cpuBefore.bridge, cpuAfter.bridge)}`);
      console.log(`  VictoriaMetrics  ${share(cpuBefore.vm, cpuAfter.vm)}`);
      console.log(`  load generator   ${share({ user: 0, system: 0 }, self)}`);
    }

    // ---- read back: every point of every answered push, by series and timestamp
    const nodes = new Map<number, NodeRecord>(
      (await readNodesFile(FIXTURE_NODES_FILE)).map((n) => [n.nodeId, n]),
    );
    const metricOptions: MetricOptions = {
      sets: parseMetricSets(process.env.METRIC_SETS),
      naming: parseMetricNaming(process.env.METRIC_NAMING),
    };
    const seriesOf = new Map<string, string[]>();
    const expected = new Map<string, number[]>();
    let expectedCount = 0;
    let reportedCount = 0;
    let spooledCount = 0;
    let mismatched = 0;
    for (let i = 0; i < total; i++) {
      if (statuses[i] !== 200) continue;
      const p = plan(i, templates.length, baseSeconds);
      const key = `${p.fixture}:${p.testId}`;
      let series = seriesOf.get(key);
      if (!series) {
        const body = render(templates[p.fixture]!, p.testId, catchpointTime(p.timestamp));
        const points = expectedDatapoints(body, (id) => nodes.get(id), metricOptions);
        if (points[0]?.timestamp !== p.timestamp) {
          throw new Error(`${templates[p.fixture]!.name}: the pushed timestamp did not come through`);
        }
        series = points.map((point) => seriesKey(point.metric, point.tags));
        seriesOf.set(key, series);
      }
      for (const id of series) {
        let stamps = expected.get(id);
        if (!stamps) {
          stamps = [];
          expected.set(id, stamps);
        }
        stamps.push(p.timestamp * 1000);
      }
      expectedCount += series.length;
      reportedCount += answered[i]! + spooled[i]!;
      spooledCount += spooled[i]!;
      if (answered[i]! + spooled[i]! !== series.length) mismatched++;
    }

    // Spooled points reach VictoriaMetrics only with the next replay: wait for them (bounded).
    const readBack = async (): Promise<{ found: number; unexpected: number; series: number }> => {
      const exported = await victoria.seriesByKey('catchpoint[.].*');
      let found = 0;
      let unexpected = 0;
      for (const [key, s] of exported) {
        const want = new Set(expected.get(key) ?? []);
        for (const t of s.timestamps) {
          if (want.has(t)) found++;
          else unexpected++;
        }
      }
      return { found, unexpected, series: exported.size };
    };
    let back = await readBack();
    for (let wait = 0; spooledCount > 0 && back.found < expectedCount && wait < 6; wait++) {
      await sleep(5000);
      back = await readBack();
    }
    const lost = expectedCount - back.found;
    console.log('');
    console.log(
      table(
        [
          'read back',
          'pushes 200',
          'points expected',
          'points found',
          'lost',
          'unexpected',
          'series',
          'spooled',
        ],
        [
          [
            'VictoriaMetrics /api/v1/export',
            String(statuses.filter((s) => s === 200).length),
            String(expectedCount),
            String(back.found),
            String(lost),
            String(back.unexpected),
            String(back.series),
            String(spooledCount),
          ],
        ],
      ),
    );
    if (reportedCount !== expectedCount || mismatched > 0) {
      console.log(
        `note: the bridge's answers count ${reportedCount} points (${mismatched} pushes differ from the expected count)`,
      );
    }

    // ---- what the bridge logged besides one INFO line per push
    const levels = new Map<string, number>();
    const notable: string[] = [];
    for (const line of readFileSync(running.logFile, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const level = /"level":"([A-Z]+)"/.exec(line)?.[1] ?? 'other';
      levels.set(level, (levels.get(level) ?? 0) + 1);
      if (level !== 'INFO' && level !== 'DEBUG' && notable.length < 5) notable.push(line.slice(0, 300));
    }
    console.log(`\nbridge log: ${[...levels].map(([l, n]) => `${l} ${n}`).join(', ')}`);
    for (const line of notable) console.log(`  ${line}`);

    console.log(
      lost > 0
        ? `\nDATA LOST: ${lost} of ${expectedCount} points are not in VictoriaMetrics`
        : '\nnothing lost',
    );
    return lost > 0 ? 1 : 0;
  } finally {
    agent.destroy();
    await bridge?.stop();
    await vm?.close();
    rmSync(dir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error('load failed:', error instanceof Error ? error.message : error);
  process.exitCode = 2;
}
