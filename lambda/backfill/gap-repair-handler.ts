// The scheduled gap repair's factory (EventBridge schedule → Catchpoint's failed webhook deliveries → spool).
// Every period it lists the account's tests, asks Catchpoint for the runs of its window whose webhook
// delivery failed, turns each into exactly the datapoints its push would have given (the push path's
// toDatapoints, its node tags from the nodes table, its run key) and spools each run as one item, which the
// replay delivers. Catchpoint is read in full before anything is spooled: a Catchpoint failure spools
// nothing. Each spool item is one whole run, so a run that fails half-way leaves only whole runs, and its
// retry spooling some of them again is harmless: replay writes a run's points with the same bytes each time.
import type { ScheduledEvent } from 'aws-lambda';
import type { GapRepairConfig } from '../config.js';
import { isExpired, type NodeRecord } from '../nodes/node-record.js';
import type { Datapoint } from '../opentsdb/datapoint.js';
import { runKey, type Spool } from '../push/push-service.js';
import { errorText } from '../shared/error-text.js';
import { type InvocationTools, type LambdaHandler, reported, wrapInvocation } from '../shared/invocation.js';
import { MetricName, type MetricsRecorder, MetricUnit } from '../shared/observability.js';
import { startRunDeadline } from '../shared/run-deadline.js';
import type { TestResult } from '../webhook/test-result.js';
import { type RepairWindow, repairWindow, scheduledTime } from './repair-window.js';
import { runDatapoints } from './window-runs.js';

export const GAP_REPAIR_DONE = 'gap repair done';
export const GAP_REPAIR_FAILED = 'gap repair failed';

/** What one period's question to Catchpoint came to. */
export interface FailedRuns {
  /** The runs whose webhook delivery failed, as the push path reads a push. */
  runs: TestResult[];
  /** Catchpoint metric name → how often a value under it could not be mapped (never guessed). */
  unmapped: ReadonlyMap<string, number>;
  /** Answer items that were no usable run (no test, node or time). */
  unreadable: number;
  /** Runs whose answer said nothing of success or failure: spooled as succeeded (nothing says otherwise). */
  statusUnknown: number;
  /** Requests made to Catchpoint for this answer. */
  requests: number;
  /** Request windows that still had more at the narrowest width: what they held is all that was read. */
  truncated: string[];
}

/** Catchpoint's REST API as the gap repair uses it. */
export interface FailedRunSource {
  /** Ids of the account's tests; `requests` is how many requests listing them took. */
  listTests(signal: AbortSignal): Promise<{ testIds: number[]; requests: number }>;
  /** The runs of these tests in the window whose webhook delivery failed (`availabilityFilter=8`). */
  failedRuns(testIds: readonly number[], window: RepairWindow, signal: AbortSignal): Promise<FailedRuns>;
}

export interface GapRepairDeps extends InvocationTools {
  metrics: MetricsRecorder;
  config: GapRepairConfig;
  /**
   * The source for the stored credentials, made once and kept across invocations (made again after a failure
   * to make it, or after Catchpoint refused the credentials). `deadline` is when Catchpoint requests must stop.
   */
  connect(signal: AbortSignal, deadline: () => number | undefined): Promise<FailedRunSource>;
  nodes: { scanAll(signal?: AbortSignal): Promise<NodeRecord[]> };
  spool: Spool;
  /** The clock of the windows and of the spool items' times; the deadlines always follow the real clock. */
  now?: () => number;
}

export interface GapRepairResult {
  from: string;
  to: string;
  tests: number;
  runsSpooled: number;
  runsSkipped: number;
  datapoints: number;
  /** Runs from nodes the nodes table does not know: tagged from the run's own node name, as a push is. */
  unknownNodes: number;
  unmappedMetricNames: Record<string, number>;
  catchpointRequests: number;
  /** Request windows read only in part (see FailedRuns.truncated). */
  truncatedWindows: number;
  /** Runs spooled as succeeded because their answer had no availability or failure metric. */
  statusUnknown: number;
}

export type GapRepairHandler = LambdaHandler<ScheduledEvent | undefined, GapRepairResult>;

/** Time kept after the Catchpoint requests for the nodes table, the spool writes and the log line. */
const RESERVE_AFTER_FETCH_MS = 60_000;
/** Spool writes in flight at once: a few, so a period's runs are spooled in seconds without a burst. */
const SPOOL_CONCURRENCY = 8;

/** An error that says which step failed; its cause is the original error. */
export class GapRepairError extends Error {
  override name = 'GapRepairError';
}

export function createGapRepairHandler(deps: GapRepairDeps): GapRepairHandler {
  const { config, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  let source: Promise<FailedRunSource> | undefined;
  let fetchDeadlineMs: number | undefined;

  return wrapInvocation(deps, async (event, context) => {
    // The deadlines follow the real clock, whatever `now` says.
    const deadline = startRunDeadline(Date.now(), context.getRemainingTimeInMillis(), RESERVE_AFTER_FETCH_MS);
    fetchDeadlineMs = deadline.fetchDeadlineMs;
    const window = repairWindow(scheduledTime(event, now()), config.windowMinutes, config.settleMinutes);
    const span = { from: new Date(window.fromMs).toISOString(), to: new Date(window.toMs).toISOString() };
    let requests = 0;
    try {
      const step = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
        try {
          return await work();
        } catch (error) {
          throw new GapRepairError(`${what}: ${errorText(error)}`, { cause: error });
        }
      };
      source ??= deps.connect(deadline.signal, () => fetchDeadlineMs);
      const catchpoint = await step(
        'no usable Catchpoint credentials',
        () => source as Promise<FailedRunSource>,
      );
      const tests = await step("could not list the account's tests", () =>
        catchpoint.listTests(deadline.signal),
      );
      requests += tests.requests;
      const answer =
        tests.testIds.length === 0
          ? {
              runs: [],
              unmapped: new Map<string, number>(),
              unreadable: 0,
              statusUnknown: 0,
              requests: 0,
              truncated: [],
            }
          : await step('could not read the failed deliveries', () =>
              catchpoint.failedRuns(tests.testIds, window, deadline.signal),
            );
      requests += answer.requests;
      if (answer.truncated.length > 0) {
        logger.warn('Catchpoint had more runs than one answer holds, even for one test and a minute', {
          windows: answer.truncated.slice(0, 20),
        });
      }
      const nodes = await step('could not read the nodes table', () => deps.nodes.scanAll(deadline.signal));

      const { spooled, skipped, datapoints, unknownNodes } = await spoolRuns(
        answer.runs,
        // As the push path's node cache: an expired record is no record (the run is tagged from its own name).
        new Map(nodes.filter((n) => !isExpired(n, now())).map((n) => [n.nodeId, n])),
        deps,
        now(),
        deadline.endAtMs,
      );
      const unmappedCount = [...answer.unmapped.values()].reduce((sum, n) => sum + n, 0);
      const result: GapRepairResult = {
        ...span,
        tests: tests.testIds.length,
        runsSpooled: spooled,
        runsSkipped: skipped + answer.unreadable,
        datapoints,
        unknownNodes,
        unmappedMetricNames: Object.fromEntries(answer.unmapped),
        catchpointRequests: requests,
        truncatedWindows: answer.truncated.length,
        statusUnknown: answer.statusUnknown,
      };
      metrics.addMetric(MetricName.RunsBackfilled, MetricUnit.Count, result.runsSpooled);
      metrics.addMetric(MetricName.RunsBackfillSkipped, MetricUnit.Count, result.runsSkipped);
      metrics.addMetric(MetricName.DatapointsBackfilled, MetricUnit.Count, datapoints);
      metrics.addMetric(MetricName.UnmappedMetricNames, MetricUnit.Count, unmappedCount);
      metrics.addMetric(MetricName.CatchpointRequests, MetricUnit.Count, requests);
      logger.info(GAP_REPAIR_DONE, { ...result });
      return result;
    } catch (error) {
      if (isCredentialFailure(error)) source = undefined;
      metrics.addMetric(MetricName.BackfillFailures, MetricUnit.Count, 1);
      metrics.addMetric(MetricName.CatchpointRequests, MetricUnit.Count, requests);
      logger.error(GAP_REPAIR_FAILED, { ...span, error: errorText(error) });
      throw reported(error);
    } finally {
      deadline.dispose();
    }
  });
}

/**
 * Credentials that could not be read, or that Catchpoint refused: read the parameter again next time (it may
 * have been rotated).
 */
function isCredentialFailure(error: unknown): boolean {
  if (!(error instanceof GapRepairError)) return false;
  if (error.message.startsWith('no usable Catchpoint credentials')) return true;
  const cause = error.cause as { kind?: unknown } | undefined;
  return cause?.kind === 'auth';
}

interface SpoolTally {
  spooled: number;
  skipped: number;
  datapoints: number;
  unknownNodes: number;
}

/**
 * Each run's datapoints, as the push path makes them, spooled under the push path's run key; a run key seen
 * before in this answer is skipped. Throws (after the writes in flight settle) when a write fails.
 */
async function spoolRuns(
  runs: readonly TestResult[],
  nodes: ReadonlyMap<number, NodeRecord>,
  deps: GapRepairDeps,
  nowMs: number,
  deadlineMs: number,
): Promise<SpoolTally> {
  const tally: SpoolTally = { spooled: 0, skipped: 0, datapoints: 0, unknownNodes: 0 };
  const seen = new Set<string>();
  const work: { key: string; points: Datapoint[] }[] = [];
  for (const result of runs) {
    const node = nodes.get(result.nodeId);
    // The core's reading of a raw answer keeps only runs with a timestamp.
    const points = runDatapoints(result, node, deps.config.metrics);
    const key = runKey(result, points[0]?.timestamp ?? result.timestamp ?? 0);
    if (seen.has(key) || points.length === 0) {
      tally.skipped++;
      continue;
    }
    seen.add(key);
    if (node === undefined) tally.unknownNodes++;
    work.push({ key, points });
  }
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < work.length) {
      const item = work[next++]!;
      try {
        await deps.spool.save(item.key, item.points, nowMs, deadlineMs);
        tally.spooled++;
        tally.datapoints += item.points.length;
      } catch (error) {
        failure ??= new GapRepairError(
          `could not spool run ${item.key} (${tally.spooled} of ${work.length} runs spooled, each whole): ${errorText(error)}`,
          { cause: error },
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SPOOL_CONCURRENCY, work.length) }, worker));
  if (failure !== undefined) throw failure;
  return tally;
}
