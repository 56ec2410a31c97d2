// The hostile input corpus (test/fixtures/hostile/cases.json) through the real local server into the strict
// OpenTSDB stand-in: every case gets its expected status (a 4xx with a one-line reason, or a 200 whose
// datapoints OpenTSDB takes); nothing yields a 5xx, a crash, a refused point or an exploding metric set.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LocalBridge } from '../../dev/local-bridge.js';
import type { OpenTsdbStandIn } from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import { ERROR_FLAGS } from '../../lambda/webhook/error-tag.js';
import { type BridgeWithStandIn, startBridgeWithStandIn } from '../support/bridge-with-stand-in.js';
import {
  HOSTILE_DIR,
  type HostileCase,
  hostileBody,
  hostileFiles,
  loadHostileCases,
} from '../support/hostile-cases.js';

const TOKEN = 'hostile-corpus-token-7d1e';
/** Every 200 writes at least the 7 status points of the core set. */
const MIN_POINTS_PER_RUN = 7;
/** The default naming keeps the set of metric names small and fixed (metrics.md). */
const MAX_METRIC_NAMES = 80;
const METRIC_NAME = /^[a-z0-9._]+$/;
const YEAR_2000_SECONDS = Date.UTC(2000, 0, 1) / 1000;

interface Reply {
  status: number;
  body: Record<string, unknown>;
  text: string;
}

/** POSTs raw bytes; a transport failure is reported as status 0 so that the case fails with the reason. */
async function send(baseUrl: string, body: Buffer): Promise<Reply> {
  try {
    const response = await fetch(`${baseUrl}/push?token=${TOKEN}`, {
      method: 'POST',
      body,
      signal: AbortSignal.timeout(20_000),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      parsed = {};
    }
    const record =
      typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : {};
    return { status: response.status, body: record, text };
  } catch (error) {
    return { status: 0, body: {}, text: `transport failure: ${String(error)}` };
  }
}

describe('hostile input corpus: local server → strict OpenTSDB stand-in', () => {
  const cases = loadHostileCases();
  let setup: BridgeWithStandIn;
  let tsdb: OpenTsdbStandIn;
  let bridge: LocalBridge;
  /** Datapoints the bridge said it wrote, summed over every 200. */
  let pointsAnswered = 0;
  /** Metric name → the case that first made the bridge send it. */
  const firstSentBy = new Map<string, string>();

  const metricsSent = (): Set<string> =>
    new Set([
      ...tsdb.points.map((p) => p.metric),
      ...tsdb.rejected.map((r) => r.datapoint.metric ?? '<null>'),
    ]);

  before(async () => {
    setup = await startBridgeWithStandIn(TOKEN);
    ({ tsdb, bridge } = setup);
  });
  after(() => setup?.close());

  it('the manifest lists every corpus file once, and every case has a body', () => {
    assert.ok(cases.length >= 100, `at least 100 cases (has ${cases.length})`);
    const names = cases.map((c) => c.name);
    assert.equal(new Set(names).size, names.length, 'case names are unique');
    const listed = cases.flatMap((c) => (c.file === undefined ? [] : [c.file])).sort();
    assert.deepEqual(listed, hostileFiles(), 'files in the folder = files in the manifest');
    for (const c of cases) {
      if (c.file !== undefined) assert.ok(existsSync(join(HOSTILE_DIR, c.file)), c.file);
    }
  });

  const sendCase = async (c: HostileCase): Promise<void> => {
    const sentBefore = metricsSent();
    const reply = await send(bridge.url, hostileBody(c));
    for (const metric of metricsSent()) {
      if (!sentBefore.has(metric) && !firstSentBy.has(metric)) firstSentBy.set(metric, c.name);
    }
    const shown = reply.text.length > 300 ? `${reply.text.slice(0, 300)}…` : reply.text;
    assert.ok(reply.status > 0 && reply.status < 500, `no 5xx or crash: answered ${reply.status} ${shown}`);
    assert.equal(
      reply.status,
      c.expect,
      `expected ${c.expect} (${c.why}); answered ${reply.status} ${shown}`,
    );
    if (reply.status >= 400) {
      const error = reply.body.error;
      assert.equal(typeof error, 'string', `a 4xx carries an error string: ${shown}`);
      assert.ok(/^[^\r\n\u2028\u2029]+$/.test(String(error)), `the reason is one non-empty line: ${shown}`);
      return;
    }
    const written = reply.body.datapoints;
    assert.ok(
      typeof written === 'number' && Number.isInteger(written) && written >= MIN_POINTS_PER_RUN,
      `a 200 reports the datapoints written (at least ${MIN_POINTS_PER_RUN}): ${shown}`,
    );
    assert.equal(reply.body.rejected, undefined, `OpenTSDB refused none of the run's points: ${shown}`);
    assert.equal(reply.body.spooled, undefined, `nothing had to be spooled: ${shown}`);
    pointsAnswered += written;
  };

  for (const c of cases) {
    it(`${c.name} → ${c.expect}`, () => sendCase(c));
  }

  it('OpenTSDB stored every point the bridge reported, and was sent nothing it refuses', () => {
    assert.deepEqual(tsdb.violations, []);
    const refusals = tsdb.rejected.filter((r) => !r.error.startsWith('Unknown metric'));
    assert.deepEqual(
      refusals.slice(0, 5).map((r) => `${r.error} ← ${JSON.stringify(r.datapoint)}`),
      [],
      `${refusals.length} point(s) refused for a reason other than a first-sight unknown metric`,
    );
    const unknownSightings = new Map<string, number>();
    for (const r of tsdb.rejected) {
      const metric = r.datapoint.metric ?? '';
      unknownSightings.set(metric, (unknownSightings.get(metric) ?? 0) + 1);
    }
    const seenTwice = [...unknownSightings].filter(([, count]) => count > 1).map(([metric]) => metric);
    assert.deepEqual(seenTwice, [], 'each metric is refused as unknown at most once, then registered');
    for (const metric of unknownSightings.keys()) assert.ok(tsdb.knownMetrics.has(metric), metric);
    assert.equal(tsdb.duplicates, 0, 'every case writes its own series: no re-writes');
    assert.equal(tsdb.points.length, pointsAnswered, 'points stored = points the 200s reported');
  });

  it('every stored metric name is catchpoint.* in [a-z0-9._], and there are few of them', () => {
    const names = metricsSent();
    const bad = [...names].filter((m) => !m.startsWith('catchpoint.') || !METRIC_NAME.test(m));
    assert.deepEqual(bad, []);
    const byCase = new Map<string, number>();
    for (const source of firstSentBy.values()) byCase.set(source, (byCase.get(source) ?? 0) + 1);
    const introducers = [...byCase]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([name, count]) => `${name}: ${count}`);
    assert.ok(
      names.size < MAX_METRIC_NAMES,
      `${names.size} distinct metric names (limit ${MAX_METRIC_NAMES}); most came from ${introducers.join(', ')}`,
    );
  });

  it('the error tag takes only numeric codes and the documented vocabulary', () => {
    const allowed = new Set<string>([...ERROR_FLAGS, 'other', 'any']);
    const values = new Set(
      tsdb.points.filter((p) => p.metric.startsWith('catchpoint.error.')).map((p) => p.tags.error ?? ''),
    );
    assert.ok(values.size > 0, 'the corpus has failed runs');
    const bad = [...values].filter((v) => !allowed.has(v) && !/^\d{1,10}$/.test(v));
    assert.deepEqual(bad, []);
  });

  it('every stored point has 1–8 tags, no empty tag value, and a timestamp in whole seconds since 2000', () => {
    const latest = Date.now() / 1000 + 86_400;
    const bad = tsdb.points.filter((p) => {
      const values = Object.values(p.tags);
      return (
        values.length < 1 ||
        values.length > 8 ||
        values.some((v) => v === '') ||
        !Number.isInteger(p.timestamp) ||
        p.timestamp < YEAR_2000_SECONDS ||
        p.timestamp > latest
      );
    });
    assert.deepEqual(
      bad.slice(0, 5).map((p) => `${p.metric} ${p.timestamp} ${JSON.stringify(p.tags)}`),
      [],
    );
  });

  it('the bridge still answers /health', async () => {
    const response = await fetch(`${bridge.url}/health`, { signal: AbortSignal.timeout(5000) });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });
});
