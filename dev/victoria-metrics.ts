// Debian's VictoriaMetrics on loopback: a real store behind an OpenTSDB HTTP API, for the end-to-end test and
// `npm run load`.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './loopback.js';
import { seriesKey } from './series-key.js';

export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

export interface VictoriaMetrics {
  /** Base URL of its OpenTSDB HTTP listener (`/api/put`). */
  openTsdbUrl: string;
  /** Base URL of its own HTTP API. */
  httpUrl: string;
  /** Its process id, for CPU accounting. */
  pid: number | undefined;
  /** Flushes buffered rows and exports every series whose name matches `nameRegex`. */
  exportSeries(nameRegex: string): Promise<ExportedSeries[]>;
  /** The same, keyed by series (seriesKey of the metric and its tags), as the tests compare them. */
  seriesByKey(nameRegex: string): Promise<Map<string, { values: number[]; timestamps: number[] }>>;
  close(): Promise<void>;
}

const BINARY = process.env.VICTORIA_METRICS_BIN ?? 'victoria-metrics';

export function victoriaMetricsInstalled(): boolean {
  return spawnSync(BINARY, ['-version'], { stdio: 'ignore' }).status === 0;
}

/**
 * The `skip` option of an end-to-end suite: false when VictoriaMetrics is installed; without it, a reason
 * for a developer, and an error under CI, which installs it and must run the suite.
 */
export function skipWithoutVictoriaMetrics(): false | string {
  if (victoriaMetricsInstalled()) return false;
  if (process.env.CI) throw new Error('victoria-metrics is not installed: CI must run the end-to-end tests');
  return 'victoria-metrics not installed (apt-get install -y victoria-metrics)';
}

/** Starts Debian's victoria-metrics on loopback with a throw-away data directory. */
export async function startVictoriaMetrics(): Promise<VictoriaMetrics> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vm-e2e-'));
  const httpPort = await freePort();
  const tsdbPort = await freePort();
  const child: ChildProcess = spawn(
    BINARY,
    [
      `-storageDataPath=${dataDir}`,
      `-httpListenAddr=127.0.0.1:${httpPort}`,
      `-opentsdbHTTPListenAddr=127.0.0.1:${tsdbPort}`,
      // Without it VictoriaMetrics keeps identical samples twice; OpenTSDB overwrites them.
      '-dedup.minScrapeInterval=1ms',
      '-retentionPeriod=100y',
      '-loggerLevel=ERROR',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const openTsdbUrl = `http://127.0.0.1:${tsdbPort}`;
  const close = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`victoria-metrics exited with ${child.exitCode}`);
    try {
      const [a, b] = await Promise.all([
        fetch(`${httpUrl}/health`),
        fetch(`${openTsdbUrl}/health`).catch(() => null),
      ]);
      if (a.ok && b !== null) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 15_000) {
      await close();
      throw new Error('victoria-metrics did not start within 15 s');
    }
    await sleep(50);
  }
  const vm: VictoriaMetrics = {
    openTsdbUrl,
    httpUrl,
    pid: child.pid,
    close,
    async exportSeries(nameRegex) {
      await fetch(`${httpUrl}/internal/force_flush`);
      const query = new URLSearchParams({ 'match[]': `{__name__=~"${nameRegex}"}`, start: '0' });
      const response = await fetch(`${httpUrl}/api/v1/export?${query}`);
      if (!response.ok) throw new Error(`export failed: HTTP ${response.status} ${await response.text()}`);
      const text = await response.text();
      return text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as ExportedSeries);
    },
    async seriesByKey(nameRegex) {
      const series = new Map<string, { values: number[]; timestamps: number[] }>();
      for (const { metric: labels, values, timestamps } of await vm.exportSeries(nameRegex)) {
        const { __name__: metric, ...tags } = labels;
        series.set(seriesKey(metric ?? '', tags), { values, timestamps });
      }
      return series;
    },
  };
  return vm;
}
