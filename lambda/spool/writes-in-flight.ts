/**
 * A write still in flight after this long is waiting on a failure (the writer retrying a point OpenTSDB
 * keeps failing, a `sync_timeout`), not on OpenTSDB's flush (`hbase.rpcs.buffered_flush_interval`, 1 s):
 * it no longer holds its place, so that poison does not slow the drain. At most STALLED_FACTOR times
 * parallelWrites are in flight, stalled or not.
 */
export const STALL_MS = 1500;
const STALLED_FACTOR = 2;

/** The replay's OpenTSDB writes in flight, each with when it started (real clock). */
export class WritesInFlight {
  private readonly writes = new Map<Promise<void>, number>();

  get size(): number {
    return this.writes.size;
  }

  add(write: Promise<void>): void {
    const task = write.finally(() => this.writes.delete(task));
    this.writes.set(task, performance.now());
  }

  any(): Promise<void> {
    return Promise.race(this.writes.keys());
  }

  async all(): Promise<void> {
    await Promise.all(this.writes.keys());
  }

  /**
   * Until another write may start: fewer busy (not stalled) writes than `limit`, within the cap. While
   * `limit` is below `parallel` (replay is probing OpenTSDB), every write in flight counts.
   */
  async untilPlace(limit: number, parallel: number): Promise<void> {
    const cap = parallel * STALLED_FACTOR;
    for (;;) {
      const now = performance.now();
      let busy = 0;
      let nextStall = Number.POSITIVE_INFINITY;
      for (const startedAt of this.writes.values()) {
        if (now - startedAt < STALL_MS) {
          busy++;
          nextStall = Math.min(nextStall, startedAt + STALL_MS - now);
        }
      }
      const counted = limit < parallel ? this.writes.size : busy;
      if (counted < limit && this.writes.size < cap) return;
      const waits: Promise<unknown>[] = [...this.writes.keys()];
      if (counted >= limit && counted === busy && Number.isFinite(nextStall))
        waits.push(new Promise((resolve) => setTimeout(resolve, Math.ceil(nextStall))));
      await Promise.race(waits);
    }
  }
}
