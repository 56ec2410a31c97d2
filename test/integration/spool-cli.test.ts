// `npm run spool -- list | retry | drop` against `npm start`'s embedded spool table (--local, through the
// endpoint file npm start writes), in-process and once as the real command.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { FIXTURE_NODES_FILE } from '../../dev/fixtures.js';
import { type LocalBridge, startLocalBridge } from '../../dev/local-bridge.js';
import { type OpenTsdbStandIn, startOpenTsdbStandIn } from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import type { Datapoint } from '../../lambda/opentsdb/datapoint.js';
import type { DynamoSpool } from '../../lambda/spool/dynamo-spool.js';
import { type CliIo, runSpoolCli } from '../../scripts/spool.js';
import { CapturingLogger } from '../support/capturing-logger.js';

const points = (testId: number): Datapoint[] => [
  {
    metric: 'catchpoint.rtt.by_node',
    timestamp: 1795521852,
    value: testId,
    tags: { testid: String(testId), nodeid: '77' },
  },
];

describe('npm run spool against npm start', () => {
  let dir: string;
  let dynamoFile: string;
  let tsdb: OpenTsdbStandIn;
  let bridge: LocalBridge;
  let spool: DynamoSpool;
  const now = Date.UTC(2026, 10, 25, 12);

  before(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    dir = mkdtempSync(join(tmpdir(), 'spool-cli-'));
    dynamoFile = join(dir, 'dynamodb.json');
    tsdb = await startOpenTsdbStandIn({ autoCreateMetrics: true });
    bridge = await startLocalBridge(
      { PORT: '0', OPENTSDB_URL: tsdb.url, NODES_FILE: FIXTURE_NODES_FILE, REPLAY_INTERVAL_SECONDS: '3600' },
      // The replay runs on the test's fixed clock, as the CLI does: runs it requeues expire 14 days after it.
      { logger: new CapturingLogger({ serviceName: 'push' }), dynamoFile, now: () => now },
    );
    spool = bridge.spool!;
  });
  after(async () => {
    await bridge.close();
    await tsdb.close();
    assert.equal(existsSync(dynamoFile), false, 'npm start removes its endpoint file when it stops');
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    // Start from an empty spool: two parked runs (one run key parked twice, with different points) and
    // one queued.
    await spool.remove([...(await spool.parked()), ...(await spool.heads())].map((r) => r.key));
    for (const [testId, parkedAgo] of [
      [101, 300_000],
      [102, 7_200_000],
      [102, 60_000],
    ] as const) {
      await spool.save(
        `${testId}:77:1795521852`,
        points(testId + parkedAgo),
        now - 3 * 3_600_000,
        Date.now() + 5000,
      );
      const queued = (await spool.heads()).find((h) => h.runKey === `${testId}:77:1795521852`)!;
      const [run] = (await spool.readPage(queued.key.shard, undefined, 100)).runs.filter(
        (r) => r.key.entry === queued.key.entry,
      );
      await spool.park(
        { ...run!, attempts: 3 },
        'refused in 3 replays: HTTP 400: Unable to parse the given JSON',
        now - parkedAgo,
      );
    }
    await spool.save('103:77:1795521852', points(103), now - 30_000, Date.now() + 5000);
  });

  async function cli(args: string[], answer?: boolean) {
    const out: string[] = [];
    const err: string[] = [];
    const asked: string[] = [];
    const io: CliIo = {
      env: { LOCAL_DYNAMODB_FILE: dynamoFile },
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      confirm:
        answer === undefined
          ? undefined
          : async (question) => {
              asked.push(question);
              return answer;
            },
      now: () => now,
    };
    const code = await runSpoolCli(args, io);
    return { code, out: out.join('\n'), err: err.join('\n'), asked };
  }

  it('list shows each parked run with its age, attempts and reason, and the drain order', async () => {
    const { code, out, err } = await cli(['list', '--local']);
    assert.equal(code, 0, err);
    const lines = out.split('\n');
    assert.equal(lines[0], '3 parked run(s); 1 run(s) wait in the drain order.');
    assert.equal(
      lines[1],
      'oldest queued (sent next): 103:77:1795521852, queued 30 s ago, spooled 30 s ago, 0 attempts',
    );
    assert.match(lines[3]!, /^run key\s+spooled\s+parked\s+attempts\s+points\s+reason$/);
    const rows = lines.slice(5);
    assert.equal(rows.length, 3);
    assert.ok(
      rows.every((r) => /3 h 00 min ago/.test(r) && /\s3\s+1\s+refused in 3 replays: HTTP 400/.test(r)),
    );
    assert.equal(rows.filter((r) => r.startsWith('102:77:1795521852')).length, 2);
    assert.ok(rows.some((r) => r.startsWith('101:77:1795521852') && r.includes('5 min ago')));
    assert.ok(rows.some((r) => r.startsWith('102:77:1795521852') && r.includes('2 h 00 min ago')));
    const withIds = await cli(['list', '--local', '--ids']);
    assert.match(withIds.out, /\d{13}#101:77:1795521852#[A-Za-z0-9_-]{8}$/m);
    assert.match(withIds.out.split('\n')[1]!, /, id \d{13}#103:77:1795521852#[A-Za-z0-9_-]{8}$/);
  });

  it('list names the oldest queued run, whichever shard holds it, with its attempts and last failure', async () => {
    // Newer runs in other shards (at random), and the oldest retried after a failure: requeued, it is
    // queued later than it was spooled.
    for (const [testId, ago] of [
      [104, 20_000],
      [105, 10_000],
      [106, 25_000],
    ] as const) {
      await spool.save(`${testId}:77:1795521852`, points(testId), now - ago, Date.now() + 5000);
    }
    const [head] = await spool.heads(1);
    assert.equal(head?.runKey, '103:77:1795521852');
    assert.equal(await spool.recordFailure(head!.key, 'HTTP 500: java.lang.NullPointerException'), 1);
    const { code, out, err } = await cli(['list', '--local']);
    assert.equal(code, 0, err);
    assert.deepEqual(out.split('\n').slice(0, 2), [
      '3 parked run(s); 4 run(s) wait in the drain order.',
      'oldest queued (sent next): 103:77:1795521852, queued 30 s ago, spooled 30 s ago, 1 attempt, ' +
        'last failure: HTTP 500: java.lang.NullPointerException',
    ]);

    // Once it is gone, the next oldest, in whatever shard it is.
    await spool.remove([head!.key]);
    const next = await cli(['list', '--local']);
    assert.match(
      next.out,
      /^3 parked run\(s\); 3 run\(s\) wait in the drain order\.\noldest queued \(sent next\): 106:77:1795521852, queued 25 s ago, spooled 25 s ago, 0 attempts$/m,
    );

    // A parked run put back is queued now but was spooled 3 hours ago.
    await spool.remove((await spool.heads()).map((h) => h.key));
    assert.equal((await cli(['retry', '--local', '101:77:1795521852'])).code, 0);
    const retried = await cli(['list', '--local']);
    assert.match(
      retried.out,
      /^oldest queued \(sent next\): 101:77:1795521852, queued 0 s ago, spooled 3 h 00 min ago, 0 attempts$/m,
    );

    await spool.remove((await spool.heads()).map((h) => h.key));
    const empty = await cli(['list', '--local']);
    assert.equal(empty.out.split('\n')[0], '2 parked run(s); the drain order is empty.');
    assert.doesNotMatch(empty.out, /oldest queued/);
  });

  it('retry puts the named run (every item of it) back into the drain order, and replay sends it', async () => {
    const { code, out } = await cli(['retry', '--local', '102:77:1795521852']);
    assert.equal(code, 0);
    assert.match(out, /2 run\(s\) will be sent to OpenTSDB by the next replay/);
    assert.deepEqual(
      (await spool.parked()).map((r) => r.runKey),
      ['101:77:1795521852'],
    );
    const queued = await spool.heads();
    assert.equal(queued.filter((h) => h.runKey === '102:77:1795521852').length, 2);
    tsdb.reset();
    const replayed = await bridge.replayNow();
    assert.equal(replayed?.replayed, 3);
    assert.deepEqual(
      tsdb.points.map((p) => p.value).sort((a, b) => a - b),
      [103, 102 + 60_000, 102 + 7_200_000],
    );
  });

  it('retry --all empties the parked partition', async () => {
    const { code } = await cli(['retry', '--all', '--local']);
    assert.equal(code, 0);
    assert.equal((await spool.parked()).length, 0);
    assert.equal((await spool.heads()).length, 4);
  });

  it('drop asks first and deletes only after a yes; --yes does not ask', async () => {
    const declined = await cli(['drop', '--local', '101:77:1795521852'], false);
    assert.equal(declined.code, 0);
    assert.match(declined.asked[0]!, /Delete these 1 parked run\(s\) for good\?/);
    assert.match(declined.out, /nothing deleted/);
    assert.equal((await spool.parked()).length, 3);

    const accepted = await cli(['drop', '--local', '101:77:1795521852'], true);
    assert.equal(accepted.code, 0);
    assert.equal((await spool.parked()).length, 2);

    const yes = await cli(['drop', '--all', '--yes', '--local']);
    assert.equal(yes.code, 0);
    assert.deepEqual(yes.asked, []);
    assert.equal((await spool.parked()).length, 0);
    assert.equal((await spool.heads()).length, 1, 'the drain order is untouched');
  });

  it('says clearly what is wrong, without a stack trace', async () => {
    const noTerminal = await cli(['drop', '--all', '--local']);
    assert.equal(noTerminal.code, 1);
    assert.match(noTerminal.err, /add --yes \(there is no terminal to ask on\)/);
    assert.equal((await spool.parked()).length, 3);

    const unknown = await cli(['retry', '--local', '999:1:1']);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.err, 'no parked run "999:1:1" (npm run spool -- list shows them)');

    const noRuns = await cli(['retry', '--local']);
    assert.equal(noRuns.code, 2);
    assert.match(noRuns.err, /name the runs \(run key or item id\), or give --all/);

    const noTable = await cli(['list']);
    assert.equal(noTable.code, 2);
    assert.match(noTable.err, /^give --table NAME/);

    const missing = await cli(['list', '--table', 'no-such-table', '--endpoint', bridge.dynamo.endpoint]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^spool: no spool table "no-such-table"/);

    const notRunning = await runSpoolCli(['list', '--local'], {
      env: { LOCAL_DYNAMODB_FILE: join(dir, 'absent.json') },
      out: () => {},
      err: (line) => assert.match(line, /^npm start is not running \(no .*absent\.json\)/),
      confirm: undefined,
      now: () => now,
    });
    assert.equal(notRunning, 1);
    for (const text of [noTerminal.err, unknown.err, missing.err]) assert.doesNotMatch(text, /\n\s+at /);
  });

  it('runs as `npm run spool` does: the script itself, its output and exit codes', async () => {
    // Asynchronously: the embedded DynamoDB answering it runs in this process.
    const run = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'scripts/spool.ts', ...args],
          {
            env: {
              ...process.env,
              LOCAL_DYNAMODB_FILE: dynamoFile,
              AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
            },
            timeout: 60_000,
          },
          (error, stdout, stderr) => resolve({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        );
      });
    const [listed, refused] = await Promise.all([
      run(['list', '--local']),
      run(['drop', '--all', '--local']),
    ]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /^3 parked run\(s\)/);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /add --yes/);
    assert.doesNotMatch(refused.stderr, /\n\s+at /);
  });
});
