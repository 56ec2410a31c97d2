import type { SpoolStore } from './spool-store.js';
import type { SpooledRun } from './spooled-run.js';

interface Cursor {
  shard: string;
  buffer: SpooledRun[];
  after: string | undefined;
  more: boolean;
  loading: Promise<void> | undefined;
  error: { error: unknown } | undefined;
}

/**
 * The queued runs in entry order across every shard: a merge of one Query cursor per shard, each reading
 * its next page ahead once its buffer is half used. No Query starts once `halted` says so.
 */
export class OldestFirst {
  private readonly cursors: Cursor[];
  /** Every shard was read to its end. */
  exhausted = false;

  constructor(
    private readonly store: SpoolStore,
    private readonly pageSize: number,
    private readonly signal: () => AbortSignal,
    private readonly halted: () => boolean,
  ) {
    this.cursors = store.shards.map((shard) => ({
      shard,
      buffer: [],
      after: undefined,
      more: true,
      loading: undefined,
      error: undefined,
    }));
  }

  async next(): Promise<SpooledRun | undefined> {
    for (;;) {
      for (const c of this.cursors) if (c.error) throw c.error.error;
      if (this.halted()) return undefined;
      // A shard's next run may be the oldest of all: every shard that may hold more shows its head first.
      const empty = this.cursors.filter((c) => c.buffer.length === 0 && c.more);
      if (empty.length > 0) {
        await Promise.all(empty.map((c) => this.fill(c)));
        continue;
      }
      let oldest: Cursor | undefined;
      for (const c of this.cursors) {
        if (
          c.buffer.length > 0 &&
          (oldest === undefined || c.buffer[0]!.key.entry < oldest.buffer[0]!.key.entry)
        )
          oldest = c;
      }
      if (oldest === undefined) {
        this.exhausted = true;
        return undefined;
      }
      const run = oldest.buffer.shift()!;
      if (oldest.more && oldest.buffer.length <= this.pageSize / 2) void this.fill(oldest);
      return run;
    }
  }

  private fill(c: Cursor): Promise<void> {
    c.loading ??= this.store
      .readPage(c.shard, c.after, this.pageSize, this.signal())
      .then(
        (page) => {
          c.buffer.push(...page.runs);
          c.after = page.next;
          c.more = page.next !== undefined;
        },
        (error: unknown) => {
          c.error = { error };
          c.more = false;
        },
      )
      .finally(() => {
        c.loading = undefined;
      });
    return c.loading;
  }
}
