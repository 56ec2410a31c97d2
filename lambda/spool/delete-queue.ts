import type { Log } from '../shared/log.js';
import type { SpoolKey } from './spool-keys.js';
import type { SpoolStore } from './spool-store.js';

/** Deletes in flight at once (BatchWriteItem calls of 25). */
const PARALLEL_DELETES = 4;
const DELETE_BATCH = 25;

/**
 * Deletes finished runs in batches of 25, a few batches at once. Deleting a key that is gone already is no
 * error, so a run two replays both delivered is deleted twice, harmlessly.
 */
export class DeleteQueue {
  private readonly keys: SpoolKey[] = [];
  private readonly deleting = new Set<Promise<void>>();
  /** Keys left undeleted (throttled to the end); their runs are replayed again, identically. */
  left = 0;

  constructor(
    private readonly spool: SpoolStore,
    private readonly signal: () => AbortSignal,
    private readonly log: Log,
    private readonly fail: (error: unknown) => void,
  ) {}

  async add(key: SpoolKey): Promise<void> {
    this.keys.push(key);
    if (this.keys.length < DELETE_BATCH) return;
    while (this.deleting.size >= PARALLEL_DELETES) await Promise.race(this.deleting);
    this.start(this.keys.splice(0, DELETE_BATCH));
  }

  async flush(): Promise<void> {
    while (this.keys.length > 0) {
      while (this.deleting.size >= PARALLEL_DELETES) await Promise.race(this.deleting);
      this.start(this.keys.splice(0, DELETE_BATCH));
    }
    await Promise.all(this.deleting);
  }

  private start(keys: SpoolKey[]): void {
    const task = this.spool
      .remove(keys, this.signal())
      .then((left) => {
        // Replayed again next time: an identical rewrite is harmless.
        if (left.length > 0) {
          this.left += left.length;
          this.log.warn('spool deletes left unprocessed', { runs: left.length });
        }
      })
      .catch((error: unknown) => this.fail(error))
      .finally(() => this.deleting.delete(task));
    this.deleting.add(task);
  }
}
