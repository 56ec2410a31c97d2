// The drain benchmark's OpenTSDB in front of VictoriaMetrics (which stores whatever it is sent): a process of
// its own that fails the points of poisoned runs as a TSD 2.4/2.5 does, each kind in its own way, and passes
// everything else on. A run is poisoned when its `testid` tag is in POISON_TEST_IDS; the kind follows from
// the id. `node --import tsx scripts/poison-proxy.ts <target URL>` prints the URL it listens on.
import { createServer, request } from 'node:http';
import { gunzipSync } from 'node:zlib';

export const POISON_KINDS = ['refuse', 'storage', 'unknown-reason', 'timeout', '500', 'drop'] as const;
export type BenchPoisonKind = (typeof POISON_KINDS)[number];

/** Test ids of poisoned runs: 700000 and on; kind `POISON_KINDS[id % 6]`. */
export const FIRST_POISON_TEST_ID = 700_000;

export function poisonKindOf(testId: number): BenchPoisonKind | undefined {
  return testId >= FIRST_POISON_TEST_ID && testId < FIRST_POISON_TEST_ID + 100_000
    ? POISON_KINDS[testId % POISON_KINDS.length]
    : undefined;
}

interface Point {
  metric: string;
  timestamp: number;
  value: number;
  tags: Record<string, string>;
}

const REASONS: Record<'refuse' | 'storage' | 'unknown-reason' | 'timeout', string> = {
  refuse: 'Too many tags: 9 maximum allowed: 8, tags: {…}',
  storage: 'Storage exception: org.hbase.async.RegionOfflineException: tsdb,,1 is offline',
  'unknown-reason': 'java.lang.IllegalStateException: a reason no writer has seen',
  timeout: 'Write timedout',
};

function forward(target: URL, body: Buffer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('/api/put', target),
      { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function main(): void {
  const target = new URL(process.argv[2] ?? '');
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks);
        const gzipped = req.headers['content-encoding'] === 'gzip';
        const points = JSON.parse((gzipped ? gunzipSync(raw) : raw).toString('utf8')) as Point[];
        const kinds = points.map((p) => poisonKindOf(Number(p.tags.testid)));
        if (kinds.every((k) => k === undefined)) {
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (gzipped) headers['content-encoding'] = 'gzip';
          res.writeHead(await forward(target, raw, headers)).end();
          return;
        }
        if (kinds.includes('drop')) {
          req.socket.destroy();
          return;
        }
        if (kinds.includes('500')) {
          res
            .writeHead(500, { 'content-type': 'application/json' })
            .end('{"error":{"code":500,"message":"Unexpected exception","trace":"…"}}');
          return;
        }
        const healthy = points.filter((_, i) => kinds[i] === undefined);
        if (healthy.length > 0)
          await forward(target, Buffer.from(JSON.stringify(healthy)), { 'content-type': 'application/json' });
        const failed = points.flatMap((p, i) => {
          const kind = kinds[i];
          return kind === undefined || kind === '500' || kind === 'drop'
            ? []
            : [{ datapoint: p, error: REASONS[kind], kind }];
        });
        const timeouts = failed.filter((f) => f.kind === 'timeout').length;
        if (timeouts > 0) {
          // A sync put with points HBase never stores is answered once its sync_timeout has passed.
          const syncTimeout = Number(
            new URL(req.url ?? '/', 'http://x').searchParams.get('sync_timeout') ?? 0,
          );
          await new Promise((r) => setTimeout(r, syncTimeout));
        }
        const refused = failed.some((f) => f.kind === 'refuse');
        const summary = {
          success: healthy.length,
          failed: failed.length - timeouts,
          ...(timeouts > 0 ? { timeouts } : {}),
          errors: failed.map(({ datapoint, error }) => ({ datapoint, error })),
        };
        res
          .writeHead(refused || timeouts > 0 ? 400 : 200, { 'content-type': 'application/json' })
          .end(JSON.stringify(summary));
      })().catch(() => {
        if (!res.headersSent) res.writeHead(502).end();
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address && typeof address === 'object') console.log(`http://127.0.0.1:${address.port}`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) main();
