// The metric names the bridge writes, from the tables datapoints.ts builds them with. The writer registers a
// name with OpenTSDB (`/api/uid/assign`) only when `isBridgeMetricName` says it is one of these, so nothing
// but this code can add a metric name to OpenTSDB's UID table.
import {
  BYTE_FIELDS,
  CONTENT_TYPE_KINDS,
  COUNTER_FIELDS,
  PING_FIELDS,
  TIMING_FIELDS,
} from '../webhook/measurement-names.js';

/** The pre-sliced dimensions of the core set, in the order their metrics are written. */
export const SLICES = ['node', 'asn', 'continent', 'city', 'country', 'region', 'isp'] as const;
export type Slice = (typeof SLICES)[number];

// Made once: a push writes each of them.
const RTT_METRICS = Object.fromEntries(SLICES.map((s) => [s, `catchpoint.rtt.by_${s}`])) as Record<
  Slice,
  string
>;
const STATUS_METRICS = Object.fromEntries(SLICES.map((s) => [s, `catchpoint.status.by_${s}`])) as Record<
  Slice,
  string
>;
export const rttMetric = (slice: Slice): string => RTT_METRICS[slice];
export const statusMetric = (slice: Slice): string => STATUS_METRICS[slice];
export const ERROR_METRIC = 'catchpoint.error.by_node';

/** The prefix of each detail set's `<prefix>.<measurement>` names. */
export const DETAIL_PREFIX = {
  timing: 'catchpoint.timing',
  ping: 'catchpoint.ping',
  bytes: 'catchpoint.bytes',
  counters: 'catchpoint.counter',
} as const;

export const TRACEROUTE_METRICS = {
  hops: 'catchpoint.traceroute.hops',
  rttAvg: 'catchpoint.traceroute.rtt_avg',
  packetLossPct: 'catchpoint.traceroute.packet_loss_pct',
} as const;

/**
 * The measurement names each detail set may carry (parse-push.ts reads them from the same tables); a nested
 * `ContentType` object adds `content_type.<kind>` to any group.
 */
const DETAIL_FIELDS: Readonly<Record<keyof typeof DETAIL_PREFIX, Readonly<Record<string, string>>>> = {
  timing: TIMING_FIELDS,
  ping: PING_FIELDS,
  bytes: BYTE_FIELDS,
  counters: COUNTER_FIELDS,
};

let baseNames: ReadonlySet<string> | undefined;

/** Every metric name of the default naming, whatever METRIC_SETS selects. */
export function bridgeMetricNames(): ReadonlySet<string> {
  if (baseNames) return baseNames;
  const names = new Set<string>([ERROR_METRIC, ...Object.values(TRACEROUTE_METRICS)]);
  for (const slice of SLICES) {
    names.add(rttMetric(slice));
    names.add(statusMetric(slice));
  }
  const contentTypes = Object.values(CONTENT_TYPE_KINDS).map((kind) => `content_type.${kind}`);
  for (const [set, prefix] of Object.entries(DETAIL_PREFIX) as [keyof typeof DETAIL_PREFIX, string][]) {
    for (const suffix of [...Object.values(DETAIL_FIELDS[set]), ...contentTypes])
      names.add(detailMetric(prefix, suffix));
  }
  baseNames = names;
  return names;
}

const detailNames = new Map<string, Map<string, string>>();

/**
 * `<prefix>.<measurement>`, each made once rather than once per push (measurements are the documented
 * fields only, so the maps stay small).
 */
export function detailMetric(prefix: string, suffix: string): string {
  let names = detailNames.get(prefix);
  if (names === undefined) {
    names = new Map();
    detailNames.set(prefix, names);
  }
  let name = names.get(suffix);
  if (name === undefined) {
    name = `${prefix}.${suffix}`;
    names.set(suffix, name);
  }
  return name;
}

/** `.<testId>` as `per-test` naming appends it: a positive whole number (parse-push refuses any other). */
const TEST_ID_SUFFIX = /\.([1-9]\d{0,15})$/;

/**
 * Whether the bridge itself writes `metric`: one of `bridgeMetricNames()`, or one of them followed by
 * `.<testId>` (per-test naming). Both forms are accepted whatever METRIC_NAMING says, so that replay, which
 * does not read METRIC_NAMING, can still register the names of runs spooled in either mode.
 */
export function isBridgeMetricName(metric: string): boolean {
  const names = bridgeMetricNames();
  if (names.has(metric)) return true;
  const suffix = TEST_ID_SUFFIX.exec(metric);
  return (
    suffix !== null &&
    Number.isSafeInteger(Number(suffix[1])) &&
    names.has(metric.slice(0, -suffix[0].length))
  );
}
