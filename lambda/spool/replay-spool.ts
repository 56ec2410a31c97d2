import type { Datapoint } from '../opentsdb/datapoint.js';
import type { DatapointSink } from '../opentsdb/writer.js';
import type { Log } from '../shared/log.js';
import type { SpoolEntryHead } from './dynamo-spool.js';

/** How long one entry may take, retries included, before replay gives up until its next run. */
export const ENTRY_BUDGET_MS = 5000;

/** The spool as replay reads it (DynamoSpool, or a stand-in). */
export interface SpoolStore {
  heads(): Promise<SpoolEntryHead[]>;
  points(runKey: string): Promise<Datapoint[] | undefined>;
  remove(runKey: string): Promise<void>;
}

export interface ReplayResult {
  /** Entries written to OpenTSDB and deleted. */
  replayed: number;
  datapoints: number;
  /** Points OpenTSDB refused for good; their entries are deleted, since a resend cannot help. */
  rejected: number;
  /** Entries still in the spool (at least this many when the scan stopped at its limit). */
  depth: number;
  /** Age of the oldest entry left, in seconds (0 when the spool is empty). */
  oldestAgeSeconds: number;
  /** Why replay stopped before the spool was empty, if it did. */
  stoppedBy?: string;
}

/**
 * Drains the spool oldest first. An entry is deleted only after OpenTSDB took all of it; the first entry
 * that cannot be written stops the run (OpenTSDB is still away: the rest would fail too). A crash between
 * write and delete replays that entry again, which is harmless: its points serialise to the same bytes.
 */
export async function replaySpool(
  spool: SpoolStore,
  sink: DatapointSink,
  options: { deadlineMs: number; now?: () => number; log: Log; entryBudgetMs?: number },
): Promise<ReplayResult> {
  const now = options.now ?? Date.now;
  // One entry gets a short try: if OpenTSDB is still away, the next scheduled run tries again.
  const entryBudgetMs = options.entryBudgetMs ?? ENTRY_BUDGET_MS;
  const heads = await spool.heads();
  const result: ReplayResult = {
    replayed: 0,
    datapoints: 0,
    rejected: 0,
    depth: heads.length,
    oldestAgeSeconds: 0,
  };
  let next = 0;
  for (; next < heads.length; next++) {
    if (now() >= options.deadlineMs) {
      result.stoppedBy = 'out of time';
      break;
    }
    const head = heads[next]!;
    const points = await spool.points(head.runKey);
    if (points === undefined) {
      result.depth--;
      continue;
    }
    const outcome = await sink.write(points, Math.min(options.deadlineMs, now() + entryBudgetMs));
    if (outcome.pending.length > 0) {
      result.stoppedBy = outcome.lastError ?? 'OpenTSDB did not take the datapoints';
      break;
    }
    await spool.remove(head.runKey);
    result.replayed++;
    result.depth--;
    result.datapoints += outcome.written;
    result.rejected += outcome.rejected.length;
  }
  const oldest = heads[next];
  if (oldest && result.depth > 0)
    result.oldestAgeSeconds = Math.max(0, Math.floor((now() - oldest.spooledAtMs) / 1000));
  if (result.stoppedBy) options.log.warn('spool replay stopped', { ...result });
  return result;
}
