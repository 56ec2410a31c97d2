import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeListSource } from '../../lambda/catchpoint-api/api-client.js';
import type { RawNodeList } from '../../lambda/catchpoint-api/node-api-types.js';
import type { NodeRecord } from '../../lambda/nodes/node-record.js';
import { normaliseNodeList, recordStamp } from '../../lambda/nodes/normalise-node.js';
import {
  failureAttributes,
  type NodeStore,
  RefreshError,
  type RefreshFailureReason,
  refreshNodes,
  sameAttributes,
} from '../../lambda/nodes/refresh-nodes.js';
import { fixtureNodes, makeV2Nodes } from '../support/catchpoint-stand-in.js';

const NOW = Date.UTC(2026, 10, 25, 12);
const DAY = 86_400;

class MemoryStore implements NodeStore {
  readonly rows = new Map<number, NodeRecord>();
  puts = 0;
  failWrites = false;
  constructor(records: NodeRecord[] = []) {
    for (const r of records) this.rows.set(r.nodeId, r);
  }
  async scanAll(): Promise<NodeRecord[]> {
    return [...this.rows.values()];
  }
  async putMany(records: readonly NodeRecord[]): Promise<void> {
    this.puts++;
    if (this.failWrites) throw new Error('ProvisionedThroughputExceededException');
    for (const r of records) this.rows.set(r.nodeId, r);
  }
}

const source = (raw: RawNodeList | Error): NodeListSource => ({
  version: raw instanceof Error ? 'v2' : raw.version,
  fetchNodes: async () => {
    if (raw instanceof Error) throw raw;
    return raw;
  },
});
const v2 = (count: number): RawNodeList => ({ version: 'v2', nodes: makeV2Nodes(count), enterprise: [] });

/** `count` records as an earlier refresh (at `atMs`) would have written them. */
function tableOf(count: number, atMs = NOW - 3_600_000): NodeRecord[] {
  return normaliseNodeList(v2(count), recordStamp(atMs, 7)).records;
}

async function failure(promise: Promise<unknown>, reason: RefreshFailureReason): Promise<RefreshError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RefreshError, String(error));
    assert.equal(error.reason, reason, error.message);
    return error;
  }
  assert.fail(`expected a ${reason} failure`);
}

describe('refreshNodes', () => {
  it('fills an empty table and reports what it did', async () => {
    const store = new MemoryStore();
    const { v2Nodes, enterprise } = fixtureNodes();
    const result = await refreshNodes({
      source: source({ version: 'v2', nodes: v2Nodes, enterprise }),
      store,
      ttlDays: 7,
      now: () => NOW,
    });
    assert.deepEqual(result, {
      apiVersion: 'v2',
      fetched: 4,
      skipped: 0,
      tableBefore: 0,
      written: 4,
      unchanged: 0,
      added: 4,
      durationMs: 0,
    });
    assert.deepEqual([...store.rows.keys()].sort(), [77, 80, 81, 9001]);
    for (const record of store.rows.values()) assert.equal(record.expiresAt, NOW / 1000 + 7 * DAY);
  });

  it('rewrites unchanged nodes too, so that their expiry moves on', async () => {
    const store = new MemoryStore(tableOf(10));
    const changed = makeV2Nodes(12);
    changed[3] = { ...changed[3]!, networkType: { id: 5, name: 'Wireless' } };
    const result = await refreshNodes({
      source: source({ version: 'v2', nodes: changed, enterprise: [] }),
      store,
      ttlDays: 7,
      now: () => NOW,
    });
    assert.equal(result.written, 12);
    assert.equal(result.unchanged, 9);
    assert.equal(result.added, 2);
    assert.equal(result.tableBefore, 10);
    for (const record of store.rows.values()) {
      assert.equal(record.expiresAt, NOW / 1000 + 7 * DAY);
      assert.equal(record.updatedAt, new Date(NOW).toISOString());
    }
  });

  it('never deletes: nodes gone from the API stay until they expire', async () => {
    const store = new MemoryStore(tableOf(10));
    await refreshNodes({ source: source(v2(6)), store, ttlDays: 7, now: () => NOW });
    assert.equal(store.rows.size, 10);
    assert.equal(store.rows.get(1009)?.expiresAt, tableOf(1)[0]!.expiresAt);
  });

  it('counts entries it cannot use as skipped', async () => {
    const nodes = [...makeV2Nodes(3), { id: 0, name: 'bad' }, { name: 'no id' }, makeV2Nodes(1)[0]!];
    const result = await refreshNodes({
      source: source({ version: 'v2', nodes, enterprise: [] }),
      store: new MemoryStore(),
      ttlDays: 7,
      now: () => NOW,
    });
    assert.equal(result.fetched, 6);
    assert.equal(result.skipped, 3);
    assert.equal(result.written, 3);
  });

  it('writes nothing when the fetch fails, and says why', async () => {
    const store = new MemoryStore(tableOf(5));
    const error = await failure(
      refreshNodes({ source: source(new Error('page 3 answered 500')), store, ttlDays: 7 }),
      'fetch-failed',
    );
    assert.match(error.message, /could not fetch the node list \(API v2\).*: page 3 answered 500/);
    assert.equal(store.puts, 0);
  });

  it('writes nothing when the API gives fewer than half the live nodes the table holds', async () => {
    const store = new MemoryStore(tableOf(250));
    const error = await failure(
      refreshNodes({ source: source(v2(124)), store, ttlDays: 7, now: () => NOW }),
      'too-few-nodes',
    );
    assert.match(error.message, /returned 124 usable nodes but the table holds 250 live ones/);
    assert.equal(error.details.fetched, 124);
    assert.equal(error.details.tableBefore, 250);
    assert.equal(store.puts, 0);
    // Exactly half is believable.
    await refreshNodes({ source: source(v2(125)), store, ttlDays: 7, now: () => NOW });
    assert.equal(store.puts, 1);
  });

  it('does not count expired records against the answer', async () => {
    const store = new MemoryStore(tableOf(250, NOW - 8 * DAY * 1000));
    const result = await refreshNodes({ source: source(v2(10)), store, ttlDays: 7, now: () => NOW });
    assert.equal(result.tableBefore, 0);
    assert.equal(result.written, 10);
  });

  it('writes nothing when the API gives no usable node, even into an empty table', async () => {
    const store = new MemoryStore();
    await failure(refreshNodes({ source: source(v2(0)), store, ttlDays: 7 }), 'no-nodes');
    await failure(
      refreshNodes({
        source: source({ version: 'v1', items: [{ name: 'no id' }] }),
        store,
        ttlDays: 7,
      }),
      'no-nodes',
    );
    assert.equal(store.puts, 0);
  });

  it('fails when the table cannot be read, before writing', async () => {
    const store = new MemoryStore();
    store.scanAll = async () => {
      throw new Error('ResourceNotFoundException');
    };
    await failure(refreshNodes({ source: source(v2(3)), store, ttlDays: 7 }), 'table-read-failed');
    assert.equal(store.puts, 0);
  });

  it('reports a failed write', async () => {
    const store = new MemoryStore();
    store.failWrites = true;
    const error = await failure(refreshNodes({ source: source(v2(3)), store, ttlDays: 7 }), 'write-failed');
    assert.match(error.message, /ProvisionedThroughputExceededException/);
    assert.deepEqual(failureAttributes(error), {
      reason: 'write-failed',
      error: error.message,
      apiVersion: 'v2',
      fetched: 3,
      skipped: 0,
      tableBefore: 0,
      durationMs: error.details.durationMs,
    });
  });
});

describe('refreshNodes never strips what the table knows', () => {
  const HOUR_AGO = recordStamp(NOW - 3_600_000, 7);
  const fresh = { updatedAt: new Date(NOW).toISOString(), expiresAt: NOW / 1000 + 7 * DAY };

  it('a v2 refresh after a v1 one leaves the v1 region and ISP in place, with fresh stamps', async () => {
    const { v1Items, v2Nodes } = fixtureNodes();
    const probe = {
      id: 6,
      name: 'Mobile probe 6',
      asn: { value: 'AS3209' },
      isp: { id: 1, name: 'Vodafone' },
      region: { id: 2, name: 'Bavaria' },
      country: { id: 3, name: 'Germany' },
      continent: { id: 4, name: 'Europe' },
    };
    const v1Table = normaliseNodeList({ version: 'v1', items: [...v1Items, probe] }, HOUR_AGO).records;
    const store = new MemoryStore(v1Table);
    assert.equal(store.rows.get(81)?.region, 'Hesse');
    assert.equal(store.rows.get(81)?.isp, 'Amazon.com, Inc.');

    // API v2 without an Enterprise list: no region, no ISP (a public node's only comes from its name).
    const nodes = [...v2Nodes, { id: 6, name: 'Mobile probe 6', country: { id: 3, name: 'Germany' } }];
    const result = await refreshNodes({
      source: source({ version: 'v2', nodes, enterprise: [] }),
      store,
      ttlDays: 7,
      now: () => NOW,
    });

    assert.deepEqual(store.rows.get(81), {
      nodeId: 81,
      name: 'Frankfurt, DE - AWS',
      asn: 16509,
      city: 'Frankfurt',
      region: 'Hesse',
      country: 'Germany',
      countryCode: 'DE',
      continent: 'Europe',
      isp: 'Amazon.com, Inc.',
      networkType: 'PublicCloud',
      ...fresh,
    });
    assert.deepEqual(store.rows.get(6), {
      nodeId: 6,
      name: 'Mobile probe 6',
      asn: 3209,
      region: 'Bavaria',
      country: 'Germany',
      countryCode: 'DE',
      continent: 'Europe',
      isp: 'Vodafone',
      ...fresh,
    });
    assert.equal(store.rows.get(77)?.region, 'Osaka');
    assert.equal(store.rows.get(77)?.isp, 'KDDI');
    // Compared after the merge: the v1 nodes come out as they were; 80 is new; 79 is not in the answer.
    assert.deepEqual(
      { written: result.written, unchanged: result.unchanged, added: result.added },
      { written: 4, unchanged: 3, added: 1 },
    );
    assert.deepEqual(
      store.rows.get(79),
      v1Table.find((r) => r.nodeId === 79),
    );
  });

  it('an empty Enterprise list leaves ISP, state and continent of the Enterprise nodes', async () => {
    const { v2Nodes, enterprise } = fixtureNodes();
    const store = new MemoryStore(
      normaliseNodeList({ version: 'v2', nodes: v2Nodes, enterprise }, HOUR_AGO).records,
    );
    const before = store.rows.get(9001)!;
    assert.equal(before.isp, 'Verizon Business');
    // 9001 also in /nodes/all this time, so its name ("… - Acme Office") is at hand: the table's ISP still wins.
    const ashburn = {
      id: 9001,
      name: 'Ashburn, US - Acme Office',
      country: { id: 224, name: 'United States' },
    };
    const result = await refreshNodes({
      source: source({ version: 'v2', nodes: [...v2Nodes, ashburn], enterprise: [] }),
      store,
      ttlDays: 7,
      now: () => NOW,
    });
    assert.deepEqual(store.rows.get(9001), { ...before, ...fresh });
    assert.equal(result.unchanged, 4);
  });
});

describe('sameAttributes', () => {
  it('ignores the stamps and treats absent and empty alike', () => {
    const [a] = tableOf(1, NOW);
    const b = { ...a!, updatedAt: 'later', expiresAt: 1, region: '' };
    assert.ok(sameAttributes(a!, b));
    assert.ok(!sameAttributes(a!, { ...a!, isp: 'Other' }));
    assert.ok(!sameAttributes(a!, { ...a!, asn: undefined }));
  });
});
