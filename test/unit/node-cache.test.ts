import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NodeCache, type NodeSource } from '../../lambda/nodes/node-cache.js';
import type { NodeRecord } from '../../lambda/nodes/node-record.js';
import { captureLog } from '../support/capture-log.js';

const FAR = 4_000_000_000;
const node = (nodeId: number, expiresAt = FAR): NodeRecord => ({
  nodeId,
  name: `City ${nodeId}, JP - ISP`,
  updatedAt: '2026-11-24T00:00:00Z',
  expiresAt,
});

/** A source that counts its reads and can be made to fail or stall. */
function source(records: NodeRecord[]) {
  const calls = { scans: 0, gets: 0 };
  let mode: 'ok' | 'fail' | 'stall' | 'silent' = 'ok';
  const table = new Map(records.map((r) => [r.nodeId, r]));
  const src: NodeSource & { calls: typeof calls; table: typeof table; setMode(m: typeof mode): void } = {
    calls,
    table,
    setMode: (m) => {
      mode = m;
    },
    async scanAll() {
      calls.scans++;
      if (mode === 'fail') throw new Error('DynamoDB unreachable');
      if (mode === 'stall') await new Promise((r) => setTimeout(r, 200));
      if (mode === 'silent') await new Promise(() => {});
      return [...table.values()];
    },
    async get(id) {
      calls.gets++;
      if (mode === 'fail') throw new Error('DynamoDB unreachable');
      return table.get(id);
    },
  };
  return src;
}

describe('NodeCache', () => {
  it('loads the table once; in steady state a push reads nothing', async () => {
    const src = source([node(1), node(2)]);
    let now = 1_000_000;
    const cache = new NodeCache(src, { ttlMs: 300_000, waitMs: 1000, log: captureLog(), now: () => now });
    assert.equal((await cache.get(1))?.nodeId, 1);
    for (let i = 0; i < 100; i++) assert.equal((await cache.get(2))?.nodeId, 2);
    assert.deepEqual(src.calls, { scans: 1, gets: 0 });
    now += 300_000;
    await cache.get(1);
    assert.equal(src.calls.scans, 2, 'reloaded after the interval');
  });

  it('looks a missing node up at most once per interval, and finds one added since the load', async () => {
    const src = source([node(1)]);
    let now = 1_000_000;
    const cache = new NodeCache(src, { ttlMs: 300_000, waitMs: 1000, log: captureLog(), now: () => now });
    assert.equal(await cache.get(9), undefined);
    assert.equal(await cache.get(9), undefined);
    assert.equal(src.calls.gets, 1);
    src.table.set(9, node(9));
    now += 60_000;
    assert.equal(await cache.get(9), undefined, 'not asked again within the interval');
    now += 240_000;
    assert.equal((await cache.get(9))?.nodeId, 9, 'the reload brings it');
  });

  it('shares one load among concurrent pushes', async () => {
    const src = source([node(1)]);
    src.setMode('stall');
    const cache = new NodeCache(src, { ttlMs: 300_000, waitMs: 1000, log: captureLog() });
    await Promise.all(Array.from({ length: 20 }, () => cache.get(1)));
    assert.equal(src.calls.scans, 1);
  });

  it('DynamoDB down is not an error: undefined, a warning, and no retry storm', async () => {
    const src = source([node(1)]);
    src.setMode('fail');
    const log = captureLog();
    const cache = new NodeCache(src, { ttlMs: 300_000, waitMs: 1000, log });
    assert.equal(await cache.get(1), undefined);
    assert.equal(await cache.get(1), undefined);
    assert.equal(src.calls.scans, 1);
    assert.equal(src.calls.gets, 1);
    assert.ok(log.entries.some((e) => e.level === 'warn'));
  });

  it('keeps the last good load when a reload fails', async () => {
    const src = source([node(1)]);
    let now = 1_000_000;
    const cache = new NodeCache(src, { ttlMs: 1000, waitMs: 1000, log: captureLog(), now: () => now });
    assert.ok(await cache.get(1));
    src.setMode('fail');
    now += 1000;
    assert.equal((await cache.get(1))?.nodeId, 1);
  });

  it('does not keep a push waiting longer than waitMs', async () => {
    const src = source([node(1)]);
    src.setMode('stall');
    const cache = new NodeCache(src, { ttlMs: 300_000, waitMs: 20, log: captureLog() });
    const started = Date.now();
    await cache.get(1);
    assert.ok(Date.now() - started < 150);
  });

  it('a load that never answers is given up, so that a later one can start', async () => {
    const src = source([node(1)]);
    src.setMode('silent');
    const cache = new NodeCache(src, { ttlMs: 50, waitMs: 10, loadTimeoutMs: 30, log: captureLog() });
    await cache.get(1);
    src.setMode('ok');
    await new Promise((r) => setTimeout(r, 120));
    assert.equal((await cache.get(1))?.nodeId, 1);
    assert.equal(src.calls.scans, 2);
  });

  it('ignores expired records (the local table has no TTL)', async () => {
    const src = source([node(1, 1000)]);
    const cache = new NodeCache(src, {
      ttlMs: 300_000,
      waitMs: 1000,
      log: captureLog(),
      now: () => 2_000_000,
    });
    assert.equal(await cache.get(1), undefined);
  });

  it('peek answers as get would whenever no read is due, and defers to get otherwise', async () => {
    const src = source([node(1), node(2, 1_500)]);
    let now = 2_000_000;
    const cache = new NodeCache(src, { ttlMs: 300_000, waitMs: 1000, log: captureLog(), now: () => now });
    assert.equal(cache.peek(1), undefined, 'nothing loaded yet: get must load');
    await cache.get(1);
    assert.equal(cache.peek(1)?.nodeId, 1);
    assert.equal(cache.peek(2), null, 'expired: as get, no record');
    assert.equal(await cache.get(2), undefined);
    assert.equal(cache.peek(9), undefined, 'never looked up: get must look it up');
    assert.equal(await cache.get(9), undefined);
    assert.equal(cache.peek(9), null, 'looked up and absent within the interval');
    assert.deepEqual(src.calls, { scans: 1, gets: 1 });
    now += 300_000;
    assert.equal(cache.peek(1), undefined, 'the interval is over: get must reload');
  });
});
