import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture } from '../../dev/fixtures.js';
import { NodesFileError, parseNodesFile, readNodesFile, writeNodesFile } from '../../dev/nodes-file.js';
import type { NodeRecord } from '../../lambda/nodes/node-record.js';
import { REFRESH_STATE_KEY } from '../../lambda/nodes/node-table.js';
import { normaliseNodeList, recordStamp } from '../../lambda/nodes/normalise-node.js';
import { fixtureNodes } from '../support/catchpoint-stand-in.js';

const NOW = Date.UTC(2026, 10, 25, 12);
const stamp = recordStamp(NOW, 7);
const options = { now: NOW, ttlDays: 7 };

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nodes-file-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('readNodesFile', () => {
  it('reads a v1 answer {"items":[…]}', async () => {
    const records = await readNodesFile(await fileWith('v1.json', fixture('nodes/v1-items.json')), options);
    assert.deepEqual(
      records,
      normaliseNodeList({ version: 'v1', items: fixtureNodes().v1Items }, stamp).records,
    );
  });

  it('reads a v2 answer {"data":{"nodes":[…]}}, of /nodes/all or of the Enterprise list', async () => {
    const page = await readNodesFile(await fileWith('v2.json', fixture('nodes/v2-all-page1.json')), options);
    assert.deepEqual(
      page.map((r) => [r.nodeId, r.asn, r.isp, r.continent]),
      [
        [77, 2516, 'KDDI', 'Asia'],
        [80, 1221, 'Telstra', 'Oceania'],
      ],
    );
    const enterprise = await readNodesFile(
      await fileWith('ent.json', fixture('nodes/v2-enterprise.json')),
      options,
    );
    assert.deepEqual(
      enterprise.map((r) => [r.nodeId, r.region, r.isp]),
      [[9001, 'Virginia', 'Verizon Business']],
    );
  });

  it('reads a plain array of raw v1 and v2 nodes and normalised records, mixed', async () => {
    const { v1Items, v2Nodes } = fixtureNodes();
    const record: NodeRecord = {
      nodeId: 500,
      name: 'Oslo, NO - Telenor',
      asn: 2119,
      country: 'Norway',
      updatedAt: '2026-01-01T00:00:00.000Z',
      expiresAt: 1,
    };
    const path = await fileWith(
      'mixed.json',
      JSON.stringify([v1Items[1], v2Nodes[1], record, 'junk', { id: 0 }]),
    );
    const records = await readNodesFile(path, options);
    assert.deepEqual(
      records.map((r) => [r.nodeId, r.isp, r.asn]),
      [
        [79, 'Claro S.A.', 28573],
        [80, 'Telstra', 1221],
        [500, undefined, 2119],
      ],
    );
    // A normalised record keeps its fields and its updatedAt, but is stamped to expire a week from now.
    assert.deepEqual(records[2], { ...record, expiresAt: stamp.expiresAt });
  });

  it('skips the nodes table’s state item, say in an unmarshalled dump of the table', async () => {
    const state = {
      nodeId: REFRESH_STATE_KEY,
      item: 'node refresh state',
      name: 'not a node',
      updatedAt: '2026-11-25T12:00:00.000Z',
      nodeCounts: [{ seenAt: '2026-11-25T12:00:00.000Z', count: 1342 }],
    };
    const record = { nodeId: 500, name: 'Oslo, NO - Telenor', updatedAt: '2026-01-01T00:00:00.000Z' };
    const records = await readNodesFile(
      await fileWith('dump.json', JSON.stringify([state, record])),
      options,
    );
    assert.deepEqual(
      records.map((r) => r.nodeId),
      [500],
    );
  });

  it('takes no placeholder (N/A, Unknown, -, blank) for a value', async () => {
    const record = {
      nodeId: 501,
      name: 'Oslo, NO - Telenor',
      city: 'N/A',
      region: 'Unknown',
      country: 'unknown',
      isp: '-',
      continent: '  ',
      networkType: '',
    };
    const [read] = await readNodesFile(
      await fileWith('placeholders.json', JSON.stringify([record])),
      options,
    );
    assert.deepEqual(read, {
      nodeId: 501,
      name: 'Oslo, NO - Telenor',
      updatedAt: stamp.updatedAt,
      expiresAt: stamp.expiresAt,
    });
    const [unnamed] = await readNodesFile(
      await fileWith('unnamed.json', JSON.stringify([{ nodeId: 502, name: 'N/A' }])),
      options,
    );
    assert.equal(unnamed, undefined);
  });

  it('reads back exactly what writeNodesFile wrote (expiry re-stamped)', async () => {
    const { v2Nodes, enterprise } = fixtureNodes();
    const written = normaliseNodeList(
      { version: 'v2', nodes: v2Nodes, enterprise },
      recordStamp(NOW - 86_400_000, 7),
    );
    const path = join(dir, 'round-trip.json');
    await writeNodesFile(path, written.records);
    const read = await readNodesFile(path, options);
    assert.deepEqual(
      read,
      written.records.map((r) => ({ ...r, expiresAt: stamp.expiresAt })),
    );
  });

  it('names the file and the problem when it cannot be used', async () => {
    await assert.rejects(readNodesFile(join(dir, 'missing.json')), NodesFileError);
    await assert.rejects(readNodesFile(await fileWith('bad.json', '{"items": [')), /bad\.json is not JSON/);
    await assert.rejects(
      readNodesFile(await fileWith('obj.json', '{"nodez": []}')),
      /obj\.json holds no node list/,
    );
  });
});

describe('nodes file: country names', () => {
  it('names the country as the metrics do, even in an older normalised file', () => {
    const text = JSON.stringify([
      {
        nodeId: 5,
        name: 'Seoul, KR - KT',
        country: 'Korea, Republic of',
        updatedAt: '2026-01-01T00:00:00Z',
        expiresAt: 1,
      },
    ]);
    const [record] = parseNodesFile(text, 'old.json', { now: Date.UTC(2026, 10, 25) });
    assert.equal(record?.country, 'South Korea');
  });
});
