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
import { createNodesTable, startEmbeddedDynamo } from '../../dev/embedded-dynamo.js';
import { FIXTURE_NODES_FILE } from '../../dev/fixtures.js';
import { readNodesFile } from '../../dev/nodes-file.js';
import { type OpenTsdbStandIn, startOpenTsdbStandIn } from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import { NodeTable } from '../../lambda/nodes/node-table.js';
import { resetBreaker } from '../support/breaker.js';
import { startBridgeWithStandIn } from '../support/bridge-with-stand-in.js';
import {
  type CatchpointStandIn,
  STAND_IN_API_KEY,
  startCatchpointStandIn,
} from '../support/catchpoint-stand-in.js';
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

/** Sends `signal` to the command once its first window is checkpointed (the file exists). */
function signalOnceWritten(
  checkpoint: string,
  signal: NodeJS.Signals,
): (child: ReturnType<typeof spawn>) => void {
  return (child) => {
    const poll = setInterval(() => {
      if (existsSync(checkpoint)) {
        clearInterval(poll);
        child.kill(signal);
      }
    }, 20);
    child.on('close', () => clearInterval(poll));
  };
}

/** Every stored point as its bytes: metric, timestamp, value text as sent, tags. */
const stored = (standIn: OpenTsdbStandIn): string[] =>
  standIn.points.map((p) => `${p.metric} ${p.timestamp} ${p.valueText} ${JSON.stringify(p.tags)}`).sort();

const putRequests = (standIn: OpenTsdbStandIn) =>
  standIn.requests.filter((r) => r.path.startsWith('/api/put'));

const [osaka, saoPaulo, frankfurt] = KNOWN_NODES;

/** Two tests, three nodes, a failed run of each kind, a null value, a ping run with a fraction. */
const RUNS: RunSpec[] = [
  {
    testId: 101,
    ...osaka,
    at: '2026-11-20T01:04:12Z',
    ms: 345,
    total: 812,
    dns: 4,
    connect: 12,
    ssl: 40,
    wait: 300,
    load: 30,
    documentComplete: 700,
    renderStart: 350,
    domLoad: 500,
    webpageResponse: 900,
    connections: 6,
    hosts: 3,
    speedIndex: 1200,
  },
  {
    testId: 101,
    ...saoPaulo,
    at: '2026-11-20T01:09:00Z',
    total: 4210,
    dns: null,
    connect: 14,
    failure: 'dns',
    speedIndex: 2100,
  },
  {
    testId: 102,
    ...frankfurt,
    at: '2026-11-20T02:30:59Z',
    ms: 999,
    total: 182,
    packetLoss: 25,
    roundTrip: 181.5,
  },
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
        const answer = await fetch(`${pushed.bridge.url}/push?token=${TOKEN}`, {
          method: 'POST',
          body: pushBody(run),
        });
        assert.equal(answer.status, 200, await answer.text());
      }
      const checkpoint = join(dir, 'same.json');
      const first = await backfill([
        '--tests',
        '101,102',
        ...WINDOW,
        '--window',
        '1h',
        '--checkpoint',
        checkpoint,
      ]);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(stored(tsdb), stored(pushed.tsdb));
      assert.ok(stored(tsdb).length > 50);
      assert.deepEqual(tsdb.violations, []);
      assert.match(first.stderr, /runs written: 5\n/);
      assert.match(first.stderr, /runs skipped as already stored: 0\n/);
      assert.match(first.stderr, /unmapped Catchpoint metric names[^\n]*\n {4}Speed Index: 2\n/);
      assert.doesNotMatch(first.stderr, /Apdex/, 'a name whose every value is null is not reported');
      assert.match(first.stderr, /6 window\(s\) of 1h00m/);
      assert.match(
        first.stderr,
        /7 request\(s\) to Catchpoint .*, no wait under the limits 7\/s, 20\/min, 500\/h, 2000\/day\./,
      );

      const puts = putRequests(tsdb).length;
      const second = await backfill([
        '--tests',
        '101,102',
        ...WINDOW,
        '--window',
        '1h',
        '--checkpoint',
        checkpoint,
      ]);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stderr, /runs written: 0\n/);
      assert.match(second.stderr, /runs skipped as already stored: 5\n/);
      assert.equal(putRequests(tsdb).length, puts, 'nothing written again');

      // Into the OpenTSDB the webhook wrote: every run is already there.
      const intoPushed = await backfill(
        ['--tests', '101,102', ...WINDOW, '--checkpoint', join(dir, 'pushed.json')],
        {
          OPENTSDB_URL: pushed.tsdb.url,
        },
      );
      assert.equal(intoPushed.code, 0, intoPushed.stderr);
      assert.match(intoPushed.stderr, /runs skipped as already stored: 5\n/);
      assert.equal(pushed.tsdb.duplicates, 0);
      assert.deepEqual(pushed.tsdb.violations, []);
    } finally {
      await pushed.close();
    }
  });

  it('narrows a window that has more, waits out a 429, and tags a node the list does not know from the run', async () => {
    const lima = {
      testId: 101,
      nodeId: 78,
      nodeName: 'Lima, PE - Claro',
      asn: 12252,
      at: '2026-11-20T04:00:00Z',
      total: 120,
    };
    catchpoint.data.rawRuns = [...RUNS, lima].map(rawRun);
    catchpoint.data.rawMaxItems = 2;
    catchpoint.addFault({
      path: '/api/v2/tests/explorer/raw',
      status: 429,
      headers: { 'X-Rate-Limit-Limit': '20', 'X-Rate-Limit-Remaining': '0', 'X-Rate-Limit-Reset': '1' },
      body: { data: null, errors: [{ id: '429', message: 'Rate limit exceeded.' }], completed: false },
    });
    const result = await backfill(['--tests', '101,102', ...WINDOW, '--checkpoint', join(dir, 'more.json')]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Catchpoint answered 429: Rate limit exceeded\.; asking again in 1s/);
    assert.match(result.stderr, /runs written: 6\n/);
    assert.match(result.stderr, /runs of nodes not in the node list: 1 /);
    const windows = catchpoint.requests
      .filter((r) => r.path === '/api/v2/tests/explorer/raw')
      .map((r) => `${r.query.get('startTimeUtc')}/${r.query.get('endTimeUtc')}`);
    assert.deepEqual(windows, [
      '2026-11-20T00:00:00/2026-11-20T06:00:00', // the 429
      '2026-11-20T00:00:00/2026-11-20T06:00:00', // has more: halves
      '2026-11-20T00:00:00/2026-11-20T03:00:00', // has more: halves
      '2026-11-20T00:00:00/2026-11-20T01:30:00',
      '2026-11-20T01:30:00/2026-11-20T03:00:00',
      '2026-11-20T03:00:00/2026-11-20T06:00:00', // has more: halves
      '2026-11-20T03:00:00/2026-11-20T04:30:00',
      '2026-11-20T04:30:00/2026-11-20T06:00:00',
    ]);
    assert.equal(tsdb.pointsOf('catchpoint.status.by_node').length, 6);
    assert.deepEqual(tsdb.pointsOf('catchpoint.rtt.by_isp', { nodeid: '78' })[0]?.tags, {
      testid: '101',
      nodeid: '78',
      isp: 'Claro',
    });
    assert.equal(tsdb.pointsOf('catchpoint.rtt.by_country', { nodeid: '78' })[0]?.tags.country, 'Peru');
    assert.deepEqual(tsdb.violations, []);
  });

  it('--failed-deliveries asks for availabilityFilter=8 and writes only those runs', async () => {
    catchpoint.data.rawRuns = RUNS.map((run, i) => rawRun({ ...run, pushFailed: i === 1 || i === 3 }));
    const result = await backfill([
      '--tests',
      '101,102',
      ...WINDOW,
      '--failed-deliveries',
      '--checkpoint',
      join(dir, 'failed.json'),
    ]);
    assert.equal(result.code, 0, result.stderr);
    const raw = catchpoint.requests.filter((r) => r.path === '/api/v2/tests/explorer/raw');
    assert.ok(raw.length > 0 && raw.every((r) => r.query.get('availabilityFilter') === '8'));
    assert.deepEqual(
      tsdb
        .pointsOf('catchpoint.status.by_node')
        .map((p) => `${p.tags.testid}/${p.tags.nodeid}/${p.tags.status}`)
        .sort(),
      ['101/79/error', '102/77/error'],
    );
    assert.deepEqual(
      tsdb
        .pointsOf('catchpoint.error.by_node')
        .map((p) => p.tags.error)
        .sort(),
      ['dns', 'timeout'],
    );
  });

  it('Ctrl-C stops after the window in flight; --resume reads and writes every other window once', async () => {
    const day: RunSpec[] = Array.from({ length: 24 }, (_, hour) => ({
      testId: 101,
      ...KNOWN_NODES[hour % 3]!,
      at: `2026-11-21T${String(hour).padStart(2, '0')}:30:00Z`,
      total: 100 + hour,
    }));
    catchpoint.data.rawRuns = day.map(rawRun);
    // The account's own caps, above the --rate given: the command keeps to the lower.
    catchpoint.data.usageLimits = { limits: { minute: 2000, hour: 5000, day: 20000 } };
    const checkpoint = join(dir, 'interrupted.json');
    const args = [
      '--tests',
      '101',
      '--from',
      '2026-11-21',
      '--to',
      '2026-11-22',
      '--window',
      '1h',
      '--rate',
      '4/s,1000/min',
      '--checkpoint',
      checkpoint,
    ];
    const first = await backfill(args, {}, signalOnceWritten(checkpoint, 'SIGINT'));
    assert.equal(first.code, 130, first.stderr);
    assert.match(
      first.stderr,
      /25 request\(s\) to Catchpoint .*, at least 6s under the limits 4\/s, 1000\/min, 500\/h, 2000\/day\./,
    );
    assert.match(first.stderr, /stopped by Ctrl-C: continue with the same flags and --resume/);
    const written = tsdb.pointsOf('catchpoint.status.by_node').length;
    assert.ok(written >= 1 && written < 24, `${written} runs before the stop`);

    const resumed = await backfill([...args, '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`\\(${written} done before\\)`));
    const markers = tsdb.pointsOf('catchpoint.status.by_node').map((p) => p.timestamp);
    assert.equal(markers.length, 24);
    assert.equal(new Set(markers).size, 24);
    assert.equal(tsdb.duplicates, 0, 'no point written twice');
    const raw = catchpoint.requests.filter((r) => r.path === '/api/v2/tests/explorer/raw');
    assert.equal(raw.length, 24, 'each window asked for once');
  });

  it('a crash (SIGKILL) loses at most the window in flight: resumed, every run is stored, none with another value', async () => {
    const day: RunSpec[] = Array.from({ length: 12 }, (_, hour) => ({
      testId: 102,
      ...KNOWN_NODES[hour % 3]!,
      at: `2026-11-22T${String(hour).padStart(2, '0')}:15:00Z`,
      total: 200 + hour,
      dns: hour,
    }));
    catchpoint.data.rawRuns = day.map(rawRun);
    const checkpoint = join(dir, 'crashed.json');
    const args = [
      '--tests',
      '102',
      '--from',
      '2026-11-22',
      '--to',
      '2026-11-22T12:00:00Z',
      '--window',
      '1h',
      '--rate',
      '4/s',
      '--checkpoint',
      checkpoint,
    ];
    const first = await backfill(args, {}, signalOnceWritten(checkpoint, 'SIGKILL'));
    assert.equal(first.signal, 'SIGKILL');
    const resumed = await backfill([...args, '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(tsdb.pointsOf('catchpoint.status.by_node').length, 12);
    assert.equal(tsdb.pointsOf('catchpoint.timing.dns').length, 12);
    assert.deepEqual(tsdb.violations, [], 'no point written again with other bytes');
    const raw = catchpoint.requests.filter((r) => r.path === '/api/v2/tests/explorer/raw');
    assert.ok(raw.length <= 13, `${raw.length} raw requests: at most the window in flight asked twice`);
  });

  it('--nodes-table tags from the DynamoDB nodes table, as the stack does', async () => {
    const dynamo = await startEmbeddedDynamo();
    try {
      await createNodesTable(dynamo.client, 'nodes');
      const records = await readNodesFile(FIXTURE_NODES_FILE);
      await new NodeTable(dynamo.client, 'nodes').putMany(
        records.map((r) => (r.nodeId === 77 ? { ...r, isp: 'KDDI Table Corp' } : r)),
      );
      catchpoint.data.rawRuns = RUNS.map(rawRun);
      const result = await backfill(
        [
          '--tests',
          '102',
          ...WINDOW,
          '--nodes-table',
          'nodes',
          '--endpoint',
          dynamo.endpoint,
          '--checkpoint',
          join(dir, 'table.json'),
        ],
        { AWS_REGION: 'local', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /tags from the nodes table nodes: 3 nodes/);
      assert.equal(tsdb.pointsOf('catchpoint.rtt.by_isp', { nodeid: '77' })[0]?.tags.isp, 'KDDI_Table_Corp');
    } finally {
      await dynamo.close();
    }
  });

  it('--dry-run prints put lines and writes nothing', async () => {
    catchpoint.data.rawRuns = RUNS.map(rawRun);
    const checkpoint = join(dir, 'dry.json');
    const result = await backfill(['--tests', '101,102', ...WINDOW, '--dry-run', '--checkpoint', checkpoint]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.ok(lines.length > 50 && lines.every((line) => line.startsWith('put catchpoint.')));
    assert.ok(lines.includes('put catchpoint.rtt.by_node 1795136652 812 testid=101 nodeid=77'));
    assert.ok(
      lines.includes(
        'put catchpoint.ping.round_trip_time_avg 1795141859 181.5 testid=102 nodeid=81 asn=16509 continent=Europe country=Germany isp=Amazon.com_Inc.',
      ),
    );
    assert.equal(putRequests(tsdb).length, 0);
    assert.equal(existsSync(checkpoint), false);
  });

  it('--dry-run into a reader that stops early (| head) ends quietly, exit 0', async () => {
    catchpoint.data.rawRuns = RUNS.map(rawRun);
    // Hour windows at 2 requests a second: the first window's lines arrive long before the next window's.
    const args = ['--tests', '101,102', ...WINDOW, '--dry-run', '--window', '1h', '--rate', '2/s'];
    const result = await backfill(args, {}, (child) => {
      child.stdout?.once('data', () => child.stdout?.destroy());
    });
    assert.doesNotMatch(result.stderr, /EPIPE|Unhandled/);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^put catchpoint\./);
  });

  it('refuses to write when OpenTSDB cannot say which runs it holds', async () => {
    catchpoint.data.rawRuns = RUNS.map(rawRun);
    // The Catchpoint stand-in answers /api/query with a 404, as a server without OpenTSDB's query API would.
    const result = await backfill(['--tests', '101', ...WINDOW, '--checkpoint', join(dir, 'noquery.json')], {
      OPENTSDB_URL: catchpoint.url,
    });
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /failed in window 101@2026-11-20T00:00:00Z\/2026-11-20T06:00:00Z: OpenTSDB GET \/api\/query answered 404/,
    );
    assert.equal(catchpoint.requests.filter((r) => r.path === '/api/put').length, 0);
  });

  it('exits 1 when nothing could be read, without the key in what it says', async () => {
    const none = await backfill(['--tests', '999', ...WINDOW, '--checkpoint', join(dir, 'none.json')]);
    assert.equal(none.code, 1, none.stderr);
    assert.match(none.stderr, /nothing could be read/);
    const refused = await backfill(['--tests', '101', ...WINDOW, '--checkpoint', join(dir, 'refused.json')], {
      CATCHPOINT_API_KEY: 'wrong-key-do-not-print',
    });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /Catchpoint refused the API key/);
    assert.doesNotMatch(refused.stderr + refused.stdout, /wrong-key-do-not-print/);
  });

  for (const [args, message] of [
    [['--tests', 'abc', ...WINDOW], /--tests: "abc" is not a test id/],
    [['--tests', '101', '--from', '2026-11-20T00:00:00Z'], /--from and --to are required/],
    [
      ['--tests', '101', '--from', '2026-11-20T00:00:00', '--to', '2026-11-21'],
      /--from: "2026-11-20T00:00:00" is not a UTC time/,
    ],
    [['--tests', '101', ...WINDOW, '--frm', 'x'], /Unknown option '--frm'/],
    [['--tests', '101', ...WINDOW, '--rate', '7/x'], /--rate: "7\/x" is not <count>/],
    [['--tests', '101', '--from', '2026-11-21', '--to', '2026-11-20'], /--to must be after --from/],
    [['--tests', '101', ...WINDOW, '--window', '10s'], /--window: "10s"/],
  ] as const) {
    it(`bad flags: ${args.join(' ')} → exit 2 and the usage`, async () => {
      const result = await backfill([...args]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.match(result.stderr, /usage: npm run backfill/);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(catchpoint.requests.length, 0);
    });
  }
});
