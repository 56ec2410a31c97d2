/**
 * What the writes of one replay show about OpenTSDB and about each run, whatever way a write failed (a 400,
 * a 5xx, a dropped connection, a `sync_timeout`, a reason never seen, the writer saying OpenTSDB is
 * unavailable). A run is poison only on evidence: it failed while OpenTSDB stored other runs — in the same
 * request, or in a write that was stored after the failed one had started. A write that failed as a whole
 * says nothing about its runs until another is stored; writes failing as a whole with nothing stored
 * between them say that OpenTSDB is down. Pure bookkeeping: no I/O, no clock.
 */

/** Writes failing as a whole in a row, nothing stored between them: OpenTSDB is down, replay stops. */
export const DOWN_AFTER = 12;
/** Writes failing as a whole in a row, after others were stored, from which replay sends fewer at once. */
const SLOW_AFTER = 3;

interface Failure {
  reason: string;
  /** Writes stored when the failed write started: one more is evidence. */
  storesBefore: number;
}

interface Group<R> extends Failure {
  runs: R[];
}

export class PoisonEvidence<R> {
  /** Writes that stored something so far. */
  private stores = 0;
  private wholeFailuresInARow = 0;
  private lastReason: string | undefined;
  private readonly suspects = new Map<R, Failure>();
  private readonly groups: Group<R>[] = [];

  /** A write starts: the token its failures are reported with. */
  start(): number {
    return this.stores;
  }

  /** A write stored some of its points. */
  stored(): void {
    this.stores++;
    this.wholeFailuresInARow = 0;
  }

  /**
   * The write started with `token` stored none of its points: `runs` (all of them) failed together. A write
   * of a run already suspected (sent alone once another write was stored) is expected to fail: it does not
   * count towards OpenTSDB being down.
   */
  failedWhole(token: number, runs: readonly R[], reason: string, suspected = false): void {
    if (!suspected) this.wholeFailuresInARow++;
    this.lastReason = reason;
    const failure = { reason, storesBefore: token };
    if (runs.length === 1) this.suspects.set(runs[0]!, failure);
    else if (runs.length > 1) this.groups.push({ ...failure, runs: [...runs] });
  }

  /** The write started with `token` stored other points but not all of these runs': each is at fault. */
  failedBeside(token: number, runs: readonly R[], reason: string): void {
    for (const run of runs) this.suspects.set(run, { reason, storesBefore: token });
  }

  /** A run OpenTSDB took after all (a later write, or another replay's). */
  finished(run: R): void {
    this.suspects.delete(run);
  }

  /** OpenTSDB is down: writes keep failing as a whole and nothing is stored. */
  get down(): boolean {
    return this.wholeFailuresInARow >= DOWN_AFTER;
  }

  /**
   * Writes allowed in flight: one until OpenTSDB stores something in this replay, each write failed as a
   * whole letting one more go beside it, so that poison at the head is passed within a few writes while an
   * outage costs a few requests. Once writes are stored, a write failing as a whole now and then (poison
   * among healthy runs) does not slow the drain; several in a row, with nothing stored, do.
   */
  inFlightLimit(parallel: number): number {
    if (this.stores > 0 && this.wholeFailuresInARow < SLOW_AFTER) return parallel;
    return Math.min(parallel, 1 + this.wholeFailuresInARow);
  }

  /** Runs failed with nothing stored after: a write known to be stored, sent again, may show why. */
  get unexplained(): number {
    return this.uncharged().length;
  }

  /** Writes failed as a whole since the last stored one, and the last one's reason. */
  get failingSinceStored(): { writes: number; reason: string | undefined } {
    return { writes: this.wholeFailuresInARow, reason: this.lastReason };
  }

  /** Groups failed as a whole while another write was stored: to be sent run by run. */
  takeShown(): R[][] {
    const shown: R[][] = [];
    for (let i = this.groups.length - 1; i >= 0; i--) {
      const group = this.groups[i]!;
      if (this.stores > group.storesBefore) {
        shown.push(group.runs);
        this.groups.splice(i, 1);
      }
    }
    return shown.reverse();
  }

  /**
   * The smallest group still unexplained, taken to be sent in halves (when nothing else is left to try):
   * the fewer its runs, the fewer writes before a healthy one among them is alone and stored.
   */
  takeUnexplained(): R[] | undefined {
    if (this.groups.length === 0) return undefined;
    let smallest = 0;
    for (const [i, g] of this.groups.entries())
      if (g.runs.length < this.groups[smallest]!.runs.length) smallest = i;
    return this.groups.splice(smallest, 1)[0]!.runs;
  }

  get unexplainedGroups(): number {
    return this.groups.length;
  }

  /** Runs shown to be at fault in this replay, with why: each is charged an attempt. */
  charged(): Array<[R, string]> {
    return [...this.suspects]
      .filter(([, f]) => this.stores > f.storesBefore)
      .map(([run, f]) => [run, f.reason]);
  }

  /** Runs that failed with nothing stored after: OpenTSDB may have been failing for everyone. */
  uncharged(): Array<[R, string]> {
    const alone = [...this.suspects].filter(([, f]) => this.stores <= f.storesBefore);
    const grouped = this.groups.flatMap((g) => g.runs.map((run): [R, string] => [run, g.reason]));
    return [...alone.map(([run, f]): [R, string] => [run, f.reason]), ...grouped];
  }
}
