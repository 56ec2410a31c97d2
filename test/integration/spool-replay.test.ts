// Spool replay against a real spool table (dynalite) and the strict OpenTSDB stand-in: oldest first across
// shards, many runs per request and several requests in flight, a refused request split to find the run at
// fault, that run parked, deletes that remove only what replay read, two replays racing, the deadline.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createSpoolTable, type EmbeddedDynamo, startEmbeddedDynamo } from '../../dev/embedded-dynamo.js';
import { type OpenTsdbStandIn, startOpenTsdbStandIn } from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import type { Datapoint } from '../../lambda/opentsdb/datapoint.js';
import { type DatapointSink, OpenTsdbWriter, type WriteOutcome } from '../../lambda/opentsdb/writer.js';
import { DynamoSpool } from '../../lambda/spool/dynamo-spool.js';
import { type ReplayOptions, replaySpool, type SpoolStore } from '../../lambda/spool/replay-spool.js';
import { entryKey } from '../../lambda/spool/spool-keys.js';
import { decodePoints } from '../../lambda/spool/spooled-run.js';
import { resetBreaker, untilProbeDue } from '../support/breaker.js';
import { captureLog } from '../support/capture-log.js';

const T0 = 1795521852;

/** A run's points: `n` datapoints of realistic size (six tags), all tagged with the run's test id. */
function runPoints(testId: number, n = 18, extra: Record<string, string> = {}): Datapoint[] {
  return Array.from({ length: n }, (_, i) => ({
    metric: `catchpoint.timing.m${i}`,
    timestamp: T0 + testId,
    value: testId * 100 + i + 0.25,
    tags: {
      testid: String(testId),
      nodeid: '77',
      asn: '2516',
      continent: 'Asia',
      country: 'Japan',
      isp: 'KDDI',
      ...extra,
    },
  }));
}

const testIdOf = (point: Datapoint): number => Number(point.tags.testid);

/** The test ids of the runs in a write, in order of first appearance. */
function runsIn(points: readonly Datapoint[]): number[] {
  return [...new Set(points.map(testIdOf))];
}

/**
 * OpenTSDB refusing a whole request as contract 1 reports it (an unparsable body: every point pending,
 * OpenTSDB not unavailable) whenever the request holds a point of a poisoned run; other writes go to the
 * real writer and the stand-in.
 */
class RefusingSink implements DatapointSink {
  readonly writes: number[][] = [];
  constructor(
    private readonly inner: DatapointSink,
    private readonly poisoned: (point: Datapoint) => boolean,
  ) {}
  async write(points: readonly Datapoint[], deadlineMs: number): Promise<WriteOutcome> {
    this.writes.push(runsIn(points));
    if (points.some(this.poisoned)) {
      return {
        written: 0,
        rejected: [],
        pending: [...points],
        unavailable: false,
        lastError: 'HTTP 400: Unable to parse the given JSON',
      };
    }
    return this.inner.write(points, deadlineMs);
  }
}

describe('spool replay', () => {
  let dynamo: EmbeddedDynamo;
  let tsdb: OpenTsdbStandIn;
  let spool: DynamoSpool;
  let writer: OpenTsdbWriter;
  let table = 0;

  before(async () => {
    dynamo = await startEmbeddedDynamo();
    tsdb = await startOpenTsdbStandIn({ autoCreateMetrics: true });
  });
  after(async () => {
    await tsdb.close();
    await dynamo.close();
  });
  beforeEach(async () => {
    const name = `spool-${++table}`;
    await createSpoolTable(dynamo.client, name);
    spool = new DynamoSpool(dynamo.client, name);
    tsdb.reset();
    // Every scenario starts with OpenTSDB healthy: the process's breaker is shared by every writer.
    resetBreaker(tsdb.url);
    writer = new OpenTsdbWriter(tsdb.url, { timeoutMs: 2000, log: captureLog() });
  });

  const replay = (sink: DatapointSink, options: Partial<ReplayOptions> = {}, store: SpoolStore = spool) =>
    replaySpool(store, sink, { deadlineMs: Date.now() + 30_000, log: captureLog(), ...options });

  async function spoolRuns(testIds: readonly number[], atMs = Date.now() - 60_000): Promise<void> {
    for (const id of testIds)
      await spool.save(`${id}:77:${T0 + id}`, runPoints(id), atMs + id, Date.now() + 5000);
  }

  /** Every point of these runs is in the stand-in exactly once. */
  function assertStoredOnce(testIds: readonly number[], pointsPerRun = 18): void {
    const want = new Set(testIds.map(String));
    const stored = tsdb.points.filter((p) => want.has(p.tags.testid!));
    assert.equal(stored.length, testIds.length * pointsPerRun, 'every point of these runs is stored');
    for (const [series, points] of tsdb.series()) assert.equal(points.length, 1, `${series} stored once`);
  }

  it('reads the oldest runs first across every shard', async () => {
    // 40 runs spooled out of time order land in random shards; replay takes them in time order.
    const order = Array.from({ length: 40 }, (_, i) => (i * 17) % 40);
    const base = Date.now() - 600_000;
    for (const [i, slot] of order.entries()) {
      await spool.save(`${i + 1}:77:${T0}`, runPoints(i + 1, 2), base + slot * 1000, Date.now() + 5000);
    }
    const shards = new Set((await spool.heads()).map((h) => h.key.shard));
    assert.ok(shards.size >= 8, `the runs are spread over ${shards.size} shards`);
    const sink = new RefusingSink(writer, () => false);
    // One run per write, one write at a time, two items per Query page: the order of the writes is the
    // order replay read the runs in, and every shard is paged through.
    const result = await replay(sink, { batchJsonBytes: 1, parallelWrites: 1, pageSize: 2 });
    const expected = [...order.entries()].sort((a, b) => a[1] - b[1]).map(([i]) => i + 1);
    assert.deepEqual(sink.writes.flat(), expected);
    assert.equal(result.replayed, 40);
    assert.equal(result.depth, 0);
  });

  it('packs many runs into each request and keeps several requests in flight', async () => {
    const ids = Array.from({ length: 120 }, (_, i) => i + 1);
    await spoolRuns(ids);
    // The first write goes alone (the breaker's probe after an outage); then each write waits until another
    // one is in flight (or 5 s, which would fail the assertion below).
    let inFlight = 0;
    let most = 0;
    let writes = 0;
    let release: (() => void) | undefined;
    const sink: DatapointSink = {
      async write(points, deadlineMs) {
        writes++;
        inFlight++;
        most = Math.max(most, inFlight);
        if (writes > 1 && most < 2) {
          await new Promise<void>((resolve) => {
            release = resolve;
            setTimeout(resolve, 5000);
          });
        } else {
          release?.();
        }
        try {
          return await writer.write(points, deadlineMs);
        } finally {
          inFlight--;
        }
      },
    };
    const result = await replay(sink);
    assert.equal(result.replayed, 120);
    assert.equal(result.depth, 0);
    assert.ok(most >= 2, `at most ${most} write(s) in flight`);
    const puts = tsdb.requests.filter((r) => r.path.startsWith('/api/put'));
    assert.ok(120 / puts.length >= 10, `${puts.length} requests for 120 runs`);
    assert.ok(
      puts.every((r) => r.bodyBytes <= 8192),
      'every body within 8192 bytes',
    );
    assertStoredOnce(ids);
    assert.deepEqual(tsdb.violations, []);
  });

  it('splits a refused request to find the run at fault, parks it after 3 replays, and never holds back the others', async () => {
    const poison = 1013;
    const poisoned = (p: Datapoint) => testIdOf(p) === poison;
    await spoolRuns([...Array.from({ length: 30 }, (_, i) => 1000 + i)]);
    const sink = new RefusingSink(writer, poisoned);

    const first = await replay(sink);
    assert.equal(first.replayed, 29, 'every run but the poisoned one');
    assert.ok(first.splits >= 1, `${first.splits} splits`);
    assert.equal(first.parked, 0);
    assert.equal(first.depth, 1);
    assert.equal(first.stoppedBy, undefined);
    assertStoredOnce(Array.from({ length: 30 }, (_, i) => 1000 + i).filter((id) => id !== poison));
    // The poisoned run was written alone before it was charged.
    assert.ok(sink.writes.some((w) => w.length === 1 && w[0] === poison));
    const [left] = (await Promise.all(spool.shards.map((s) => spool.readPage(s, undefined, 10)))).flatMap(
      (p) => p.runs,
    );
    assert.equal(left?.runKey, `${poison}:77:${T0 + poison}`);
    assert.equal(left?.attempts, 1);
    assert.match(left?.lastError ?? '', /Unable to parse/);

    // Two more replays, each with new runs: those go through every time; the third refusal parks the run.
    await spoolRuns([2001, 2002, 2003]);
    const second = await replay(sink);
    assert.equal(second.replayed, 3);
    assert.equal(second.parked, 0);
    await spoolRuns([3001, 3002, 3003]);
    const third = await replay(sink);
    assert.equal(third.replayed, 3);
    assert.equal(third.parked, 1);
    assert.equal(third.parkedRuns, 1);
    assert.equal(third.depth, 0, 'the parked run is out of the drain order');
    assertStoredOnce([2001, 2002, 2003, 3001, 3002, 3003]);

    const parked = await spool.parked();
    assert.equal(parked.length, 1);
    assert.equal(parked[0]!.runKey, `${poison}:77:${T0 + poison}`);
    assert.equal(parked[0]!.attempts, 3);
    assert.match(
      parked[0]!.reason ?? '',
      /failed in 3 replays while OpenTSDB stored others: HTTP 400: Unable to parse/,
    );
    assert.deepEqual(decodePoints(parked[0]!.body).points, runPoints(poison), 'kept whole');

    // Parked runs wait for an operator: the next replay does not touch them.
    const fourth = await replay(sink);
    assert.equal(fourth.replayed, 0);
    assert.equal(fourth.parkedRuns, 1);
    assert.equal(sink.writes.at(-1)?.includes(poison), false);
  });

  it('charges nothing when OpenTSDB refuses every write, and stops', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => 4000 + i);
    await spoolRuns(ids);
    const sink = new RefusingSink(writer, () => true);
    const result = await replay(sink, { batchJsonBytes: 20_000 });
    assert.match(result.stoppedBy ?? '', /^OpenTSDB unavailable: 12 writes failed in a row, none stored/);
    assert.equal(result.replayed, 0);
    assert.equal(result.parked, 0);
    assert.equal(result.depth, 40);
    const runs = (await Promise.all(spool.shards.map((s) => spool.readPage(s, undefined, 100)))).flatMap(
      (p) => p.runs,
    );
    assert.equal(runs.length, 40);
    assert.ok(
      runs.every((r) => r.attempts === 0),
      'no run is charged for what OpenTSDB refuses to all',
    );
  });

  it('stops and leaves every run when OpenTSDB is unavailable', async () => {
    await spoolRuns([5001, 5002, 5003]);
    tsdb.fault = 'down';
    const result = await replay(writer, { writeBudgetMs: 300 });
    assert.match(result.stoppedBy ?? '', /^OpenTSDB unavailable/);
    assert.equal(result.replayed, 0);
    assert.equal(result.depth, 3);
    assert.ok(result.oldestAgeSeconds >= 50, `${result.oldestAgeSeconds} s`);
    const runs = (await Promise.all(spool.shards.map((s) => spool.readPage(s, undefined, 10)))).flatMap(
      (p) => p.runs,
    );
    assert.ok(runs.every((r) => r.attempts === 0));
    tsdb.fault = 'none';
    // The next scheduled replay: by then the breaker lets a probe through.
    await untilProbeDue(tsdb.url);
    assert.equal((await replay(writer)).replayed, 3);
    assertStoredOnce([5001, 5002, 5003]);
  });

  it('counts points OpenTSDB refuses for good and finishes their run', async () => {
    // A tag value with a space: OpenTSDB's "Invalid tag value" (a validation reason, final).
    await spool.save(
      '6001:77:1',
      [...runPoints(6001, 2), ...runPoints(6001, 1, { isp: 'K DDI' })],
      Date.now(),
      Date.now() + 5000,
    );
    const result = await replay(writer);
    assert.equal(result.replayed, 1);
    assert.equal(result.rejected, 1);
    assert.equal(result.datapoints, 2);
    assert.equal(result.depth, 0);
    assert.equal(tsdb.points.length, 2);
  });

  it('deletes only the item it read: a run spooled again during the replay is kept', async () => {
    const runKey = `7001:77:${T0 + 7001}`;
    await spool.save(runKey, runPoints(7001), Date.now() - 60_000, Date.now() + 5000);
    const original = (await spool.heads())[0]!;
    // While OpenTSDB takes the run, the push path spools the same run twice more: once identical (a
    // Catchpoint retry), once with other points (the node table changed in between: a new ISP tag).
    let respooled = false;
    const sink: DatapointSink = {
      async write(points, deadlineMs) {
        if (!respooled) {
          respooled = true;
          await spool.save(runKey, runPoints(7001), Date.now(), Date.now() + 5000);
          await spool.save(
            runKey,
            runPoints(7001, 18, { isp: 'KDDI_Corporation' }),
            Date.now(),
            Date.now() + 5000,
          );
        }
        return writer.write(points, deadlineMs);
      },
    };
    const first = await replay(sink);
    assert.equal(first.replayed, 1);
    const heads = await spool.heads();
    assert.equal(heads.length, 2, 'both new items survive the delete of the one replay read');
    assert.ok(heads.every((h) => h.runKey === runKey && h.key.entry !== original.key.entry));

    const second = await replay(writer);
    assert.equal(second.replayed, 2);
    assert.equal((await spool.heads()).length, 0);
    // Both versions of the run are in OpenTSDB; the identical retry was stored once.
    assert.equal(tsdb.points.length, 36);
    assert.equal(tsdb.duplicates, 18);
    assert.deepEqual(tsdb.violations, []);
  });

  it('two replays racing over the same spool lose nothing, and write duplicates only identical', async () => {
    const ids = Array.from({ length: 150 }, (_, i) => 8000 + i);
    await spoolRuns(ids);
    // Each replay's first write waits for the other's, so that both are surely reading and writing at once.
    let arrived = 0;
    let bothArrived: () => void = () => {};
    const together = new Promise<void>((resolve) => {
      bothArrived = resolve;
    });
    const racing = (): DatapointSink => {
      const own = new OpenTsdbWriter(tsdb.url, { timeoutMs: 2000, log: captureLog() });
      let first = true;
      return {
        async write(points, deadlineMs) {
          if (first) {
            first = false;
            if (++arrived === 2) bothArrived();
            await Promise.race([together, new Promise((r) => setTimeout(r, 5000))]);
          }
          return own.write(points, deadlineMs);
        },
      };
    };
    const [a, b] = await Promise.all([replay(racing()), replay(racing())]);
    assert.equal(arrived, 2);
    assert.ok(a.replayed + b.replayed >= 150, `${a.replayed} + ${b.replayed} runs replayed`);
    assert.equal((await spool.heads()).length, 0);
    assertStoredOnce(ids);
    // A point written twice was the same bytes both times (the stand-in reports any other rewrite).
    assert.deepEqual(tsdb.violations, []);
  });

  it('stops reading and writing at its deadline', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => 9000 + i);
    await spoolRuns(ids);
    // A clock that moves only with the writes: each takes one "second".
    let clock = 1_000_000;
    const written: number[] = [];
    const sink: DatapointSink = {
      async write(points) {
        written.push(...runsIn(points));
        clock += 1000;
        return { written: points.length, rejected: [], pending: [], unavailable: false };
      },
    };
    const reads: number[] = [];
    const store: SpoolStore = {
      shards: spool.shards,
      readPage: (...args) => {
        reads.push(clock);
        return spool.readPage(...args);
      },
      remove: (...args) => spool.remove(...args),
      recordFailure: (...args) => spool.recordFailure(...args),
      park: (...args) => spool.park(...args),
      queueStats: (...args) => spool.queueStats(...args),
      reference: (...args) => spool.reference(...args),
      keepReference: (...args) => spool.keepReference(...args),
      parkedCount: (...args) => spool.parkedCount(...args),
    };
    const deadlineMs = clock + 3500;
    const result = await replay(
      sink,
      { deadlineMs, now: () => clock, batchJsonBytes: 1, parallelWrites: 1, pageSize: 1 },
      store,
    );
    assert.equal(result.stoppedBy, 'out of time');
    assert.equal(written.length, 4, 'writes started at 0, 1, 2 and 3 s; none at 4 s');
    assert.equal(result.replayed, 4);
    assert.equal(result.depth, 26);
    assert.ok(
      reads.every((at) => at < deadlineMs),
      'no Query started at or after the deadline',
    );
    assert.deepEqual(written, ids.slice(0, 4), 'oldest first');
  });

  it('deletes runs past their retention unsent, and parks an unreadable item at once', async () => {
    const fifteenDaysAgo = Date.now() - 15 * 86_400_000;
    await spool.save('9901:77:1', runPoints(9901), fifteenDaysAgo, Date.now() + 5000);
    await dynamo.client.send(
      new PutItemCommand({
        TableName: spool.tableName,
        Item: {
          shard: { S: 'queue-03' },
          entry: { S: entryKey(Date.now() - 1000, '9902:77:1', 'abcdefgh') },
          runKey: { S: '9902:77:1' },
          spooledAt: { N: String(Date.now() - 1000) },
          body: { B: Buffer.from('not gzip') },
          expiresAt: { N: String(Math.floor(Date.now() / 1000) + 86_400) },
        },
      }),
    );
    await spoolRuns([9903]);
    const result = await replay(writer);
    assert.equal(result.expired, 1);
    assert.equal(result.parked, 1);
    assert.equal(result.replayed, 1);
    assert.equal(result.depth, 0);
    assert.equal(tsdb.points.length, 18, 'only the readable, current run was written');
    const parked = await spool.parked();
    assert.equal(parked[0]?.runKey, '9902:77:1');
    assert.match(parked[0]?.reason ?? '', /unreadable spool body/);
  });
});
