// The backfill loop: window by window, oldest first — read the runs, leave out those OpenTSDB holds, write
// the others as the push path would, confirm, checkpoint. Everything it talks to is injected, so tests run
// it against the stand-ins in-process as well as through the command.

import type { RawWindow } from '../../lambda/backfill/request-plan.js';
import { windowKey } from '../../lambda/backfill/request-plan.js';
import {
  addCounts,
  type RawSource,
  readWindowRuns,
  runDatapoints,
  runIdentity,
} from '../../lambda/backfill/window-runs.js';
import type { MetricOptions } from '../../lambda/config.js';
import { statusMetric } from '../../lambda/metrics/metric-names.js';
import type { NodeRecord } from '../../lambda/nodes/node-record.js';
import type { Datapoint } from '../../lambda/opentsdb/datapoint.js';
import type { DatapointSink } from '../../lambda/opentsdb/writer.js';
import { errorText } from '../../lambda/shared/error-text.js';
import type { Checkpoint } from './checkpoint.js';
import type { Progress } from './progress.js';

export interface BackfillDeps {
  source: RawSource;
  windows: readonly RawWindow[];
  failedDeliveries: boolean;
  dimensionTypeIds?: { test: ReadonlySet<number>; node: ReadonlySet<number> };
  nodes: (nodeId: number) => NodeRecord | undefined;
  metrics: MetricOptions;
  /** The runs of a test OpenTSDB holds in [startS, endS); undefined: nothing is asked (a dry run without OpenTSDB). */
  stored: ((testId: number, startS: number, endS: number) => Promise<Set<string>>) | undefined;
  sink: DatapointSink;
  /** Time one window's write may take, retries included. */
  writeBudgetMs: number;
  /** Undefined: nothing is recorded (a dry run). */
  checkpoint: Checkpoint | undefined;
  progress: Progress;
  /** Asked between windows: true once the operator asked to stop (Ctrl-C). */
  stopRequested: () => boolean;
  now?: () => number;
}

export interface BackfillReport {
  windowsTotal: number;
  /** Finished by an earlier run (the checkpoint). */
  windowsAlreadyDone: number;
  windowsDone: number;
  requests: number;
  runsRead: number;
  runsWritten: number;
  runsSkipped: number;
  datapoints: number;
  rejected: number;
  unknownNodeRuns: number;
  statusUnknown: number;
  unreadable: number;
  truncated: string[];
  unmapped: Map<string, number>;
  /** Why the backfill stopped before the end. */
  stopped?: { reason: 'interrupted' } | { reason: 'failed'; message: string; window: string };
}

/** Runs the backfill to the end, to a stop request, or to the first failure (reported, not thrown). */
export async function runBackfill(deps: BackfillDeps): Promise<BackfillReport> {
  const now = deps.now ?? Date.now;
  const report: BackfillReport = {
    windowsTotal: deps.windows.length,
    windowsAlreadyDone: 0,
    windowsDone: 0,
    requests: 0,
    runsRead: 0,
    runsWritten: 0,
    runsSkipped: 0,
    datapoints: 0,
    rejected: 0,
    unknownNodeRuns: 0,
    statusUnknown: 0,
    unreadable: 0,
    truncated: [],
    unmapped: new Map(),
  };
  const pending = deps.windows.filter((w) => !deps.checkpoint?.has(windowKey(w)));
  report.windowsAlreadyDone = deps.windows.length - pending.length;
  deps.progress.start(deps.windows.length, report.windowsAlreadyDone);
  try {
    for (const window of pending) {
      if (deps.stopRequested()) {
        report.stopped = { reason: 'interrupted' };
        break;
      }
      try {
        await backfillWindow(deps, window, report, now);
      } catch (error) {
        report.stopped = { reason: 'failed', message: errorText(error), window: windowKey(window) };
        break;
      }
      deps.checkpoint?.markDone(windowKey(window));
      report.windowsDone++;
      deps.progress.update(report.windowsAlreadyDone + report.windowsDone, report);
    }
  } finally {
    deps.progress.stop();
  }
  return report;
}

async function backfillWindow(
  deps: BackfillDeps,
  window: RawWindow,
  report: BackfillReport,
  now: () => number,
) {
  const read = await readWindowRuns(deps.source, window, {
    failedDeliveries: deps.failedDeliveries,
    dimensionTypeIds: deps.dimensionTypeIds,
  });
  report.requests += read.requests;
  report.runsRead += read.runs.length;
  report.unreadable += read.unreadable;
  report.statusUnknown += read.statusUnknown;
  report.truncated.push(...read.truncated);
  addCounts(report.unmapped, read.unmapped);
  if (read.runs.length === 0) return;

  const stored = new Set<string>();
  if (deps.stored) {
    const startS = Math.ceil(window.startMs / 1000);
    const endS = Math.ceil(window.endMs / 1000);
    for (const testId of new Set(read.runs.map((run) => run.testId))) {
      for (const key of await deps.stored(testId, startS, endS)) stored.add(key);
    }
  }
  // Each run's status.by_node point is what says "this run is stored" (stored-runs.ts): those go in a
  // second write, only once every other point of the window is confirmed, so a run is never marked
  // stored while part of it is missing.
  const body: Datapoint[] = [];
  const markers: Datapoint[] = [];
  const marker = statusMetric('node');
  let written = 0;
  for (const run of read.runs) {
    if (stored.has(runIdentity(run, run.timestamp!))) {
      report.runsSkipped++;
      continue;
    }
    const node = deps.nodes(run.nodeId);
    if (node === undefined) report.unknownNodeRuns++;
    for (const point of runDatapoints(run, node, deps.metrics)) {
      if (point.metric === marker || point.metric.startsWith(`${marker}.`)) markers.push(point);
      else body.push(point);
    }
    written++;
  }
  await write(deps, body, window, report, now);
  await write(deps, markers, window, report, now);
  report.runsWritten += written;
}

async function write(
  deps: BackfillDeps,
  points: Datapoint[],
  window: RawWindow,
  report: BackfillReport,
  now: () => number,
): Promise<void> {
  if (points.length === 0) return;
  const outcome = await deps.sink.write(points, now() + deps.writeBudgetMs);
  report.datapoints += outcome.written;
  report.rejected += outcome.rejected.length;
  if (outcome.pending.length > 0) {
    throw new Error(
      `OpenTSDB did not confirm ${outcome.pending.length} datapoints of ${windowKey(window)}: ${outcome.lastError ?? 'unknown'}`,
    );
  }
}
