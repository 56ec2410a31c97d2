// `npm run backfill` as an operator runs it: the real command as a child process, against the Catchpoint
// stand-in (raw answers shaped as the published description) and the strict OpenTSDB stand-in; its points
// compared byte for byte with what the webhook path stores for the same runs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FIXTURE_NODES_FILE } from '../../dev/fixtures.js';
import { type OpenTsdbStandIn, startOpenTsdbStandIn } from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import { resetBreaker } from '../support/breaker.js';
import { startBridgeWithStandIn } from '../support/bridge-with-stand-in.js';
import { type CatchpointStandIn, STAND_IN_API_KEY, startCatchpointStandIn } from '../support/catchpoint-stand-in.js';
import { KNOWN_NODES, pushBody, RAW_METRICS, type RunSpec, rawRun } from '../support/raw-runs.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/backfill.ts', import.meta.url));
const TOKEN = 'backfill-test-token';

let dir: string;
let catchpoint: CatchpointStandIn;
let tsdb: OpenTsdbStandIn;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backfill-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  catchpoint = await startCatchpointStandIn({ rawMetrics: [...RAW_METRICS] });
  tsdb = await startOpenTsdbStandIn();
  resetBreaker(tsdb.url);
});
afterEach(async () => {
  await catchpoint.close();
  await tsdb.close();
});

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The command as `npm run backfill` runs it (tsx), with only the given environment (plus PATH). */
function backfill(
  args: string[],
  env: Record<string, string> = {},
  onStart?: (child: ReturnType<typeof spawn>) => void,
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        CATCHPOINT_API_KEY: STAND_IN_API_KEY,
        CATCHPOINT_API_URL: catchpoint.url,
        OPENTSDB_URL: tsdb.url,
        OPENTSDB_TIMEOUT_MS: '5000',
        NODES_FILE: FIXTURE_NODES_FILE,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    onStart?.(child);
  });
}

/** Every stored point as its bytes: metric, timestamp, value text as sent, tags. */
const stored = (standIn: OpenTsdbStandIn): string[] =>
  standIn.points.map((p) => `${p.metric} ${p.timestamp} ${p.valueText} ${JSON.stringify(p.tags)}`).sort();

const putRequests = (standIn: OpenTsdbStandIn) => standIn.requests.filter((r) => r.path.startsWith('/api/put'));

const [osaka, saoPaulo, frankfurt] = KNOWN_NODES;

/** Two tests, three nodes, a failed run of each kind, a null value, a ping run with a fraction. */
const RUNS: RunSpec[] = [
  { testId: 101, ...osaka, at: '2026-11-20T01:04:12Z', ms: 345, total: 812, dns: 4, connect: 12, ssl: 40, wait: 300, load: 30, documentComplete: 700, renderStart: 350, domLoad: 500, webpageResponse: 900, connections: 6, hosts: 3, speedIndex: 1200 },
  { testId: 101, ...saoPaulo, at: '2026-11-20T01:09:00Z', total: 4210, dns: null, connect: 14, failure: 'dns', speedIndex: 2100 },
  { testId: 102, ...frankfurt, at: '2026-11-20T02:30:59Z', ms: 999, total: 182, packetLoss: 25, roundTrip: 181.5 },
  { testId: 102, ...osaka, at: '2026-11-20T05:00:00Z', total: 30000, failure: 'timeout' },
  { testId: 101, ...frankfurt, at: '2026-11-20T05:59:59Z', total: 95, dns: 2, connect: 3 },
];

const WINDOW = ['--from', '2026-11-20T00:00:00Z', '--to', '2026-11-20T06:00:00Z'];

describe('npm run backfill', () => {
  it('stores the same bytes as the webhook for the same runs; a second backfill writes nothing', async () => {
    catchpoint.data.rawRuns = RUNS.map(rawRun);
    const pushed = await startBridgeWithStandIn(TOKEN);
    try {
      for (const run of RUNS) {
        const answer = await fetch(`${pushed.bridge.url}/push?token=${TOKEN}`, { method: 'POST', body: pushBody(run) });
        assert.equal(answer.status, 200, await answer.text());
      }
      const checkpoint = join(dir, 'same.json');
      const first = await backfill(['--tests', '101,102', ...WINDOW, '--window', '1h', '--checkpoint', checkpoint]);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(stored(tsdb), stored(pushed.tsdb));
      assert.ok(stored(tsdb).length > 50);
      assert.deepEqual(tsdb.violations, []);
      assert.match(first.stderr, /runs written: 5\n/);
      assert.match(first.stderr, /runs skipped as already stored: 0\n/);
      assert.match(first.stderr, /unmapped Catchpoint metric names[^\n]*\n {4}Speed Index: 2\n/);
      assert.doesNotMatch(first.stderr, /Apdex/, 'a name whose every value is null is not reported');
      assert.match(first.stderr, /6 window\(s\) of 1h00m/);

      const puts = putRequests(tsdb).length;
      const second = await backfill(['--tests', '101,102', ...WINDOW, '--window', '1h', '--checkpoint', checkpoint]);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stderr, /runs written: 0\n/);
      assert.match(second.stderr, /runs skipped as already stored: 5\n/);
      assert.equal(putRequests(tsdb).length, puts, 'nothing written again');

      // Into the OpenTSDB the webhook wrote: every run is already there.
      const intoPushed = await backfill(['--tests', '101,102', ...WINDOW, '--checkpoint', join(dir, 'pushed.json')], {
        OPENTSDB_URL: pushed.tsdb.url,
      });
      assert.equal(intoPushed.code, 0, intoPushed.stderr);
      assert.match(intoPushed.stderr, /runs skipped as already stored: 5\n/);
      assert.equal(pushed.tsdb.duplicates, 0);
      assert.deepEqual(pushed.tsdb.violations, []);
    } finally {
      await pushed.close();
    }
  });
});
