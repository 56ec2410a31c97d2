// The stand-in's public types, shared by its modules: this module imports nothing, so no module of the
// stand-in needs its entry (opentsdb-stand-in.ts, which re-exports these) and none imports in a circle.

/**
 * - `down`: the connection is reset once the request is read; `hang`: it is never answered.
 * - `500`: a JSON error with a long trace.
 * - `chunked`: the HTML "Chunked request not supported." 400 whatever the size, as an OpenTSDB (or a proxy in
 *   front of it) with a lower limit than the standard 8192 bytes would.
 * - `throttle`: every valid point refused with "Please throttle" (with or without `sync`).
 * - `storage`: HBase fails every valid point: a `sync` put is told "Storage exception: …" per point (with a
 *   200); any other put is answered as if they were stored, and they are lost (`lost`).
 * - `stall`: HBase never answers: a `sync` put is told "Write timedout" per point once its `sync_timeout`
 *   has passed (never answered without one); any other put is answered as stored, and the points are lost.
 * - `empty-200`, `html-200`: a 200 with an empty body, or with an HTML page (a proxy's); nothing stored.
 * - `unknown-reason`: every valid point refused with an exception text no writer has seen; nothing stored.
 * - `miscount`: every point stored, but the summary counts one more success than points were sent.
 * Connection refused is `refuseConnections()`.
 */
export type OpenTsdbFault =
  | 'none'
  | 'down'
  | 'hang'
  | '500'
  | 'throttle'
  | 'storage'
  | 'chunked'
  | 'stall'
  | 'empty-200'
  | 'html-200'
  | 'unknown-reason'
  | 'miscount';

/**
 * How OpenTSDB fails on a request holding a poisoned point (`poison()`), each as a TSD 2.4/2.5 does:
 * - `refuse`: the point fails validation, as on a TSD whose `tsd.storage.max_tags` is below its tag count
 *   ("Too many tags: …"); the answer is a 400 with details, and the request's other valid points are stored.
 * - `storage`: HBase fails the point: a `sync` put is told "Storage exception: …" for it (in a 200 when
 *   nothing failed validation); without `sync` it is answered as stored and lost. The others are stored.
 * - `unknown-reason`: as `storage`, with an exception text no writer has seen.
 * - `timeout`: HBase never stores the point: a `sync` put is answered when its `sync_timeout` passes (never
 *   without one), "Write timedout" for it; without `sync` it is lost. The others are stored.
 * - `500`: the whole request is answered 500 (an exception that follows this content); nothing is stored.
 * - `drop`: the connection is destroyed once the request is read; nothing is stored.
 */
export type PoisonKind = 'refuse' | 'storage' | 'unknown-reason' | 'timeout' | '500' | 'drop';

/** A point as a poison rule sees it: the timestamp as sent (seconds or milliseconds). */
export interface PoisonCandidate {
  metric: string;
  timestamp: number;
  tags: Record<string, string>;
}

export interface OpenTsdbStandInOptions {
  /** Metric names that exist before the first request (they get UIDs 000001, 000002, ... in order). */
  knownMetrics?: string[];
  /** `tsd.core.auto_create_metrics`; false by default, like OpenTSDB. */
  autoCreateMetrics?: boolean;
  /** Initial fault, 'none' by default. */
  fault?: OpenTsdbFault;
  /** Which requests faults apply to: only `/api/put` (default) or every request. */
  faultScope?: 'put' | 'all';
  /** `tsd.storage.max_tags`, 8 by default. */
  maxTags?: number;
}

export interface StoredPoint {
  metric: string;
  /** As sent: seconds or milliseconds. */
  timestamp: number;
  /** Normalised to milliseconds. */
  timestampMs: number;
  value: number;
  /** The value exactly as it arrived (the JSON number literal, or the string's content). */
  valueText: string;
  tags: Record<string, string>;
  /** Index of the request (1-based) that stored it. */
  request: number;
}

/** A datapoint as echoed back in `errors[].datapoint`. */
export interface EchoedDatapoint {
  metric: string | null;
  timestamp: number;
  value: string | null;
  tags: Record<string, string | null> | null;
}

export interface RejectedPoint {
  datapoint: EchoedDatapoint;
  error: string;
  request: number;
}

export interface RecordedHeaders {
  'content-encoding'?: string;
  'content-length'?: string;
  'content-type'?: string;
  expect?: string;
  'transfer-encoding'?: string;
  connection?: string;
}

export interface RequestRecord {
  /** 1-based, in arrival order. */
  index: number;
  /** 1-based id of the TCP connection it came on (equal ids = keep-alive reuse). */
  connection: number;
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: RecordedHeaders;
  /** Body bytes as received (compressed size when gzip). */
  bodyBytes: number;
  /** Body bytes after Content-Encoding was undone; null when not decoded. */
  decodedBodyBytes: number | null;
  /** Status answered; null when the request was not answered (down, hang, aborted). */
  status: number | null;
  outcome: 'pending' | 'answered' | 'destroyed' | 'hung' | 'aborted';
  fault: OpenTsdbFault;
  flags: { details: boolean; summary: boolean; sync: boolean; syncTimeout: string | null };
}

export interface OpenTsdbStandIn {
  /** Base URL, no trailing slash. */
  readonly url: string;
  /** Every accepted point, in arrival order (an identical re-write is stored once). */
  readonly points: StoredPoint[];
  readonly requests: RequestRecord[];
  readonly knownMetrics: Set<string>;
  readonly violations: string[];
  /** Every point answered with an error (validation, unknown metric, injected fault). */
  readonly rejected: RejectedPoint[];
  /**
   * Every point answered as stored without `sync` that the storage then failed (`storage`, `stall`): what
   * only the TSD's log would show.
   */
  readonly lost: RejectedPoint[];
  /** Identical re-writes of an already stored point (same series, timestamp and value text). */
  readonly duplicates: number;
  /** Fault applied to the following requests (after any queued by failNext). */
  fault: OpenTsdbFault;
  /** Applies `fault` to the next `n` requests in scope, then falls back to `this.fault`. */
  failNext(n: number, fault: OpenTsdbFault): void;
  /** Stops listening, and drops open connections: connecting is refused (ECONNREFUSED) until… */
  refuseConnections(): Promise<void>;
  /** …it listens again, on the same port. */
  acceptConnections(): Promise<void>;
  /**
   * Adds a rule: every point `match` accepts is poisoned, and requests holding it fail as `kind` says
   * (the first rule that matches a point decides). Poisoned points are never validated, so they never count
   * as violations. `reset()` clears every rule.
   */
  poison(match: (point: PoisonCandidate) => boolean, kind: PoisonKind): void;
  /** Stored points grouped by series key (`seriesKey(metric, tags)`), in arrival order. */
  series(): Map<string, StoredPoint[]>;
  /** Stored points of one metric, optionally only those whose tags include `tags`. */
  pointsOf(metric: string, tags?: Record<string, string>): StoredPoint[];
  /**
   * Forgets points, requests, violations, rejections, lost points, duplicates, queued faults and poison
   * rules; keeps UIDs.
   */
  reset(): void;
  close(): Promise<void>;
}
