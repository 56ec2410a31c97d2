import type { ERROR_FLAGS } from '../webhook/error-tag.js';

/**
 * THE table from Catchpoint's raw-data metric names (`GET /api/v2/tests/explorer/raw`, spec §9) to the
 * measurements of the metric contract: the same snake_case names the push path reads from `Summary.Timing`,
 * `Summary.Ping`, … (lambda/webhook/measurement-names.ts), so a backfilled run and its push give the same
 * metric names. docs/metrics.md ("Backfill: raw metric names") lists it; keep both in step.
 *
 * Keys are normalised names (rawMetricKey): lower case, the bracketed unit dropped, no spaces. A name that
 * is not here is never guessed at: the caller counts it and reports it.
 */
export type RawMetricRule =
  /** A measurement of a detail group, with the push path's suffix. */
  | { kind: 'measurement'; group: 'timing' | 'ping' | 'bytes' | 'counters'; suffix: string }
  /** `% Availability`: 100 for a run that succeeded, less (0) for one that failed. */
  | { kind: 'availability' }
  /** `% Content Availability`: below 100 when objects of the page failed (the push's `LoadObjects` flag). */
  | { kind: 'content-availability' }
  /** `# DNS Failures`, …: non-zero when the run failed so; `flag` is the push path's error tag for it. */
  | { kind: 'failure'; flag: (typeof ERROR_FLAGS)[number] | 'any' };

const timing = (suffix: string): RawMetricRule => ({ kind: 'measurement', group: 'timing', suffix });
const ping = (suffix: string): RawMetricRule => ({ kind: 'measurement', group: 'ping', suffix });
const counter = (suffix: string): RawMetricRule => ({ kind: 'measurement', group: 'counters', suffix });
const failure = (flag: (typeof ERROR_FLAGS)[number] | 'any'): RawMetricRule => ({ kind: 'failure', flag });

/**
 * Normalised raw name → rule. Both spellings of §9 (2015 v1, 2022 v2) normalise to one key each. Left out
 * on purpose, so they are reported as unmapped: names whose push field is not certain (`Downloaded Bytes`,
 * `File Size`: which of `Byte.Response`'s four?), names with no push field (`Speed Index`, `Apdex`,
 * `Throughput`, `Server Response`, `# Runs`, `# Zones`, `# Items (Total)`, `#Wire Requests`).
 */
export const RAW_METRIC_RULES: Readonly<Record<string, RawMetricRule>> = {
  // `Response (ms)` is the test's response time: the push's Summary.Timing.Total (and catchpoint.rtt.*).
  response: timing('total'),
  webpageresponse: timing('webpage_response'),
  dns: timing('dns'),
  connect: timing('connect'),
  ssl: timing('ssl'),
  send: timing('send'),
  wait: timing('wait'),
  load: timing('load'),
  redirect: timing('redirect'),
  timetofirstbyte: timing('time_to_first_byte'),
  contentload: timing('content_load'),
  domload: timing('dom_load'),
  documentcomplete: timing('document_complete'),
  wiretime: timing('wire'),
  clienttime: timing('client'),
  renderstart: timing('render_start'),
  timetotitle: timing('time_to_title'),
  firstpaint: timing('first_paint_time'),
  firstcontentfulpaint: timing('first_contentful_paint_time'),
  visuallycompletetime: timing('visually_complete_time'),
  timetointeractive: timing('time_to_interactive'),
  '%pingpacketloss': ping('packet_loss_pct'),
  pingroundtrip: ping('round_trip_time_avg'),
  '#connections': counter('connections'),
  '#hosts': counter('hosts'),
  '#failedrequests': counter('failed_requests'),
  '#jsfailures': counter('js_failures'),
  '#totalrequests': counter('requests'),
  '#redirect': counter('redirections'),
  '%availability': { kind: 'availability' },
  '%contentavailability': { kind: 'content-availability' },
  '#dnsfailures': failure('dns'),
  '#connectionfailures': failure('connection'),
  '#sslfailures': failure('ssl'),
  '#timeoutfailures': failure('timeout'),
  '#responsefailures': failure('any'),
  '#testerrors': failure('any'),
};

/** Units Catchpoint puts in brackets after a name: dropped before the lookup. */
const UNIT = /\((?:ms|msec|s|sec|bytes?|kb|kbps|%)\)\s*$/i;

/**
 * A raw metric name as RAW_METRIC_RULES keys it: `DNS (ms)`, `Dns (ms)`, `dns` → `dns`;
 * `# Connections`, `#Connections` → `#connections`; `% Ping Packet Loss` → `%pingpacketloss`. Only a
 * bracketed unit is dropped: `# Items (Total)` keeps its `(total)`.
 */
export function rawMetricKey(name: string): string {
  return name.trim().replace(UNIT, '').toLowerCase().replace(/\s+/g, '');
}

/** The rule of a raw metric name, or undefined when no rule matches (the caller reports it). */
export function rawMetricRule(name: string): RawMetricRule | undefined {
  const key = rawMetricKey(name);
  return Object.hasOwn(RAW_METRIC_RULES, key) ? RAW_METRIC_RULES[key] : undefined;
}
