// Poison in the spool, against a real spool table (dynalite) and the strict OpenTSDB stand-in failing on
// particular runs in each way OpenTSDB really does (its poison API): a 5xx, a dropped connection, a storage
// exception, a reason never seen, a sync_timeout; the poison at the head, in the middle, a whole batch. The
// healthy runs go through in the first replay, the poison is parked by the third, OpenTSDB down stops it.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createSpoolTable, type EmbeddedDynamo, startEmbeddedDynamo } from '../../dev/embedded-dynamo.js';
import {
  type OpenTsdbStandIn,
  type PoisonKind,
  startOpenTsdbStandIn,
} from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import type { Datapoint } from '../../lambda/opentsdb/datapoint.js';
import type { DatapointSink, WriteOutcome } from '../../lambda/opentsdb/writer.js';
import { DynamoSpool } from '../../lambda/spool/dynamo-spool.js';
import { replayWriter } from '../../lambda/spool/replay-handler.js';
import { type ReplayOptions, replaySpool } from '../../lambda/spool/replay-spool.js';
import { resetBreaker } from '../support/breaker.js';
import { captureLog } from '../support/capture-log.js';

const T0 = 1795521852;

/** A run's points: 18 datapoints of realistic size, all tagged with the run's test id. */
function runPoints(testId: number): Datapoint[] {
  return Array.from({ length: 18 }, (_, i) => ({
    metric: `catchpoint.timing.m${i}`,
    timestamp: T0 + testId,
    value: testId * 100 + i + 0.25,
    tags: { testid: String(testId), nodeid: '77', asn: '2516', country: 'Japan', isp: 'KDDI' },
  }));
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

/**
 * Where the poison sits among runs 1–40 (a write carries 13 of these runs): three runs at the head, one in
 * the middle, the whole first batch.
 */
const PLACES: Record<string, readonly number[]> = {
  'at the head': range(1, 3),
  'in the middle': [20],
  'a whole batch': range(1, 13),
};

/** Every way OpenTSDB fails on a run that leaves it pending (`refuse` is final: tested apart). */
const KINDS: PoisonKind[] = ['500', 'drop', 'storage', 'unknown-reason', 'timeout'];

describe('poison in the spool', () => {
  let dynamo: EmbeddedDynamo;
  let tsdb: OpenTsdbStandIn;
  let spool: DynamoSpool;
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
    const name = `poison-${++table}`;
    await createSpoolTable(dynamo.client, name);
    spool = new DynamoSpool(dynamo.client, name);
    tsdb.reset();
    // The replay's writer has a breaker of its own; any other writer of the process starts closed.
    resetBreaker(tsdb.url);
  });

  /** The replay function's own writer (its breaker never opens), with short timeouts. */
  const writer = () =>
    replayWriter({ openTsdbUrl: tsdb.url, openTsdbTimeoutMs: 400, openTsdbSync: true }, captureLog());

  const replay = (sink: DatapointSink = writer(), options: Partial<ReplayOptions> = {}) =>
    replaySpool(spool, sink, {
      deadlineMs: Date.now() + 30_000,
      writeBudgetMs: 800,
      log: captureLog(),
      ...options,
    });

  async function spoolRuns(ids: readonly number[], atMs = Date.now() - 60_000): Promise<void> {
    for (const id of ids)
      await spool.save(`${id}:77:${T0 + id}`, runPoints(id), atMs + id, Date.now() + 5000);
  }

  async function queued() {
    return (await Promise.all(spool.shards.map((s) => spool.readPage(s, undefined, 100)))).flatMap(
      (p) => p.runs,
    );
  }

  const testIds = (runKeys: readonly { runKey: string }[]) =>
    runKeys.map((r) => Number(r.runKey.split(':')[0])).sort((a, b) => a - b);

  /** Every point of these runs is in the stand-in, each series once, with the bytes spooled. */
  function assertStored(ids: readonly number[]): void {
    const want = new Set(ids.map(String));
    const stored = tsdb.points.filter((p) => want.has(p.tags.testid!));
    assert.equal(stored.length, ids.length * 18, `every point of runs ${ids.join(', ')} is stored`);
    assert.deepEqual(tsdb.violations, []);
  }

  for (const kind of KINDS) {
    for (const [place, poison] of Object.entries(PLACES)) {
      it(`${kind}, ${place}: the healthy runs go in the first replay, the poison is parked in the third`, async () => {
        const poisoned = new Set(poison.map(String));
        tsdb.poison((p) => poisoned.has(p.tags.testid ?? ''), kind);
        const healthy = range(1, 40).filter((id) => !poison.includes(id));
        await spoolRuns(range(1, 40));

        const first = await replay();
        assert.equal(first.stoppedBy, undefined);
        assert.equal(first.replayed, healthy.length, 'every healthy run in the first replay');
        assertStored(healthy);
        const left = await queued();
        assert.deepEqual(testIds(left), [...poison]);
        assert.ok(
          left.every((r) => r.attempts === 1),
          'each poisoned run charged once',
        );

        // Two more replays, each with runs spooled since: those go through; the third parks the poison.
        await spoolRuns([101, 102]);
        const second = await replay();
        assert.equal(second.replayed, 2);
        assert.equal(second.parked, 0);
        await spoolRuns([201, 202]);
        const third = await replay();
        assert.equal(third.replayed, 2);
        assert.equal(third.parked, poison.length);
        assert.equal(third.depth, 0);
        assertStored([...healthy, 101, 102, 201, 202]);
        const parked = await spool.parked();
        assert.deepEqual(testIds(parked), [...poison]);
        assert.ok(parked.every((r) => r.attempts === 3));
        assert.match(parked[0]!.reason ?? '', /^failed in 3 replays while OpenTSDB stored others: /);
      });
    }
  }

  it('refuse: points OpenTSDB refuses for good finish their run at once, wherever they sit', async () => {
    tsdb.poison((p) => ['1', '2', '3', '20'].includes(p.tags.testid ?? ''), 'refuse');
    await spoolRuns(range(1, 40));
    const result = await replay();
    assert.equal(result.replayed, 40);
    assert.equal(result.rejected, 4 * 18);
    assert.equal(result.depth, 0);
    assert.equal(result.parked, 0);
    assertStored(range(4, 36).filter((id) => id !== 20));
  });

  it('thirty runs refused whole at the head (finding 2): the others go in the first replay, the thirty are parked in the third', async () => {
    // OpenTSDB refusing a whole request without details (an unparsable body) whenever it holds one of them.
    const poisoned = new Set(range(1, 30));
    const inner = writer();
    const sink: DatapointSink = {
      async write(points, deadlineMs): Promise<WriteOutcome> {
        if (points.some((p) => poisoned.has(Number(p.tags.testid))))
          return {
            written: 0,
            rejected: [],
            pending: [...points],
            unavailable: false,
            lastError: 'HTTP 400: Unable to parse the given JSON',
          };
        return inner.write(points, deadlineMs);
      },
    };
    await spoolRuns(range(1, 60));
    const first = await replay(sink);
    assert.equal(first.replayed, 30);
    assertStored(range(31, 30));
    await spoolRuns([101]);
    assert.equal((await replay(sink)).replayed, 1);
    await spoolRuns([201]);
    const third = await replay(sink);
    assert.equal(third.parked, 30);
    assert.equal(third.depth, 0);
  });

  it('OpenTSDB down: the replay stops within a few writes and charges nothing', async () => {
    await spoolRuns(range(1, 300));
    tsdb.fault = '500';
    const result = await replay(writer(), { writeBudgetMs: 300 });
    assert.match(result.stoppedBy ?? '', /^OpenTSDB unavailable: 12 writes failed in a row, none stored/);
    assert.equal(result.replayed, 0);
    assert.ok(result.writes <= 40, `${result.writes} writes`);
    assert.equal(result.depth, 300);
    assert.ok((await queued()).every((r) => r.attempts === 0));
  });

  // Gap 1: after the healthy runs drained, a replay holding nothing but poison stores nothing of its own; it
  // sends again the run an earlier replay kept as its known-good reference, and that is the evidence.
  for (const kind of ['500', 'timeout', 'storage'] as const) {
    it(`${kind}: a spool left with nothing but poison is parked by the third replay`, async () => {
      const poison = range(1, 3);
      const poisoned = new Set(poison.map(String));
      tsdb.poison((p) => poisoned.has(p.tags.testid ?? ''), kind);
      await spoolRuns(range(1, 10));
      const first = await replay();
      assert.equal(first.replayed, 7, 'the healthy runs in the first replay');
      assert.ok((await queued()).every((r) => r.attempts === 1));

      const second = await replay();
      assert.equal(second.stoppedBy, undefined);
      assert.equal(second.replayed, 0);
      assert.equal(second.charged, 3);
      assert.deepEqual(testIds(await queued()), poison);
      assert.ok((await queued()).every((r) => r.attempts === 2));

      const third = await replay();
      assert.equal(third.parked, 3);
      assert.equal(third.depth, 0);
      assert.equal(third.oldestAgeSeconds, 0);
      assert.deepEqual(testIds(await spool.parked()), poison);
      // The reference went again with the bytes OpenTSDB stored: duplicates, never a different value.
      assertStored(range(4, 7));
      assert.ok(tsdb.duplicates > 0, 'the reference was sent again');
    });
  }

  it('nothing but poison while OpenTSDB is down: the reference fails too, nothing is charged', async () => {
    tsdb.poison((p) => ['1', '2'].includes(p.tags.testid ?? ''), '500');
    await spoolRuns(range(1, 6));
    assert.equal((await replay()).replayed, 4);
    tsdb.fault = '500';
    const down = await replay(writer(), { writeBudgetMs: 300 });
    assert.match(down.stoppedBy ?? '', /^OpenTSDB unavailable/);
    assert.equal(down.charged, 0);
    assert.ok(
      (await queued()).every((r) => r.attempts === 1),
      'nothing charged',
    );
    // Back up: the reference is stored again, the poison charged.
    tsdb.fault = 'none';
    const back = await replay();
    assert.equal(back.charged, 2);
    assert.ok((await queued()).every((r) => r.attempts === 2));
    assertStored(range(3, 4));
  });

  it('nothing but poison, two replays at once: only the poison is parked, nothing written with other bytes', async () => {
    const poison = [2, 5];
    tsdb.poison((p) => ['2', '5'].includes(p.tags.testid ?? ''), '500');
    await spoolRuns(range(1, 8));
    assert.equal((await replay()).replayed, 6);
    for (let round = 2; round <= 3; round++) {
      const both = await Promise.all([replay(), replay()]);
      assert.ok(both.every((r) => r.replayed === 0 && r.stoppedBy === undefined));
    }
    assert.deepEqual(await queued(), []);
    const parked = await spool.parked();
    assert.deepEqual(testIds(parked), poison);
    assert.ok(parked.every((r) => r.attempts === 3));
    assertStored([1, 3, 4, 6, 7, 8]);
  });

  it('two replays at once with poison: nothing lost, nothing written twice with other bytes, only poison parked', async () => {
    const poison = [2, 17, 33];
    const poisoned = new Set(poison.map(String));
    tsdb.poison((p) => poisoned.has(p.tags.testid ?? ''), '500');
    await spoolRuns(range(1, 60));
    for (let round = 1; round <= 3; round++) {
      const both = await Promise.all([replay(), replay()]);
      assert.ok(
        both.every((r) => r.stoppedBy === undefined),
        'neither replay took the other for an outage',
      );
      if (round < 3) await spoolRuns([round * 100 + 1, round * 100 + 2]);
    }
    assertStored([...range(1, 60).filter((id) => !poison.includes(id)), 101, 102, 201, 202]);
    assert.deepEqual(await queued(), []);
    assert.deepEqual(testIds(await spool.parked()), poison);
  });
});
