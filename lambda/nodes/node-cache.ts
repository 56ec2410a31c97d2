import { errorText } from '../shared/error-text.js';
import type { Log } from '../shared/log.js';
import { isExpired, type NodeRecord } from './node-record.js';

/** What the cache reads from: the DynamoDB table, or anything shaped like it. */
export interface NodeSource {
  scanAll(): Promise<NodeRecord[]>;
  get(nodeId: number): Promise<NodeRecord | undefined>;
}

export interface NodeCacheOptions {
  /** How long a full load is trusted; also how often one missing node may be looked up. */
  ttlMs: number;
  /** How long a push may wait for node metadata before it goes on with the payload's own tags. */
  waitMs: number;
  /** A full load that has not settled by then counts as failed, so that a later one can start. */
  loadTimeoutMs?: number;
  log: Log;
  now?: () => number;
}

/**
 * Node metadata held in memory: the whole table is loaded once and again every `ttlMs`, so in steady state
 * a push reads nothing from DynamoDB. A node missing from memory is looked up singly at most once per
 * interval. DynamoDB being slow or down is never the push's problem: it gets `undefined` and uses the
 * payload's tags.
 */
export class NodeCache {
  private nodes = new Map<number, NodeRecord>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | undefined;
  private readonly lookedUp = new Map<number, number>();
  private readonly now: () => number;

  constructor(
    private readonly source: NodeSource,
    private readonly options: NodeCacheOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The node's record, waiting for DynamoDB at most `waitMs` in all. */
  async get(nodeId: number): Promise<NodeRecord | undefined> {
    const started = this.now();
    if (started - this.loadedAt >= this.options.ttlMs) await this.bounded(this.reload(), this.options.waitMs);
    let record = this.nodes.get(nodeId);
    if (!record) {
      const last = this.lookedUp.get(nodeId);
      const left = this.options.waitMs - (this.now() - started);
      if ((last === undefined || started - last >= this.options.ttlMs) && left > 0) {
        this.lookedUp.set(nodeId, started);
        record = await this.bounded(this.lookup(nodeId), left);
      }
    }
    return record && !isExpired(record, this.now()) ? record : undefined;
  }

  /**
   * `get`'s answer when it needs no DynamoDB read, as is the case for nearly every push: the record, or null
   * for a node known to be absent or expired; undefined when `get` must be awaited. Spares a push a promise.
   */
  peek(nodeId: number): NodeRecord | null | undefined {
    const now = this.now();
    if (now - this.loadedAt >= this.options.ttlMs) return undefined;
    const record = this.nodes.get(nodeId);
    if (record) return isExpired(record, now) ? null : record;
    const last = this.lookedUp.get(nodeId);
    return last !== undefined && now - last < this.options.ttlMs ? null : undefined;
  }

  /** Starts a full load (shared by concurrent callers) unless one is under way. */
  private reload(): Promise<void> {
    this.loading ??= withTimeout(this.source.scanAll(), this.options.loadTimeoutMs ?? 10_000)
      .then((records) => {
        this.nodes = new Map(records.map((r) => [r.nodeId, r]));
        this.lookedUp.clear();
        this.options.log.debug('node table loaded', { nodes: records.length });
      })
      .catch((error: unknown) => {
        this.options.log.warn('node table unavailable; using cached and payload tags', {
          error: errorText(error, { withName: true }),
        });
      })
      .finally(() => {
        // A failed load is not retried on every push either: the next attempt waits an interval.
        this.loadedAt = this.now();
        this.loading = undefined;
      });
    return this.loading;
  }

  private async lookup(nodeId: number): Promise<NodeRecord | undefined> {
    try {
      const record = await this.source.get(nodeId);
      if (record) this.nodes.set(nodeId, record);
      return record;
    } catch (error) {
      this.options.log.warn('node lookup failed', { nodeId, error: errorText(error, { withName: true }) });
      return undefined;
    }
  }

  /** Waits for `work` at most `ms`; the work goes on in the background and fills the cache later. */
  private bounded<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
    return withTimeout(work, ms).catch(() => undefined);
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
