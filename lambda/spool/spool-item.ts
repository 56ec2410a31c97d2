// How a spooled run is one DynamoDB item of the spool table, and the expressions that address it.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { entryTimeMs, type SpoolKey } from './spool-keys.js';
import type { SpooledRun } from './spooled-run.js';

export type Item = Record<string, AttributeValue>;

/** The item exists and holds `attempts` (absent means 0); just "exists" when `attempts` is undefined. */
export function holdsAttempts(attempts: number | undefined): string {
  if (attempts === undefined) return 'attribute_exists(entry)';
  return attempts === 0
    ? 'attribute_exists(entry) AND attribute_not_exists(attempts)'
    : 'attribute_exists(entry) AND attempts = :read';
}

/** A Query's key condition for one partition (`shard` is one of DynamoDB's reserved words). */
export function inShard(shard: string) {
  return {
    KeyConditionExpression: '#shard = :s',
    ExpressionAttributeNames: { '#shard': 'shard' },
    ExpressionAttributeValues: { ':s': { S: shard } },
  };
}

export function keyItem(key: SpoolKey): Item {
  return { shard: { S: key.shard }, entry: { S: key.entry } };
}

export function toItem(run: SpooledRun): Item {
  const item: Item = {
    ...keyItem(run.key),
    runKey: { S: run.runKey },
    spooledAt: { N: String(run.spooledAtMs) },
    points: { N: String(run.pointCount) },
    body: { B: run.body },
    expiresAt: { N: String(run.expiresAt) },
  };
  if (run.attempts > 0) item.attempts = { N: String(run.attempts) };
  if (run.lastError !== undefined) item.lastError = { S: run.lastError };
  if (run.parkedAtMs !== undefined) item.parkedAt = { N: String(run.parkedAtMs) };
  if (run.reason !== undefined) item.reason = { S: run.reason };
  return item;
}

export function fromItem(item: Item): SpooledRun | undefined {
  const shard = item.shard?.S;
  const entry = item.entry?.S;
  if (shard === undefined || entry === undefined) return undefined;
  const queuedAtMs = entryTimeMs(entry);
  const run: SpooledRun = {
    key: { shard, entry },
    runKey: item.runKey?.S ?? '',
    spooledAtMs: Number(item.spooledAt?.N ?? queuedAtMs),
    queuedAtMs,
    // An item without a body cannot be replayed: replay parks it as unreadable.
    body: item.body?.B ?? new Uint8Array(),
    pointCount: Number(item.points?.N ?? 0),
    expiresAt: Number(item.expiresAt?.N ?? Number.POSITIVE_INFINITY),
    attempts: Number(item.attempts?.N ?? 0),
  };
  if (item.lastError?.S !== undefined) run.lastError = item.lastError.S;
  if (item.parkedAt?.N !== undefined) run.parkedAtMs = Number(item.parkedAt.N);
  if (item.reason?.S !== undefined) run.reason = item.reason.S;
  return run;
}
