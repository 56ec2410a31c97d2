// The replay function as its entry builds it: the factory over a real spool (dynalite), a real OpenTSDB
// writer (against the strict stand-in), Powertools' logger and a metrics recorder.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createSpoolTable, type EmbeddedDynamo, startEmbeddedDynamo } from '../../dev/embedded-dynamo.js';
import { lambdaContext } from '../../dev/lambda-shim.js';
import { type OpenTsdbStandIn, startOpenTsdbStandIn } from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import type { Datapoint } from '../../lambda/opentsdb/datapoint.js';
import type { MetricsRecorder } from '../../lambda/shared/observability.js';
import { DynamoSpool } from '../../lambda/spool/dynamo-spool.js';
import { createReplayHandler, replayWriter } from '../../lambda/spool/replay-handler.js';
import type { SpoolStore } from '../../lambda/spool/replay-spool.js';
import { resetBreaker } from '../support/breaker.js';
import { CapturingLogger } from '../support/capturing-logger.js';

const point = (run: number, i: number): Datapoint => ({
  metric: 'catchpoint.rtt.by_node',
  timestamp: 1795521852 + i,
  value: run * 10 + i,
  tags: { testid: String(run), nodeid: '77' },
});

/** Each metric's values as sent; `values` is their sum, `last` the last one sent. */
function recorder(): MetricsRecorder & {
  values: Map<string, number>;
  sent: Map<string, number[]>;
  published: number;
} {
  return {
    values: new Map(),
    sent: new Map(),
    published: 0,
    addMetric(name, _unit, value) {
      this.values.set(name, (this.values.get(name) ?? 0) + value);
      this.sent.set(name, [...(this.sent.get(name) ?? []), value]);
    },
    publishStoredMetrics() {
      this.published++;
    },
  };
}

describe('replay handler', () => {
  let dynamo: EmbeddedDynamo;
  let tsdb: OpenTsdbStandIn;
  let spool: DynamoSpool;
  let logger: CapturingLogger;
  let metrics: ReturnType<typeof recorder>;
  let table = 0;

  before(async () => {
    dynamo = await startEmbeddedDynamo();
    tsdb = await startOpenTsdbStandIn();
  });
  after(async () => {
    await tsdb.close();
    await dynamo.close();
  });
  beforeEach(async () => {
    const name = `spool-${++table}`;
    await createSpoolTable(dynamo.client, name);
    spool = new DynamoSpool(dynamo.client, name);
    await tsdb.acceptConnections();
    tsdb.reset();
    // Every scenario starts with OpenTSDB healthy: the process's breaker is shared by every writer.
    resetBreaker(tsdb.url);
    logger = new CapturingLogger({ serviceName: 'replay' });
    metrics = recorder();
  });

  const handler = (store: SpoolStore = spool) =>
    createReplayHandler({
      spool: store,
      sink: replayWriter({ openTsdbUrl: tsdb.url, openTsdbTimeoutMs: 500, openTsdbSync: true }, logger),
      logger,
      metrics,
      // One write gives up after a second (5 s in production) when OpenTSDB is down.
      tuning: { writeBudgetMs: 1000 },
    });

  it('drains the spool, reports what it replayed and an empty spool, and flushes the metrics once', async () => {
    const spooledAt = Date.now() - 120_000;
    for (let run = 1; run <= 3; run++) {
      await spool.save(`${run}:77:1795521852`, [point(run, 0), point(run, 1)], spooledAt, Date.now() + 5000);
    }
    const result = await handler()(undefined, lambdaContext('replay', 50_000));
    assert.equal(result.replayed, 3);
    assert.equal(tsdb.points.length, 6);
    assert.deepEqual(await spool.heads(), []);
    assert.equal(metrics.values.get('RunsReplayed'), 3);
    assert.equal(metrics.values.get('DatapointsReplayed'), 6);
    assert.equal(metrics.values.get('DatapointsRejected'), 0);
    assert.equal(metrics.values.get('RunsParked'), 0);
    assert.equal(metrics.values.get('ParkedRuns'), 0);
    assert.equal(metrics.values.get('SpoolDepth'), 0);
    // The age before the work (the runs were two minutes old), then after it (empty).
    const ages = metrics.sent.get('SpoolOldestAgeSeconds') ?? [];
    assert.equal(ages.length, 2);
    assert.ok(ages[0]! >= 120, `${ages[0]} s before the replay`);
    assert.equal(ages[1], 0);
    assert.equal(metrics.published, 1);
    const line = logger.records().find((r) => r.message === 'spool replay');
    assert.equal(line?.replayed, 3);
    assert.equal(line?.function_name, 'replay', 'the invocation context is on the line');
  });

  it('leaves the spool as it was while OpenTSDB is down, and says how deep and old it is', async () => {
    await spool.save('1:77:1795521852', [point(1, 0)], Date.now() - 90_000, Date.now() + 5000);
    // Not listening: no content causes that, so one run's write is evidence enough (#14).
    await tsdb.refuseConnections();
    const result = await handler()(undefined, lambdaContext('replay', 50_000));
    assert.equal(result.replayed, 0);
    assert.match(result.stoppedBy ?? '', /^OpenTSDB unavailable/);
    assert.equal((await spool.heads()).length, 1);
    assert.equal(metrics.values.get('RunsReplayed'), 0);
    assert.equal(metrics.values.get('SpoolDepth'), 1);
    assert.ok((metrics.sent.get('SpoolOldestAgeSeconds') ?? []).every((age) => age >= 90));
    assert.equal(metrics.published, 1);
  });

  it('still counts what a failed replay wrote: the runs OpenTSDB took before DynamoDB refused the deletes', async () => {
    for (let run = 1; run <= 3; run++) {
      await spool.save(`${run}:77:1795521852`, [point(run, 0)], Date.now() - 60_000, Date.now() + 5000);
    }
    const failingDeletes: SpoolStore = {
      shards: spool.shards,
      readPage: (...args) => spool.readPage(...args),
      remove: () => Promise.reject(new Error('delete refused')),
      recordFailure: (...args) => spool.recordFailure(...args),
      park: (...args) => spool.park(...args),
      queueStats: (...args) => spool.queueStats(...args),
      reference: (...args) => spool.reference(...args),
      keepReference: (...args) => spool.keepReference(...args),
      parkedCount: (...args) => spool.parkedCount(...args),
    };
    await assert.rejects(
      handler(failingDeletes)(undefined, lambdaContext('replay', 50_000)),
      /delete refused/,
    );
    assert.equal(tsdb.points.length, 3);
    assert.equal(metrics.values.get('RunsReplayed'), 3);
    assert.equal(metrics.values.get('DatapointsReplayed'), 3);
    // Depth, age and parked runs are not known after a failure: not sent rather than sent wrong.
    assert.equal(metrics.values.get('SpoolDepth'), undefined);
    assert.equal(metrics.published, 1);
  });

  it('sends what it did when the closing counts fail, and says what it could not count (finding 5)', async () => {
    for (let run = 1; run <= 3; run++) {
      await spool.save(`${run}:77:1795521852`, [point(run, 0)], Date.now() - 60_000, Date.now() + 5000);
    }
    const throttledCounts: SpoolStore = {
      shards: spool.shards,
      readPage: (...args) => spool.readPage(...args),
      remove: (...args) => spool.remove(...args),
      recordFailure: (...args) => spool.recordFailure(...args),
      park: (...args) => spool.park(...args),
      queueStats: (...args) => spool.queueStats(...args),
      reference: (...args) => spool.reference(...args),
      keepReference: (...args) => spool.keepReference(...args),
      parkedCount: () => Promise.reject(new Error('ProvisionedThroughputExceededException: rate exceeded')),
    };
    await assert.rejects(
      handler(throttledCounts)(undefined, lambdaContext('replay', 50_000)),
      /rate exceeded/,
    );
    assert.deepEqual(await spool.heads(), [], 'the runs were written and deleted');
    assert.equal(metrics.values.get('RunsReplayed'), 3);
    assert.equal(metrics.values.get('DatapointsReplayed'), 3);
    assert.equal(metrics.values.get('DatapointsRejected'), 0);
    assert.equal(metrics.values.get('RunsParked'), 0);
    assert.equal(metrics.values.get('ParkedRuns'), undefined);
    assert.equal(metrics.values.get('SpoolDepth'), undefined);
    const errors = logger.records().filter((r) => r.level === 'ERROR');
    assert.equal(errors.length, 1, 'logged once');
    assert.equal(errors[0]!.message, 'spool replay could not count the spool');
    assert.deepEqual(errors[0]!.notCounted, ['SpoolDepth', 'SpoolOldestAgeSeconds', 'ParkedRuns']);
    assert.equal(errors[0]!.replayed, 3);
    assert.equal(metrics.published, 1);
  });

  it('sends the oldest age even when the replay then fails (finding 6)', async () => {
    await spool.save('1:77:1795521852', [point(1, 0)], Date.now() - 1_800_000, Date.now() + 5000);
    const unreadable: SpoolStore = {
      shards: spool.shards,
      readPage: () => Promise.reject(new Error('ProvisionedThroughputExceededException: rate exceeded')),
      remove: (...args) => spool.remove(...args),
      recordFailure: (...args) => spool.recordFailure(...args),
      park: (...args) => spool.park(...args),
      queueStats: (...args) => spool.queueStats(...args),
      reference: (...args) => spool.reference(...args),
      keepReference: (...args) => spool.keepReference(...args),
      parkedCount: (...args) => spool.parkedCount(...args),
    };
    await assert.rejects(handler(unreadable)(undefined, lambdaContext('replay', 50_000)), /rate exceeded/);
    const ages = metrics.sent.get('SpoolOldestAgeSeconds') ?? [];
    assert.equal(ages.length, 1);
    assert.ok(ages[0]! >= 1800, `${ages[0]} s: above the alarm's 900 s`);
    assert.equal(metrics.published, 1);
  });

  it('fails the invocation on an unexpected error, logging it once and still flushing the metrics', async () => {
    const broken: SpoolStore = {
      shards: spool.shards,
      readPage: () => Promise.reject(new Error('spool table gone')),
      remove: () => Promise.resolve([]),
      recordFailure: () => Promise.resolve(undefined),
      park: () => Promise.resolve(true),
      queueStats: () => Promise.resolve({ depth: 0, depthIsLowerBound: false, oldestQueuedAtMs: undefined }),
      reference: (...args) => spool.reference(...args),
      keepReference: (...args) => spool.keepReference(...args),
      parkedCount: () => Promise.resolve(0),
    };
    await assert.rejects(handler(broken)(undefined, lambdaContext('replay', 50_000)), /spool table gone/);
    const errors = logger.records().filter((r) => r.level === 'ERROR');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.message, 'spool replay failed');
    assert.match(String(errors[0]!.error), /spool table gone/);
    assert.equal(metrics.published, 1);
  });
});
