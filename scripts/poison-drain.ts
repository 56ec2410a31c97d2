// The drain benchmark's poison part (`npm run bench:drain -- --poison 1%`): the same drain as the clean one,
// through the same OpenTSDB (scripts/poison-proxy.ts in front of VictoriaMetrics), with a share of the runs
// poisoned, every kind of failure mixed in. Measured: how fast the healthy runs behind the poison go.
import { fileURLToPath } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { lambdaContext } from '../dev/lambda-shim.js';
import { startUrlProcess, type UrlProcess } from '../dev/url-process.js';
import type { Datapoint } from '../lambda/opentsdb/datapoint.js';
import type { MetricsRecorder } from '../lambda/shared/observability.js';
import type { DynamoSpool } from '../lambda/spool/dynamo-spool.js';
import { createReplayHandler, replayWriter } from '../lambda/spool/replay-handler.js';
import type { ReplayResult } from '../lambda/spool/replay-spool.js';
import { FIRST_POISON_TEST_ID, poisonKindOf } from './poison-proxy.js';
import { fixed, table, verdict } from './report.js';

const PROXY = fileURLToPath(new URL('./poison-proxy.ts', import.meta.url));

export type PoisonProxy = UrlProcess;

/** scripts/poison-proxy.ts in a process of its own, in front of `targetUrl`. */
export function startPoisonProxy(targetUrl: string): Promise<PoisonProxy> {
  return startUrlProcess('the poison proxy', PROXY, [targetUrl]);
}

/** `--poison 1%` (or `0.01`) as a share in 0…0.5. */
export function poisonShare(raw: string): number {
  const share = raw.endsWith('%') ? Number(raw.slice(0, -1)) / 100 : Number(raw);
  if (!Number.isFinite(share) || share <= 0 || share > 0.5)
    throw new Error('--poison must be a share of the runs, e.g. 1% (at most 50%)');
  return share;
}

/** Every `1 / share`-th run's test id moved to the poisoned range, the kinds in turn. */
export function poisonedTestIds(share: number, healthyFrom: number): (i: number) => number {
  const every = Math.max(1, Math.round(1 / share));
  return (i) =>
    i % every === every - 1 ? FIRST_POISON_TEST_ID + Math.floor(i / every) : healthyFrom + (i % 2000);
}

export interface PoisonDrain {
  /** Healthy runs (and runs refused for good) delivered. */
  replayed: number;
  healthy: number;
  poisoned: number;
  /** Poisoned runs left in the drain order, each charged an attempt. */
  poisonLeft: number;
  charged: number;
  seconds: number;
  invocations: number;
}

/** Drains a spool holding `runs` with the replay handler until every run but the poisoned ones is in. */
export async function drainWithPoison(
  spool: DynamoSpool,
  runs: readonly { runKey: string; points: Datapoint[] }[],
  proxyUrl: string,
  timeoutMs: number,
  writerTimeoutMs: number,
  tuning: { parallelWrites?: number },
): Promise<PoisonDrain> {
  const stuck = runs.filter((r) => {
    const kind = poisonKindOf(Number(r.points[0]?.tags.testid));
    return kind !== undefined && kind !== 'refuse';
  }).length;
  const poisoned = runs.filter((r) => poisonKindOf(Number(r.points[0]?.tags.testid)) !== undefined).length;
  // Silent: the points refused for good are logged one by one otherwise.
  const logger = new Logger({ serviceName: 'replay', logLevel: 'SILENT' });
  const metrics: MetricsRecorder = { addMetric: () => undefined, publishStoredMetrics: () => undefined };
  const handler = createReplayHandler({
    spool,
    sink: replayWriter(
      { openTsdbUrl: proxyUrl, openTsdbTimeoutMs: writerTimeoutMs, openTsdbSync: true },
      logger,
    ),
    logger,
    metrics,
    tuning,
  });
  const started = performance.now();
  const invocations: ReplayResult[] = [];
  for (;;) {
    const result = await handler(undefined, lambdaContext('replay', timeoutMs));
    invocations.push(result);
    console.error(
      `poison invocation ${invocations.length}: ${result.replayed} runs, ${result.writes} writes, ` +
        `${result.charged} charged, depth ${result.depth}${result.stoppedBy ? `, stopped: ${result.stoppedBy}` : ''}`,
    );
    if (result.depth <= stuck || invocations.length >= 20) break;
    if (result.replayed === 0) throw new Error(`replay makes no progress: ${result.stoppedBy}`);
  }
  const seconds = (performance.now() - started) / 1000;
  const last = invocations.at(-1)!;
  return {
    replayed: invocations.reduce((n, r) => n + r.replayed, 0),
    healthy: runs.length - poisoned,
    poisoned,
    poisonLeft: last.depth,
    charged: invocations.reduce((n, r) => n + r.charged, 0),
    seconds,
    invocations: invocations.length,
  };
}

/** The poison drain's figures next to the clean drain's `cleanRate`, against the targets. */
export function printPoisonDrain(
  drained: PoisonDrain,
  share: number,
  runs: number,
  cleanRate: number,
  targets: { runsPerSecond: number; ratio: number },
): void {
  const rate = drained.replayed / drained.seconds;
  console.log(
    `\nThe same drain with ${fixed(share * 100)}% poison (${drained.poisoned} of ${runs} runs: refused, ` +
      'storage exception, unseen reason, sync_timeout, HTTP 500, dropped connection, in turn)\n',
  );
  console.log(
    table(
      ['figure', 'measured', 'target', ''],
      [
        ['clean drain (above, same run)', `${fixed(cleanRate, 0)} runs/s`, '', ''],
        [
          'drain with poison',
          `${fixed(rate, 0)} runs/s (${drained.replayed} runs in ${fixed(drained.seconds)} s)`,
          `≥ ${targets.runsPerSecond}`,
          verdict(rate >= targets.runsPerSecond, 'UNDER'),
        ],
        [
          'with poison ÷ clean',
          fixed(rate / cleanRate, 2),
          `≥ ${targets.ratio}`,
          verdict(rate / cleanRate >= targets.ratio, 'UNDER'),
        ],
        [
          'poisoned runs left queued',
          `${drained.poisonLeft} (charged ${drained.charged} attempts; refused points finish their run)`,
          '',
          '',
        ],
        ['replay invocations', String(drained.invocations), '', ''],
      ],
    ),
  );
}
