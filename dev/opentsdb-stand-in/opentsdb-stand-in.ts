/**
 * A strict OpenTSDB 2.4 stand-in for tests: a real HTTP server on 127.0.0.1 that answers `POST /api/put`
 * and `/api/uid/assign` the way a TSD does (and `GET /api/query`, for what the backfill asks: query-rpc.ts) (see /work/shared/spec/opentsdb.md) and records every rule a
 * client breaks, including the ones VictoriaMetrics silently forgives (8192-byte bodies, `Expect`,
 * chunked uploads, illegal characters, more than 8 tags, unknown metrics, re-written points whose value
 * text differs).
 *
 * Points are validated in OpenTSDB's order, and rejected ones are reported with OpenTSDB's texts (see
 * `OpenTsdbMessages`). One documented deviation: an unknown metric is reported as
 * `Unknown metric: No such name for 'metrics': '<name>'`, which carries both the text of OpenTSDB's put
 * details ("Unknown metric") and that of its NoSuchUniqueName exception.
 *
 * `violations` collects everything a well-behaved writer never does; tests assert it stays empty.
 * Per-point validation failures count as violations (a writer should sanitise before sending), except
 * "Unknown metric" (the server's state, fixed with /api/uid/assign) and injected faults.
 *
 * This entry is the stand-in's whole surface. Behind it: limits.ts and messages.ts (OpenTSDB's numbers and
 * texts), json-reader.ts and incoming-datapoint.ts (a body as Jackson maps it), name-rules.ts and
 * put-rules.ts (the write rules), uid-registry.ts, point-store.ts and uid-assign.ts (UIDs and what was
 * stored), rpc.ts (what an RPC is given and answers) and server.ts (HTTP, faults, request records).
 */

import { OpenTsdbServer } from './server.js';

export { seriesKey } from '../series-key.js';
export {
  OPENTSDB_MAX_BODY_BYTES,
  OPENTSDB_MAX_MILLIS,
  OPENTSDB_MAX_SECONDS,
  OPENTSDB_MAX_TAGS,
} from './limits.js';
export { OpenTsdbMessages } from './messages.js';

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
  /** Stored points grouped by series key (`seriesKey(metric, tags)`), in arrival order. */
  series(): Map<string, StoredPoint[]>;
  /** Stored points of one metric, optionally only those whose tags include `tags`. */
  pointsOf(metric: string, tags?: Record<string, string>): StoredPoint[];
  /** Forgets points, requests, violations, rejections, lost points, duplicates and queued faults; keeps UIDs. */
  reset(): void;
  close(): Promise<void>;
}

export async function startOpenTsdbStandIn(options: OpenTsdbStandInOptions = {}): Promise<OpenTsdbStandIn> {
  const standIn = new OpenTsdbServer(options);
  await standIn.listen();
  return standIn;
}
