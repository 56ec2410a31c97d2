// The backfill's checkpoint: which windows of which backfill are finished (read, checked, written and
// confirmed by OpenTSDB). Rewritten whole after every window, through a temporary file and a rename, so a
// crash leaves the old checkpoint or the new one, never half of one.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isObject } from '../../lambda/shared/json-fields.js';

/** What makes two backfills the same: a checkpoint is only resumed by the backfill that wrote it. */
export interface CheckpointPlan {
  tests: readonly number[];
  from: string;
  to: string;
  failedDeliveries: boolean;
  windowMs: number;
  testsPerRequest: number;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export class Checkpoint {
  private readonly done: Set<string>;

  private constructor(
    private readonly path: string,
    private readonly plan: CheckpointPlan,
    done: Iterable<string>,
  ) {
    this.done = new Set(done);
  }

  /** A new, empty checkpoint (written once its first window is done). */
  static fresh(path: string, plan: CheckpointPlan): Checkpoint {
    return new Checkpoint(path, plan, []);
  }

  /** The checkpoint at `path`, which must be this plan's. */
  static resume(path: string, plan: CheckpointPlan): Checkpoint {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw new CheckpointError(
        `--resume: no checkpoint at ${path} (start without --resume, or give --checkpoint FILE)`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CheckpointError(`--resume: ${path} is not a checkpoint (not JSON)`);
    }
    if (!isObject(json) || json.version !== 1 || !isObject(json.plan) || !Array.isArray(json.done)) {
      throw new CheckpointError(`--resume: ${path} is not a backfill checkpoint`);
    }
    if (JSON.stringify(json.plan) !== JSON.stringify(plan)) {
      throw new CheckpointError(
        `--resume: ${path} is the checkpoint of another backfill (${JSON.stringify(json.plan)}); give the same --tests, --from, --to, --failed-deliveries, --window and --tests-per-request`,
      );
    }
    return new Checkpoint(
      path,
      plan,
      json.done.filter((key): key is string => typeof key === 'string'),
    );
  }

  has(windowKey: string): boolean {
    return this.done.has(windowKey);
  }

  get finished(): number {
    return this.done.size;
  }

  /** Records a finished window, durably. */
  markDone(windowKey: string): void {
    this.done.add(windowKey);
    const body = `${JSON.stringify({ version: 1, plan: this.plan, done: [...this.done] }, null, 1)}\n`;
    const temporary = `${this.path}.tmp`;
    writeFileSync(temporary, body, 'utf8');
    renameSync(temporary, this.path);
  }
}
