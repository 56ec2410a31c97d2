import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeListSource } from '../../lambda/catchpoint-api/api-client.js';
import type { RawNodeList } from '../../lambda/catchpoint-api/node-api-types.js';
import { DEFAULT_NODE_TTL_DAYS } from '../../lambda/config.js';
import { nodeDimensions } from '../../lambda/metrics/node-dimensions.js';
import { NodeCache, type NodeSource } from '../../lambda/nodes/node-cache.js';
import type { CountSample } from '../../lambda/nodes/node-count-peak.js';
import type { NodeRecord } from '../../lambda/nodes/node-record.js';
import type { StoredNodes } from '../../lambda/nodes/node-table.js';
import { normaliseNodeList, recordStamp } from '../../lambda/nodes/normalise-node.js';
import {
  failureAttributes,
  type NodeStore,
  RefreshError,
  type RefreshFailureReason,
  refreshNodes,
  sameAttributes,
} from '../../lambda/nodes/refresh-nodes.js';
import type { TestResult } from '../../lambda/webhook/test-result.js';
import { captureLog } from '../support/capture-log.js';
import {
  emptyPushFromV1Node,
  fixtureNodes,
  makeV1Items,
  makeV2Nodes,
} from '../support/catchpoint-stand-in.js';

const NOW = Date.UTC(2026, 10, 25, 12);
const DAY = 86_400;

/** The nodes table in memory, for the refresh (NodeStore) and for the push path's cache (NodeSource). */
class MemoryStore implements NodeStore, NodeSource {
  readonly rows = new Map<number, NodeRecord>();
  samples: CountSample[] = [];
  /** writeNodes calls: accepted answers. */
  puts = 0;
  /** putMany calls: refused answers re-stamping the nodes they list. */
  stamps = 0;
  failWrites = false;
  failReads = false;
  constructor(records: NodeRecord[] = []) {
    for (const r of records) this.rows.set(r.nodeId, r);
  }
  async readNodes(): Promise<StoredNodes> {
    if (this.failReads) throw new Error('ResourceNotFoundException');
    return { records: [...this.rows.values()], samples: [...this.samples] };
  }
  async writeNodes(records: readonly NodeRecord[], samples: readonly CountSample[]): Promise<void> {
    this.puts++;
    if (this.failWrites) throw new Error('ProvisionedThroughputExceededException');
    this.samples = [...samples];
    for (const r of records) this.rows.set(r.nodeId, r);
  }
  async putMany(records: readonly NodeRecord[]): Promise<void> {
    this.stamps++;
    if (this.failWrites) throw new Error('ProvisionedThroughputExceededException');
    for (const r of records) this.rows.set(r.nodeId, r);
  }
  async scanAll(): Promise<NodeRecord[]> {
    return [...this.rows.values()];
  }
  async get(nodeId: number): Promise<NodeRecord | undefined> {
    return this.rows.get(nodeId);
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
      peak: 0,
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

  it('refuses fewer than half the live nodes the table holds: it only re-stamps the nodes listed', async () => {
    const table = tableOf(250);
    const store = new MemoryStore(table);
    const error = await failure(
      refreshNodes({ source: source(v2(124)), store, ttlDays: 7, now: () => NOW }),
      'too-few-nodes',
    );
    assert.match(
      error.message,
      /returned 124 usable nodes but the table holds 250 live ones \(fewer than 50%\): suspecting a partial answer, the 124 known nodes it lists were re-stamped to stay live; nothing was added, changed or remembered$/,
    );
    assert.equal(error.details.fetched, 124);
    assert.equal(error.details.tableBefore, 250);
    assert.equal(error.details.stamped, 124);
    assert.equal(store.puts, 0);
    assert.deepEqual(store.samples, []);
    for (const before of table) {
      const listed = before.nodeId < 1124;
      assert.deepEqual(
        store.rows.get(before.nodeId),
        listed
          ? { ...before, updatedAt: new Date(NOW).toISOString(), expiresAt: NOW / 1000 + 7 * DAY }
          : before,
      );
    }
    // Exactly half is believable.
    await refreshNodes({ source: source(v2(125)), store, ttlDays: 7, now: () => NOW });
    assert.equal(store.puts, 1);
  });

  it('a refused answer adds no node and changes no attribute of the ones it lists', async () => {
    const table = tableOf(250);
    const store = new MemoryStore(table);
    // Ids 1000-1099, every one with another network type, and 20 nodes the table does not hold.
    const nodes = [
      ...makeV2Nodes(100).map((n) => ({ ...n, networkType: { id: 5, name: 'Wireless' } })),
      ...makeV2Nodes(20, 5000),
    ];
    const error = await failure(
      refreshNodes({
        source: source({ version: 'v2', nodes, enterprise: [] }),
        store,
        ttlDays: 3,
        now: () => NOW,
      }),
      'too-few-nodes',
    );
    assert.match(
      error.message,
      /the 100 known nodes it lists were re-stamped to stay live; nothing was added, changed or remembered \(20 it lists are not in the table\)$/,
    );
    assert.equal(store.rows.size, 250);
    for (const before of table) {
      const after = store.rows.get(before.nodeId)!;
      assert.ok(sameAttributes(after, before));
      assert.equal(after.expiresAt, before.nodeId < 1100 ? NOW / 1000 + 3 * DAY : before.expiresAt);
    }
  });

  it('a refused answer whose re-stamping fails says so, and still fails as refused', async () => {
    const store = new MemoryStore(tableOf(250));
    store.failWrites = true;
    const error = await failure(
      refreshNodes({ source: source(v2(100)), store, ttlDays: 7, now: () => NOW }),
      'too-few-nodes',
    );
    assert.match(
      error.message,
      /re-stamping the 100 known nodes it lists failed \(ProvisionedThroughputExceededException\)/,
    );
    assert.equal(error.details.stamped, 0);
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
    store.failReads = true;
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
      peak: 0,
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

describe('refreshNodes holds an answer against the largest of the last week', () => {
  const HOUR_MS = 3_600_000;
  const DAY_MS = 24 * HOUR_MS;
  const run = (store: MemoryStore, count: number, atMs: number, ttlDays = 7) =>
    refreshNodes({ source: source(v2(count)), store, ttlDays, now: () => atMs });

  it('1000, then 600, then 400 nodes: the third is refused', async () => {
    const store = new MemoryStore();
    await run(store, 1000, NOW);
    const second = await run(store, 600, NOW + HOUR_MS);
    assert.equal(second.peak, 1000);
    const error = await failure(run(store, 400, NOW + 2 * HOUR_MS), 'too-few-nodes');
    assert.match(
      error.message,
      /returned 400 usable nodes but an answer of 1000 on 2026-11-25T12:00:00.000Z is the most in the last 7 days/,
    );
    assert.equal(error.details.peak, 1000);
    assert.equal(store.puts, 2);
  });

  it('even once the nodes the partial answers left out have expired (what the table-only rule followed)', async () => {
    // Records last a day here: by the third run the 400 nodes missing from the second answer have expired
    // and the table holds 600 live ones, so "half of the live records" would have let 400 through.
    const store = new MemoryStore();
    await run(store, 1000, NOW, 1);
    await run(store, 600, NOW + 12 * HOUR_MS, 1);
    const error = await failure(run(store, 400, NOW + 25 * HOUR_MS, 1), 'too-few-nodes');
    assert.equal(error.details.tableBefore, 600);
    assert.equal(error.details.peak, 1000);
    assert.equal(store.puts, 2);
  });

  it('a refused answer is not remembered, so it lowers nothing', async () => {
    const store = new MemoryStore();
    await run(store, 1000, NOW);
    const remembered = [...store.samples];
    await failure(run(store, 300, NOW + HOUR_MS), 'too-few-nodes');
    assert.deepEqual(store.samples, remembered);
  });

  it('forgets the peak a week after it was seen', async () => {
    const store = new MemoryStore();
    await run(store, 1000, NOW);
    await run(store, 600, NOW + DAY_MS);
    // Just inside the week, 1000 still holds.
    await failure(run(store, 400, NOW + 7 * DAY_MS - 60_000), 'too-few-nodes');
    // Past it, 600 (a day younger) is the peak, and 400 is more than half of it.
    const result = await run(store, 400, NOW + 7 * DAY_MS + 60_000);
    assert.equal(result.peak, 600);
    assert.equal(result.written, 400);
    assert.deepEqual(store.samples, [
      { seenAtMs: NOW + DAY_MS, count: 600 },
      { seenAtMs: NOW + 7 * DAY_MS + 60_000, count: 400 },
    ]);
  });

  it('a growing list raises the peak at once', async () => {
    const store = new MemoryStore();
    await run(store, 400, NOW);
    await run(store, 1000, NOW + HOUR_MS);
    await failure(run(store, 499, NOW + 2 * HOUR_MS), 'too-few-nodes');
    assert.equal((await run(store, 500, NOW + 3 * HOUR_MS)).peak, 1000);
  });

  it('with nothing remembered (the first run), starts from the live records the table holds', async () => {
    const store = new MemoryStore(tableOf(1000));
    const first = await run(store, 600, NOW);
    assert.equal(first.peak, 1000);
    // The table's count is remembered as seen now (the answer's 600, seen at the same time, could never be
    // the peak): the next partial answer cannot go below half of it.
    assert.deepEqual(store.samples, [{ seenAtMs: NOW, count: 1000 }]);
    await failure(run(store, 400, NOW + HOUR_MS), 'too-few-nodes');
  });
});

describe('refreshNodes: a genuine shrink (1,000 nodes, then 400) strips none of the 400', () => {
  const HOUR_MS = 3_600_000;
  const DAY_MS = 24 * HOUR_MS;
  // v1 items: each with its region and ISP, which the payload cannot give.
  const v1 = (count: number): RawNodeList => ({ version: 'v1', items: makeV1Items(count) });
  // A push names its node as Catchpoint does.
  const push = (nodeId: number): TestResult => emptyPushFromV1Node(nodeId);
  const KEPT = [1000, 1200, 1399];
  const DROPPED = [1400, 1999];

  for (const ttlDays of [DEFAULT_NODE_TTL_DAYS, 3]) {
    it(`NODE_TTL_DAYS=${ttlDays}: a week of refused answers, then two days of outage, then the 400 accepted`, async () => {
      // One clock for the refresh, its records and the push path's cache.
      let t = NOW;
      const now = () => t;
      const store = new MemoryStore();
      const cache = new NodeCache(store, { ttlMs: 60_000, waitMs: 1000, log: captureLog(), now });
      const run = (raw: RawNodeList | Error) => refreshNodes({ source: source(raw), store, ttlDays, now });

      await run(v1(1000));
      const tags = new Map(KEPT.map((id) => [id, nodeDimensions(push(id), store.rows.get(id))]));
      for (const id of KEPT) assert.notEqual(tags.get(id)?.region, 'unknown');
      const droppedExpiry = NOW / 1000 + ttlDays * DAY;

      const check = async (when: string) => {
        for (const id of KEPT) {
          const record = await cache.get(id);
          assert.ok(record, `${when}: node ${id} has expired`);
          assert.deepEqual(nodeDimensions(push(id), record), tags.get(id), when);
        }
        // The 600 Catchpoint no longer lists: never re-stamped, they expire NODE_TTL_DAYS after the last
        // answer that listed them, as without the guard.
        for (const id of DROPPED) {
          assert.equal(store.rows.get(id)?.expiresAt, droppedExpiry, when);
          assert.equal((await cache.get(id)) !== undefined, t < droppedExpiry * 1000, `${when}: node ${id}`);
        }
      };

      // The week after the 1000: every hourly answer of 400 is refused, held against the 1000.
      let refused: RefreshError | undefined;
      for (t = NOW + HOUR_MS; t < NOW + 7 * DAY_MS; t += HOUR_MS) {
        refused = await failure(run(v1(400)), 'too-few-nodes');
        await check(`${(t - NOW) / HOUR_MS} h after the 1000, refused`);
        assert.equal(refused.details.peak, 1000);
      }
      assert.equal(store.puts, 1, 'only the 1000 were accepted');
      assert.deepEqual(store.samples, [{ seenAtMs: NOW, count: 1000 }], 'no refused count remembered');

      // Right after the guard's window, two days without an answer from Catchpoint.
      for (t = NOW + 7 * DAY_MS; t <= NOW + 9 * DAY_MS; t += HOUR_MS) {
        await failure(run(new Error('Catchpoint unreachable')), 'fetch-failed');
        await check(`${(t - NOW) / HOUR_MS} h after the 1000, in the outage`);
      }

      assert.equal(refused?.details.stamped, 400);

      // Back: the 1000 is more than a week old, so the 400 (all the table holds live) are accepted.
      const accepted = await run(v1(400));
      assert.deepEqual([accepted.peak, accepted.written, accepted.unchanged], [400, 400, 400]);
      assert.deepEqual(store.samples, [{ seenAtMs: t, count: 400 }]);
      await check('accepted');
    });
  }
});

describe('refreshNodes: a placeholder in an answer never overwrites a known value', () => {
  const { v1Items } = fixtureNodes();
  const HOUR_AGO = recordStamp(NOW - 3_600_000, 7);
  const PLACEHOLDERS = ['N/A', 'Unknown', 'unknown', '-', '', '   '];
  const REFS = ['isp', 'region', 'city', 'country', 'continent', 'network_type'] as const;

  for (const placeholder of PLACEHOLDERS) {
    it(`v1 ${JSON.stringify(placeholder)} in every attribute keeps the table's values`, async () => {
      const store = new MemoryStore(normaliseNodeList({ version: 'v1', items: v1Items }, HOUR_AGO).records);
      const before = new Map(store.rows);
      const items = v1Items.map((item) => ({
        ...item,
        ...Object.fromEntries(REFS.map((key) => [key, { id: 0, name: placeholder }])),
        asn: { value: placeholder, name: placeholder },
      }));
      const result = await refreshNodes({
        source: source({ version: 'v1', items }),
        store,
        ttlDays: 7,
        now: () => NOW,
      });
      assert.equal(result.written, 3);
      assert.equal(result.unchanged, 3);
      for (const [id, record] of before) {
        assert.deepEqual(
          { ...store.rows.get(id)!, updatedAt: '', expiresAt: 0 },
          { ...record, updatedAt: '', expiresAt: 0 },
        );
      }
    });

    it(`v2 ${JSON.stringify(placeholder)} from the Enterprise list keeps the table's values`, async () => {
      const { v2Nodes, enterprise } = fixtureNodes();
      const store = new MemoryStore(
        normaliseNodeList({ version: 'v2', nodes: v2Nodes, enterprise }, HOUR_AGO).records,
      );
      const before = store.rows.get(9001)!;
      const blank = { id: 0, name: placeholder };
      const thinned = enterprise.map((node) => ({
        ...node,
        country: blank,
        state: blank,
        continent: blank,
        internetServiceProvider: blank,
        city: blank,
        networkType: blank,
      }));
      await refreshNodes({
        source: source({ version: 'v2', nodes: v2Nodes, enterprise: thinned }),
        store,
        ttlDays: 7,
        now: () => NOW,
      });
      assert.deepEqual(
        { ...store.rows.get(9001)!, updatedAt: '', expiresAt: 0 },
        { ...before, updatedAt: '', expiresAt: 0 },
      );
    });
  }

  it('a placeholder name skips the entry and leaves its record as it was', async () => {
    const store = new MemoryStore(normaliseNodeList({ version: 'v1', items: v1Items }, HOUR_AGO).records);
    const before = store.rows.get(77)!;
    const items = v1Items.map((item) => (item.id === 77 ? { ...item, name: 'N/A' } : item));
    const result = await refreshNodes({
      source: source({ version: 'v1', items }),
      store,
      ttlDays: 7,
      now: () => NOW,
    });
    assert.equal(result.skipped, 1);
    assert.deepEqual(store.rows.get(77), before);
  });

  it('an ISP of "N/A" in the node name is not taken as one', async () => {
    const store = new MemoryStore();
    await refreshNodes({
      source: source({
        version: 'v2',
        nodes: [{ id: 5, name: 'Tokyo, JP - N/A', country: { id: 1, name: 'Japan' } }],
        enterprise: [],
      }),
      store,
      ttlDays: 7,
      now: () => NOW,
    });
    assert.equal(store.rows.get(5)?.isp, undefined);
    assert.equal(store.rows.get(5)?.city, 'Tokyo');
  });

  it('a placeholder the table already holds is not kept as a known value', async () => {
    const [known] = normaliseNodeList({ version: 'v1', items: v1Items }, HOUR_AGO).records;
    const store = new MemoryStore([{ ...known!, isp: 'N/A', region: 'Unknown' }]);
    const item = { ...v1Items[0]!, isp: null, region: null };
    await refreshNodes({
      source: source({ version: 'v1', items: [item] }),
      store,
      ttlDays: 7,
      now: () => NOW,
    });
    // The ISP comes from the name ("Osaka, JP - KDDI") again; no region is known.
    assert.equal(store.rows.get(77)?.isp, 'KDDI');
    assert.equal(store.rows.get(77)?.region, undefined);
  });
});
