// `npm run nodes -- --out nodes.json` against the Catchpoint stand-in; its file read back as NODES_FILE is.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readNodesFile } from '../../dev/nodes-file.js';
import { normaliseNodeList, recordStamp } from '../../lambda/nodes/normalise-node.js';
import {
  type CatchpointStandIn,
  fixtureNodes,
  STAND_IN_API_KEY,
  STAND_IN_CLIENT_ID,
  STAND_IN_CLIENT_SECRET,
  startCatchpointStandIn,
} from '../support/catchpoint-stand-in.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/fetch-nodes.ts', import.meta.url));

let dir: string;
let catchpoint: CatchpointStandIn;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fetch-nodes-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  catchpoint = await startCatchpointStandIn();
});
afterEach(async () => {
  await catchpoint.close();
});

/** Runs the script as `npm run nodes` does (tsx), with only the given environment (plus PATH). */
function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

/** The records minus their stamps, which depend on when they were made. */
const attributes = (records: { updatedAt: string; expiresAt: number }[]) =>
  records.map((r) => ({ ...r, updatedAt: '', expiresAt: 0 }));

describe('npm run nodes', () => {
  it('writes the v2 node list to --out, and readNodesFile reads it back', async () => {
    const out = join(dir, 'v2.json');
    const { code, stderr } = await run(['--out', out], {
      CATCHPOINT_API_KEY: STAND_IN_API_KEY,
      CATCHPOINT_API_URL: catchpoint.url,
    });
    assert.equal(code, 0, stderr);
    assert.match(stderr, /wrote 4 nodes \(API v2\)/);
    const { v2Nodes, enterprise } = fixtureNodes();
    const expected = normaliseNodeList(
      { version: 'v2', nodes: v2Nodes, enterprise },
      recordStamp(0, 7),
    ).records;
    assert.deepEqual(attributes(await readNodesFile(out)), attributes(expected));
  });

  it('uses API v1 with a client id and secret', async () => {
    const out = join(dir, 'v1.json');
    const { code, stderr } = await run(['--out', out], {
      CATCHPOINT_CLIENT_ID: STAND_IN_CLIENT_ID,
      CATCHPOINT_CLIENT_SECRET: STAND_IN_CLIENT_SECRET,
      CATCHPOINT_API_URL: catchpoint.url,
    });
    assert.equal(code, 0, stderr);
    const records = await readNodesFile(out);
    assert.deepEqual(
      records.map((r) => [r.nodeId, r.asn, r.isp]),
      [
        [77, 2516, 'KDDI'],
        [79, 28573, 'Claro S.A.'],
        [81, 16509, 'Amazon.com, Inc.'],
      ],
    );
  });

  it('fails with Catchpoint’s message and writes no file when the key is refused', async () => {
    const out = join(dir, 'refused.json');
    const { code, stderr } = await run(['--out', out], {
      CATCHPOINT_API_KEY: 'a-wrong-key',
      CATCHPOINT_API_URL: catchpoint.url,
    });
    assert.equal(code, 1);
    assert.match(stderr, /fetching the nodes failed: Catchpoint refused the API key.*Invalid API key\./);
    assert.ok(!stderr.includes('a-wrong-key'));
    await assert.rejects(stat(out));
  });

  it('says which variables to set when there are no credentials', async () => {
    const { code, stderr } = await run(['--out', join(dir, 'none.json')], {});
    assert.equal(code, 2);
    assert.match(
      stderr,
      /set CATCHPOINT_API_KEY \(API v2\), or CATCHPOINT_CLIENT_ID and CATCHPOINT_CLIENT_SECRET/,
    );
  });

  it('asks for --out', async () => {
    const { code, stderr } = await run([], { CATCHPOINT_API_KEY: STAND_IN_API_KEY });
    assert.equal(code, 2);
    assert.match(stderr, /usage: npm run nodes -- --out <file>/);
  });
});
