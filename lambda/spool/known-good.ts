import type { Datapoint } from '../opentsdb/datapoint.js';
import { errorText } from '../shared/error-text.js';
import type { Log } from '../shared/log.js';
import type { SpoolStore } from './spool-store.js';
import { decodePoints, type SpooledRun } from './spooled-run.js';

/** Known-good probes in one replay at most (each lets the runs failed before it be sent apart again). */
const MAX_PROBES = 6;

/**
 * The run a replay sends again, identical, to see whether OpenTSDB still stores anything: one it stored
 * whole in this replay, or else the reference an earlier replay kept in the spool (REFERENCE_KEY), so that
 * a replay holding nothing but poison (the healthy runs drained before) still has evidence. Each replay
 * that stored a run keeps the smallest such run as the next reference: at most one small write.
 */
export class KnownGood {
  private points: Datapoint[] | undefined;
  private referenceRead = false;
  private body: Uint8Array | undefined;
  private probes = 0;
  private failed = false;

  constructor(
    private readonly spool: SpoolStore,
    private readonly log: Log,
  ) {}

  /** A run OpenTSDB stored whole (no point refused) in this replay. */
  stored(run: { stored: SpooledRun; points: Datapoint[] }): void {
    this.points = run.points;
    const { body } = run.stored;
    if (this.body === undefined || body.length < this.body.length) this.body = body;
  }

  /** The points to probe with now, if any: none after a probe failed, or past MAX_PROBES. */
  async next(nowMs: number, signal: AbortSignal): Promise<Datapoint[] | undefined> {
    if (this.failed || this.probes >= MAX_PROBES) return undefined;
    if (this.points === undefined && !this.referenceRead) await this.readReference(nowMs, signal);
    if (this.points === undefined) return undefined;
    this.probes++;
    return this.points;
  }

  /** A probe stored nothing: OpenTSDB is not storing, whatever the runs. */
  probeFailed(): void {
    this.failed = true;
  }

  /** Keeps the smallest run stored whole in this replay as the reference for the next ones. */
  async keep(nowMs: number, signal: AbortSignal): Promise<void> {
    if (this.body === undefined) return;
    try {
      await this.spool.keepReference(this.body, nowMs, signal);
    } catch (error) {
      this.log.warn('spool replay could not keep its known-good reference', {
        error: errorText(error, { withName: true }),
      });
    }
  }

  private async readReference(nowMs: number, signal: AbortSignal): Promise<void> {
    this.referenceRead = true;
    try {
      const body = await this.spool.reference(nowMs, signal);
      if (body !== undefined) this.points = decodePoints(body).points;
    } catch (error) {
      // Without one, the replay goes on as if none was kept.
      this.log.warn('spool replay could not read its known-good reference', {
        error: errorText(error, { withName: true }),
      });
    }
  }
}
