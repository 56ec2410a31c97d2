import { randomBytes, randomInt } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { Datapoint } from '../opentsdb/datapoint.js';
import type { Spool } from '../push/push-service.js';
import { backoffDelay, sleep } from '../shared/backoff.js';
import { fromItem, holdsAttempts, type Item, inShard, keyItem, toItem } from './spool-item.js';
import {
  entryKey,
  entryTimeMs,
  PARKED_SHARD,
  queueShards,
  REFERENCE_KEY,
  type SpoolKey,
} from './spool-keys.js';
import type { QueueStats, SpoolPage, SpoolStore } from './spool-store.js';
import { encodePoints, expiresAtFor, type SpooledRun } from './spooled-run.js';

/** BatchWriteItem's limit. */
const BATCH_WRITE_MAX = 25;

/** Items counted per shard for SpoolDepth: one Query page of at most this many keys. */
export const DEPTH_COUNT_PER_SHARD = 1000;

/** Pages of the parked partition counted for ParkedRuns (each up to 1 MB of items). */
const PARKED_COUNT_PAGES = 10;

/** A wait bound for a call made with no deadline of its own. */
const DEFAULT_CALL_MS = 5000;

/**
 * The spool table (partition key `shard`, sort key `entry`: see spool-keys.ts). Every write is a new item
 * that is never changed afterwards except for its attempt count, so deleting the key replay read deletes
 * exactly the version replay wrote to OpenTSDB: a run spooled again meanwhile is another item.
 */
export class DynamoSpool implements Spool, SpoolStore {
  readonly shards: readonly string[];

  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
    options: { shardCount?: number } = {},
  ) {
    this.shards = queueShards(options.shardCount);
  }

  /** Spools a run as a new item in a random shard; settles by `deadlineMs`, stored or failed. */
  async save(runKey: string, points: readonly Datapoint[], nowMs: number, deadlineMs: number): Promise<void> {
    const body = encodePoints(points);
    const signal = AbortSignal.timeout(Math.max(1, deadlineMs - Date.now()));
    await this.putNew(
      {
        key: { shard: this.randomShard(), entry: entryKey(nowMs, runKey, nonce()) },
        runKey,
        spooledAtMs: nowMs,
        queuedAtMs: nowMs,
        body,
        pointCount: points.length,
        expiresAt: expiresAtFor(nowMs),
        attempts: 0,
      },
      signal,
    );
  }

  /** One page of a partition, oldest first, after the entry `after`. */
  async readPage(shard: string, after: string | undefined, limit: number, signal?: AbortSignal) {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        ...inShard(shard),
        ExclusiveStartKey: after === undefined ? undefined : { shard: { S: shard }, entry: { S: after } },
        Limit: limit,
        ConsistentRead: true,
      }),
      { abortSignal: signal ?? AbortSignal.timeout(DEFAULT_CALL_MS) },
    );
    const runs = (out.Items ?? []).map(fromItem).filter((r): r is SpooledRun => r !== undefined);
    const last = out.LastEvaluatedKey?.entry?.S;
    return { runs, next: last } satisfies SpoolPage;
  }

  /**
   * Deletes items by key in batches of 25 (BatchWriteItem, retrying what DynamoDB leaves unprocessed).
   * Resolves with the keys still not deleted when the signal ends the retries.
   */
  async remove(keys: readonly SpoolKey[], signal?: AbortSignal): Promise<SpoolKey[]> {
    shareSignal(signal);
    const left: SpoolKey[] = [];
    const chunks: SpoolKey[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_WRITE_MAX) chunks.push(keys.slice(i, i + BATCH_WRITE_MAX));
    await Promise.all(chunks.map(async (chunk) => left.push(...(await this.removeChunk(chunk, signal)))));
    return left;
  }

  private async removeChunk(keys: SpoolKey[], signal: AbortSignal | undefined): Promise<SpoolKey[]> {
    let requests = keys.map((k) => ({ DeleteRequest: { Key: keyItem(k) } }));
    for (let attempt = 1; requests.length > 0; attempt++) {
      const out = await this.client.send(
        new BatchWriteItemCommand({ RequestItems: { [this.tableName]: requests } }),
        { abortSignal: signal ?? AbortSignal.timeout(DEFAULT_CALL_MS) },
      );
      requests = (out.UnprocessedItems?.[this.tableName] ?? []).flatMap((r) =>
        r.DeleteRequest?.Key ? [{ DeleteRequest: { Key: r.DeleteRequest.Key } }] : [],
      );
      if (requests.length === 0 || signal?.aborted || attempt >= 8) break;
      // Unprocessed items mean throttling: back off as DynamoDB asks.
      await sleep(backoffDelay(attempt, 50, 1000));
    }
    return requests.map((r) => ({
      shard: r.DeleteRequest.Key.shard?.S ?? '',
      entry: r.DeleteRequest.Key.entry?.S ?? '',
    }));
  }

  /**
   * Counts one more replay in which the run failed while others were stored, and keeps why. With
   * `readAttempts`, only if the item still holds that count (two replays at once charge it once). Resolves
   * with the new count, or undefined when the item is gone (another replay finished it) or was charged
   * meanwhile: an update never brings an item back.
   */
  async recordFailure(
    key: SpoolKey,
    error: string,
    signal?: AbortSignal,
    readAttempts?: number,
  ): Promise<number | undefined> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyItem(key),
          UpdateExpression: 'SET attempts = if_not_exists(attempts, :zero) + :one, lastError = :error',
          ConditionExpression: holdsAttempts(readAttempts),
          ExpressionAttributeValues: {
            ':zero': { N: '0' },
            ':one': { N: '1' },
            ':error': { S: error.slice(0, 500) },
            ...(readAttempts ? { ':read': { N: String(readAttempts) } } : {}),
          },
          ReturnValues: 'UPDATED_NEW',
        }),
        { abortSignal: signal ?? AbortSignal.timeout(DEFAULT_CALL_MS) },
      );
      return Number(out.Attributes?.attempts?.N ?? 0);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /**
   * Moves a queued run to the parked partition, under the same entry, with why: put the parked copy, then
   * delete the queued one. With `readAttempts`, the delete is conditional on the queued item still holding
   * that count; when it does not (another replay delivered or charged it meanwhile), the parked copy this
   * call made is removed again and the run is not parked. A replay that stops between the put and the
   * delete leaves both; the next one parks it again, finds the parked copy already there and only deletes
   * the queued one.
   */
  async park(
    run: SpooledRun,
    reason: string,
    nowMs: number,
    signal?: AbortSignal,
    readAttempts?: number,
  ): Promise<boolean> {
    const abortSignal = signal ?? AbortSignal.timeout(DEFAULT_CALL_MS);
    const parkedKey = { shard: PARKED_SHARD, entry: run.key.entry };
    const parked: SpooledRun = {
      ...run,
      key: parkedKey,
      parkedAtMs: nowMs,
      reason: reason.slice(0, 500),
      // An operator gets the whole retention period to look at it.
      expiresAt: expiresAtFor(nowMs),
    };
    let made = true;
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: toItem(parked),
          ConditionExpression: 'attribute_not_exists(entry)',
        }),
        { abortSignal },
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      made = false;
    }
    if (readAttempts === undefined) {
      await this.deleteOne(run.key, signal);
      return true;
    }
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: keyItem(run.key),
          ConditionExpression: holdsAttempts(readAttempts),
          ...(readAttempts ? { ExpressionAttributeValues: { ':read': { N: String(readAttempts) } } } : {}),
        }),
        { abortSignal },
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      if (made) await this.deleteOne(parkedKey, signal);
      return false;
    }
  }

  /** Puts a parked run back into the drain order as a new item queued now, then deletes the parked one. */
  async requeue(run: SpooledRun, nowMs: number, signal?: AbortSignal): Promise<SpoolKey> {
    const key = { shard: this.randomShard(), entry: entryKey(nowMs, run.runKey, nonce()) };
    await this.putNew(
      {
        key,
        runKey: run.runKey,
        spooledAtMs: run.spooledAtMs,
        queuedAtMs: nowMs,
        body: run.body,
        pointCount: run.pointCount,
        expiresAt: expiresAtFor(nowMs),
        attempts: 0,
      },
      signal,
    );
    await this.deleteOne(run.key, signal);
    return key;
  }

  /** Every parked run, oldest first (the parked partition is small: runs OpenTSDB kept refusing). */
  async parked(signal?: AbortSignal): Promise<SpooledRun[]> {
    const runs: SpooledRun[] = [];
    let after: string | undefined;
    do {
      const page = await this.readPage(PARKED_SHARD, after, 500, signal);
      runs.push(...page.runs);
      after = page.next;
    } while (after !== undefined);
    return runs;
  }

  /**
   * The drain order's depth and oldest entry, without reading the table: per shard, the first key and a
   * count of at most DEPTH_COUNT_PER_SHARD items (one Query page each, in parallel).
   */
  async queueStats(signal?: AbortSignal, capPerShard = DEPTH_COUNT_PER_SHARD): Promise<QueueStats> {
    shareSignal(signal);
    const perShard = await Promise.all(
      this.shards.map(async (shard) => {
        const [first, count] = await Promise.all([
          this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              ...inShard(shard),
              ProjectionExpression: 'entry',
              Limit: 1,
              ConsistentRead: true,
            }),
            { abortSignal: signal ?? AbortSignal.timeout(DEFAULT_CALL_MS) },
          ),
          this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              ...inShard(shard),
              Select: 'COUNT',
              Limit: capPerShard,
              ConsistentRead: true,
            }),
            { abortSignal: signal ?? AbortSignal.timeout(DEFAULT_CALL_MS) },
          ),
        ]);
        return {
          oldest: entryTimeMs(first.Items?.[0]?.entry?.S ?? ''),
          count: count.Count ?? 0,
          capped: count.LastEvaluatedKey !== undefined,
        };
      }),
    );
    const oldest = perShard.map((s) => s.oldest).filter((t) => Number.isFinite(t));
    return {
      depth: perShard.reduce((sum, s) => sum + s.count, 0),
      depthIsLowerBound: perShard.some((s) => s.capped),
      oldestQueuedAtMs: oldest.length > 0 ? Math.min(...oldest) : undefined,
    };
  }

  /** The run replay sends next (the oldest queued), or undefined: one item read per shard, in parallel. */
  async oldestQueued(signal?: AbortSignal): Promise<SpooledRun | undefined> {
    shareSignal(signal);
    const firsts = await Promise.all(
      this.shards.map(async (shard) => (await this.readPage(shard, undefined, 1, signal)).runs[0]),
    );
    return firsts
      .filter((run): run is SpooledRun => run !== undefined)
      .sort((a, b) => compareEntries(a.key.entry, b.key.entry))[0];
  }

  /** The known-good reference's body; undefined when there is none or it has expired (TTL deletes late). */
  async reference(nowMs: number, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: keyItem(REFERENCE_KEY), ConsistentRead: true }),
      { abortSignal: signal ?? AbortSignal.timeout(DEFAULT_CALL_MS) },
    );
    const expiresAt = Number(out.Item?.expiresAt?.N ?? 0);
    if (out.Item?.body?.B === undefined || expiresAt * 1000 <= nowMs) return undefined;
    return out.Item.body.B;
  }

  /**
   * Replaces the known-good reference with `body` (one small put), with the spool's expiry: a reference no
   * replay renews ages out like a run. Two replays at once each put a run OpenTSDB stored: either will do.
   */
  async keepReference(body: Uint8Array, nowMs: number, signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...keyItem(REFERENCE_KEY),
          body: { B: body },
          keptAt: { N: String(nowMs) },
          expiresAt: { N: String(expiresAtFor(nowMs)) },
        },
      }),
      { abortSignal: signal ?? AbortSignal.timeout(DEFAULT_CALL_MS) },
    );
  }

  /** Runs in the parked partition (at least this many when it is beyond PARKED_COUNT_PAGES pages). */
  async parkedCount(signal?: AbortSignal): Promise<number> {
    let count = 0;
    let startKey: Item | undefined;
    for (let page = 0; page < PARKED_COUNT_PAGES; page++) {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          ...inShard(PARKED_SHARD),
          Select: 'COUNT',
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
        { abortSignal: signal ?? AbortSignal.timeout(DEFAULT_CALL_MS) },
      );
      count += out.Count ?? 0;
      startKey = out.LastEvaluatedKey;
      if (!startKey) break;
    }
    return count;
  }

  /**
   * Queued runs' keys and ages, oldest first across the shards, at most `limit` (what the tests inspect;
   * replay reads page by page instead).
   */
  async heads(limit = 10_000): Promise<{ runKey: string; spooledAtMs: number; key: SpoolKey }[]> {
    const all: SpooledRun[] = [];
    // The oldest `limit` overall are among the oldest `limit` of each shard.
    for (const shard of this.shards) {
      let after: string | undefined;
      let read = 0;
      do {
        const page = await this.readPage(shard, after, Math.min(1000, limit - read));
        all.push(...page.runs);
        read += page.runs.length;
        after = page.next;
      } while (after !== undefined && read < limit);
    }
    return all
      .sort((a, b) => compareEntries(a.key.entry, b.key.entry))
      .slice(0, limit)
      .map((r) => ({ runKey: r.runKey, spooledAtMs: r.spooledAtMs, key: r.key }));
  }

  private async putNew(run: SpooledRun, signal: AbortSignal | undefined): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: toItem(run),
            // Items are immutable: a new write never replaces one (a nonce collision only picks another).
            ConditionExpression: 'attribute_not_exists(entry)',
          }),
          { abortSignal: signal ?? AbortSignal.timeout(DEFAULT_CALL_MS) },
        );
        return;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException) || attempt >= 2) throw error;
        run.key = { shard: run.key.shard, entry: entryKey(run.queuedAtMs, run.runKey, nonce()) };
      }
    }
  }

  private async deleteOne(key: SpoolKey, signal: AbortSignal | undefined): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: keyItem(key) }), {
      abortSignal: signal ?? AbortSignal.timeout(DEFAULT_CALL_MS),
    });
  }

  private randomShard(): string {
    return this.shards[randomInt(this.shards.length)]!;
  }
}

/** Entries compare as strings: 13-digit times first, so the order is the time order. */
export function compareEntries(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** 8 characters of randomness, so that two spools of one run in the same millisecond are two items. */
function nonce(): string {
  return randomBytes(6).toString('base64url');
}

/** One signal bounds many calls in flight at once, each listening to it: that is no leak. */
function shareSignal(signal: AbortSignal | undefined): void {
  if (signal) setMaxListeners(0, signal);
}
