/** One Catchpoint test run, whatever format it arrived in. Pure data: no AWS, no HTTP. */
export interface TestResult {
  testId: number;
  nodeId: number;
  nodeName?: string;
  /** AS number from the payload, digits only. */
  asn?: number;
  typeId?: number;
  /** Epoch seconds of the run, or undefined when the payload had no usable timestamp. */
  timestamp?: number;
  failed: boolean;
  /** The `error` tag of a failed run: a numeric code or a documented flag name (error-tag.ts). */
  errorName?: string;
  /** Metric-name suffix → value. Names are snake_case (`content_load`, `content_type.image`). */
  timing: Measurements;
  ping: Measurements;
  bytes: Measurements;
  counters: Measurements;
  traceroute?: TracerouteSummary;
  /** Numeric measurement fields that are not on the documented list, so wrote no metric (a few at most). */
  ignoredFields?: readonly string[];
}

export type Measurements = Map<string, number>;

export interface TracerouteSummary {
  hops: number;
  /** Round-trip times of the last hop's probes; null for a lost probe. */
  lastHopRoundTrips: readonly (number | null)[];
}
