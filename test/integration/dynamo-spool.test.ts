import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { createSpoolTable, type EmbeddedDynamo, startEmbeddedDynamo } from '../../dev/embedded-dynamo.js';
import { type Datapoint, serializeDatapoint } from '../../lambda/opentsdb/datapoint.js';
import { DynamoSpool } from '../../lambda/spool/dynamo-spool.js';
import { PARKED_SHARD, queueShards, REFERENCE_KEY } from '../../lambda/spool/spool-keys.js';
import { decodePoints, encodePoints } from '../../lambda/spool/spooled-run.js';

const point = (i: number): Datapoint => ({
  metric: 'catchpoint.rtt.by_node',
  timestamp: 1795521852 + i,
  value: i + 0.5,
  tags: { testid: '1', nodeid: String(i) },
});

describe('DynamoSpool on dynalite', () => {
  let dynamo: EmbeddedDynamo;
  let spool: DynamoSpool;
  let table = 0;
  before(async () => {
    dynamo = await startEmbeddedDynamo();
  });
  after(() => dynamo.close());
  beforeEach(async () => {
    const name = `spool-${++table}`;
    await createSpoolTable(dynamo.client, name);
    spool = new DynamoSpool(dynamo.client, name);
  });

  async function items(shard: string) {
    const out = await dynamo.client.send(
      new QueryCommand({
        TableName: spool.tableName,
        KeyConditionExpression: '#shard = :s',
        ExpressionAttributeNames: { '#shard': 'shard' },
        ExpressionAttributeValues: { ':s': { S: shard } },
      }),
    );
    return out.Items ?? [];
  }

  it('keeps the points as gzip of their exact JSON, under a queue shard, keyed by time, run and nonce', async () => {
    const t0 = Date.UTC(2026, 10, 25);
    await spool.save('1:2:100', [point(1), point(2)], t0 + 1000, Date.now() + 5000);
    const all = (await Promise.all(queueShards().map(items))).flat();
    assert.equal(all.length, 1);
    const item = all[0]!;
    assert.match(item.shard!.S!, /^queue-(0\d|1[0-5])$/);
    assert.match(item.entry!.S!, new RegExp(`^${t0 + 1000}#1:2:100#[A-Za-z0-9_-]{8}$`));
    assert.equal(
      gunzipSync(item.body!.B!).toString('utf8'),
      `[${serializeDatapoint(point(1))},${serializeDatapoint(point(2))}]`,
    );
    assert.equal(item.points!.N, '2');
    assert.equal(Number(item.expiresAt!.N), Math.floor((t0 + 1000) / 1000) + 14 * 86_400);
    assert.deepEqual(decodePoints(item.body!.B!).points, [point(1), point(2)]);
  });

  it('keeps one known-good reference outside the drain order and the parked runs, with the spool expiry', async () => {
    const t0 = Date.now();
    assert.equal(await spool.reference(t0), undefined, 'none at first');
    await spool.keepReference(encodePoints([point(1)]), t0);
    const body = encodePoints([point(2), point(3)]);
    await spool.keepReference(body, t0 + 1000);
    const kept = await items(REFERENCE_KEY.shard);
    assert.equal(kept.length, 1, 'one item, replaced');
    assert.equal(Number(kept[0]!.expiresAt!.N), Math.floor((t0 + 1000) / 1000) + 14 * 86_400);
    assert.deepEqual(Buffer.from((await spool.reference(t0 + 2000))!), body);
    // Past its expiry (DynamoDB's TTL deletes late), it is no reference.
    assert.equal(await spool.reference(t0 + 1000 + 14 * 86_400_000), undefined);

    // Nothing that reads the drain order or the parked runs sees it.
    assert.deepEqual(await spool.queueStats(), {
      depth: 0,
      depthIsLowerBound: false,
      oldestQueuedAtMs: undefined,
    });
    assert.deepEqual(await spool.heads(), []);
    assert.equal(await spool.oldestQueued(), undefined);
    assert.deepEqual(await spool.parked(), []);
    assert.equal(await spool.parkedCount(), 0);
  });

  it('spreads runs over the 16 shards and reads them oldest first across shards', async () => {
    const t0 = Date.UTC(2026, 10, 25);
    // Spooled out of order; the heads come back in time order.
    const times = Array.from({ length: 64 }, (_, i) => t0 + ((i * 37) % 64) * 1000);
    for (const [i, t] of times.entries()) await spool.save(`9:${i}:1`, [point(i)], t, Date.now() + 5000);
    const heads = await spool.heads();
    assert.deepEqual(
      heads.map((h) => h.spooledAtMs),
      [...times].sort((a, b) => a - b),
    );
    const used = new Set(heads.map((h) => h.key.shard));
    assert.ok(used.size >= 8, `64 runs landed in ${used.size} shards`);
  });

  it('a run spooled again is a second item, never an overwrite', async () => {
    const now = Date.now();
    await spool.save('1:2:100', [point(1)], now, now + 5000);
    // Same run, same millisecond, other points (the node table changed in between): kept as well.
    await spool.save('1:2:100', [point(9)], now, now + 5000);
    await spool.save('1:2:100', [point(1)], now, now + 5000);
    const heads = await spool.heads();
    assert.equal(heads.length, 3);
    assert.equal(new Set(heads.map((h) => h.key.entry)).size, 3);
  });

  it('counts a refusal only on an item that still exists, parks under the same entry, and requeues', async () => {
    const now = Date.now();
    await spool.save('1:2:100', [point(1)], now - 60_000, now + 5000);
    const run = (await Promise.all(spool.shards.map((s) => spool.readPage(s, undefined, 10))))
      .flatMap((p) => p.runs)
      .at(0)!;
    assert.equal(await spool.recordFailure(run.key, 'HTTP 400'), 1);
    assert.equal(await spool.recordFailure(run.key, 'HTTP 400 again'), 2);

    await spool.park({ ...run, attempts: 2 }, 'refused in 2 replays', now);
    // Parking twice (a replay that stopped between its put and its delete) keeps one parked copy.
    await spool.park({ ...run, attempts: 2 }, 'refused in 2 replays', now);
    assert.deepEqual(await spool.heads(), []);
    assert.equal(await spool.recordFailure(run.key, 'gone'), undefined, 'a gone item is not recreated');
    assert.deepEqual(await spool.heads(), []);
    const parked = await spool.parked();
    assert.equal(parked.length, 1);
    assert.equal(parked[0]!.key.shard, PARKED_SHARD);
    assert.equal(parked[0]!.key.entry, run.key.entry);
    assert.equal(parked[0]!.reason, 'refused in 2 replays');
    assert.equal(parked[0]!.attempts, 2);
    assert.deepEqual(decodePoints(parked[0]!.body).points, [point(1)]);
    assert.equal(await spool.parkedCount(), 1);

    await spool.requeue(parked[0]!, now);
    assert.equal(await spool.parkedCount(), 0);
    const queued = await spool.heads();
    assert.equal(queued.length, 1);
    assert.equal(queued[0]!.runKey, '1:2:100');
    assert.equal(queued[0]!.spooledAtMs, now - 60_000, 'the first spool time is kept');
    assert.ok(queued[0]!.key.entry.startsWith(`${now}#`), 'queued again now');
  });

  it('charges and parks only an item that still holds the attempts read: two replays at once charge once and park nothing delivered', async () => {
    const now = Date.now();
    await spool.save('1:2:100', [point(1)], now - 60_000, now + 5000);
    await spool.save('1:2:200', [point(2)], now - 50_000, now + 5000);
    const [a, b] = (await Promise.all(spool.shards.map((s) => spool.readPage(s, undefined, 10))))
      .flatMap((p) => p.runs)
      .sort((x, y) => x.spooledAtMs - y.spooledAtMs);
    // Both replays read attempts 0; the first to charge counts, the other finds it changed.
    assert.equal(await spool.recordFailure(a!.key, 'HTTP 500', undefined, 0), 1);
    assert.equal(await spool.recordFailure(a!.key, 'HTTP 500', undefined, 0), undefined);
    assert.equal(await spool.recordFailure(a!.key, 'HTTP 500', undefined, 1), 2);
    // A park from a stale read leaves the item queued and makes no parked copy.
    assert.equal(await spool.park({ ...a!, attempts: 1 }, 'stale', now, undefined, 0), false);
    assert.equal(await spool.parkedCount(), 0);
    assert.equal((await spool.heads()).length, 2);
    // The other replay delivered b (wrote it, deleted it): parking it now parks nothing.
    await spool.remove([b!.key]);
    assert.equal(await spool.park({ ...b!, attempts: 1 }, 'late', now, undefined, 0), false);
    assert.equal(await spool.parkedCount(), 0);
    // A park from the current read goes through, once.
    assert.equal(await spool.park({ ...a!, attempts: 3 }, 'failed in 3 replays', now, undefined, 2), true);
    assert.equal(await spool.park({ ...a!, attempts: 3 }, 'failed in 3 replays', now, undefined, 2), false);
    assert.deepEqual(await spool.heads(), []);
    const parked = await spool.parked();
    assert.equal(parked.length, 1);
    assert.equal(parked[0]!.attempts, 3);
  });

  it('reports depth and oldest entry per shard, capped, and deletes in batches', async () => {
    const t0 = Date.now() - 3_600_000;
    for (let i = 0; i < 60; i++) await spool.save(`5:${i}:1`, [point(i)], t0 + i, Date.now() + 5000);
    const stats = await spool.queueStats();
    assert.deepEqual(stats, { depth: 60, depthIsLowerBound: false, oldestQueuedAtMs: t0 });
    const keys = (await spool.heads()).map((h) => h.key);
    assert.deepEqual(await spool.remove(keys), []);
    assert.deepEqual(await spool.queueStats(), {
      depth: 0,
      depthIsLowerBound: false,
      oldestQueuedAtMs: undefined,
    });
    // Deleting what is already gone is no error.
    assert.deepEqual(await spool.remove(keys.slice(0, 3)), []);
  });

  it('says when the depth count reached its cap', async () => {
    const small = new DynamoSpool(dynamo.client, spool.tableName, { shardCount: 1 });
    for (let i = 0; i < 5; i++) await small.save(`5:${i}:1`, [point(i)], Date.now(), Date.now() + 5000);
    const capped = await small.queueStats(undefined, 3);
    assert.equal(capped.depth, 3);
    assert.equal(capped.depthIsLowerBound, true);
  });
});
