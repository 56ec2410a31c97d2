/**
 * A strict OpenTSDB 2.4 stand-in for tests: a real HTTP server on 127.0.0.1 that answers `POST /api/put`
 * and `/api/uid/assign` the way a TSD does (see /work/shared/spec/opentsdb.md) and records every rule a
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
 * "Unknown metric" (the server's state, fixed with /api/uid/assign) and injected throttle/storage faults.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';

/** Netty's maxChunkSize in the TSD: a body over this many bytes (as received) is a "chunked" request. */
export const OPENTSDB_MAX_BODY_BYTES = 8192;
/** `tsd.storage.max_tags` default. */
export const OPENTSDB_MAX_TAGS = 8;
/** Timestamps up to this value are seconds; larger ones are milliseconds. */
export const OPENTSDB_MAX_SECONDS = 4294967295;
/** Largest millisecond timestamp (13 digits). */
export const OPENTSDB_MAX_MILLIS = 9999999999999;

const MAX_SECONDS = BigInt(OPENTSDB_MAX_SECONDS);
const MAX_MILLIS = BigInt(OPENTSDB_MAX_MILLIS);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The exact texts the stand-in answers with. */
export const OpenTsdbMessages = {
  metricEmpty: 'Metric name was empty',
  invalidTimestamp: 'Invalid timestamp',
  emptyValue: 'Empty value',
  missingTags: 'Missing tags',
  notANumber: 'Unable to parse value to a number',
  tooManyTags: (count: number, max: number, tags: string): string =>
    `Too many tags: ${count} maximum allowed: ${max}, tags: ${tags}`,
  /** `what` is "metric name", "tag name" or "tag value" in puts; "metric", "tagk" or "tagv" in uid/assign. */
  illegalCharacter: (what: string, name: string, unit: string): string =>
    `Invalid ${what} ("${name}"): illegal character: ${renderUnit(unit)}`,
  emptyName: (what: string): string => `Invalid ${what}: empty string`,
  nullName: (what: string): string => `Invalid ${what}: null`,
  unknownMetric: (metric: string): string => `Unknown metric: No such name for 'metrics': '${metric}'`,
  throttle: 'Please throttle',
  storage: 'Storage exception',
  someFailed: 'One or more data points had errors',
  someFailedDetails: 'Please see the TSD logs or append "details" to the put request',
  chunked: 'Chunked request not supported.',
  noDatapoints: 'No datapoints found in content',
  missingContent: 'Missing request content',
  badJson: 'Unable to parse the given JSON',
  methodNotAllowed: 'Method not allowed',
  notFound: 'Endpoint not found',
  internal: 'Unexpected exception',
  alreadyExists: (uid: string): string => `Name already exists with UID: ${uid}`,
  missingAssign: 'Missing values to assign UIDs',
} as const;

/**
 * `chunked` answers the HTML "Chunked request not supported." 400 whatever the size, as an OpenTSDB (or a
 * proxy in front of it) with a lower limit than the standard 8192 bytes would.
 */
export type OpenTsdbFault = 'none' | 'down' | 'hang' | '500' | 'throttle' | 'storage' | 'chunked';

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
  /** Identical re-writes of an already stored point (same series, timestamp and value text). */
  readonly duplicates: number;
  /** Fault applied to the following requests (after any queued by failNext). */
  fault: OpenTsdbFault;
  /** Applies `fault` to the next `n` requests in scope, then falls back to `this.fault`. */
  failNext(n: number, fault: OpenTsdbFault): void;
  /** Stored points grouped by series key (`seriesKey(metric, tags)`), in arrival order. */
  series(): Map<string, StoredPoint[]>;
  /** Stored points of one metric, optionally only those whose tags include `tags`. */
  pointsOf(metric: string, tags?: Record<string, string>): StoredPoint[];
  /** Forgets points, requests, violations, rejections, duplicates and queued faults; keeps UIDs. */
  reset(): void;
  close(): Promise<void>;
}

/** `metric{k1=v1,k2=v2}` with tag keys sorted. */
export function seriesKey(metric: string, tags: Record<string, string>): string {
  const pairs = Object.keys(tags)
    .sort()
    .map((k) => `${k}=${tags[k]}`);
  return `${metric}{${pairs.join(',')}}`;
}

export async function startOpenTsdbStandIn(options: OpenTsdbStandInOptions = {}): Promise<OpenTsdbStandIn> {
  const standIn = new StandIn(options);
  await standIn.listen();
  return standIn;
}

// ---------------------------------------------------------------------------------------------------
// JSON that keeps number literals as written (JSON.parse turns 42.0 into 42, and 42 vs 42.0 matters).

class JsonNumber {
  constructor(readonly raw: string) {}
}

class JsonObject {
  readonly fields = new Map<string, JsonValue>();
  readonly duplicateKeys: string[] = [];
}

type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;

class JsonSyntaxError extends Error {}

/** Raised where Jackson would fail to map the JSON onto IncomingDataPoint: the whole request fails. */
class MappingError extends Error {}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

function parseJson(text: string): JsonValue {
  let pos = 0;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at offset ${pos}`);
  };
  const skipWhitespace = (): void => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      pos++;
    }
  };
  const parseString = (): string => {
    const start = pos;
    pos++;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        pos++;
        try {
          return JSON.parse(text.slice(start, pos)) as string;
        } catch {
          pos = start;
          return fail('invalid string escape');
        }
      }
      if (c < 0x20) fail('control character in string');
      pos += c === 0x5c ? 2 : 1;
    }
    return fail('unterminated string');
  };
  const parseValue = (depth: number): JsonValue => {
    if (depth > 64) fail('nesting too deep');
    skipWhitespace();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const object = new JsonObject();
      skipWhitespace();
      if (text[pos] === '}') {
        pos++;
        return object;
      }
      for (;;) {
        skipWhitespace();
        if (text[pos] !== '"') fail('expected a field name');
        const key = parseString();
        skipWhitespace();
        if (text[pos] !== ':') fail("expected ':'");
        pos++;
        const value = parseValue(depth + 1);
        if (object.fields.has(key)) object.duplicateKeys.push(key);
        object.fields.set(key, value);
        skipWhitespace();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          return object;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      pos++;
      const array: JsonValue[] = [];
      skipWhitespace();
      if (text[pos] === ']') {
        pos++;
        return array;
      }
      for (;;) {
        array.push(parseValue(depth + 1));
        skipWhitespace();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          return array;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return parseString();
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = pos;
    const match = NUMBER.exec(text);
    if (match) {
      pos += match[0].length;
      return new JsonNumber(match[0]);
    }
    return fail(pos >= text.length ? 'unexpected end of input' : `unexpected character '${c}'`);
  };
  const value = parseValue(0);
  skipWhitespace();
  if (pos < text.length) fail('trailing content after the JSON value');
  return value;
}

function describe(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof JsonObject) return 'an object';
  if (value instanceof JsonNumber) return 'a number';
  return typeof value === 'string' ? 'a string' : 'a boolean';
}

/** Jackson's coercion of a scalar into a String field. */
function asText(value: JsonValue | undefined, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (value instanceof JsonNumber) return value.raw;
  throw new MappingError(`Cannot deserialize '${field}' (a String) from ${describe(value)}`);
}

// ---------------------------------------------------------------------------------------------------
// Datapoints

interface IncomingPoint {
  metric: string | null;
  /** null: missing, null, or not an integer (a decimal). */
  timestamp: bigint | null;
  value: string | null;
  tags: Array<[string, string | null]> | null;
  echo: EchoedDatapoint;
}

function decodePoint(value: JsonValue, index: number): IncomingPoint {
  if (!(value instanceof JsonObject)) {
    throw new MappingError(`datapoint ${index} is ${describe(value)}, not an object`);
  }
  const metric = asText(value.fields.get('metric'), 'metric');
  const rawValue = asText(value.fields.get('value'), 'value');

  let timestamp: bigint | null = null;
  let timestampEcho = 0;
  const rawTimestamp = value.fields.get('timestamp');
  if (rawTimestamp instanceof JsonNumber) {
    timestampEcho = Number(rawTimestamp.raw);
    if (/^-?\d+$/.test(rawTimestamp.raw)) timestamp = BigInt(rawTimestamp.raw);
  } else if (typeof rawTimestamp === 'string') {
    if (!/^-?\d+$/.test(rawTimestamp)) {
      throw new MappingError(`Cannot deserialize 'timestamp' (a long) from String "${rawTimestamp}"`);
    }
    timestamp = BigInt(rawTimestamp);
    timestampEcho = Number(rawTimestamp);
  } else if (rawTimestamp !== undefined && rawTimestamp !== null) {
    throw new MappingError(`Cannot deserialize 'timestamp' (a long) from ${describe(rawTimestamp)}`);
  }

  let tags: Array<[string, string | null]> | null = null;
  const rawTags = value.fields.get('tags');
  if (rawTags instanceof JsonObject) {
    tags = [...rawTags.fields].map(([k, v]): [string, string | null] => [k, asText(v, `tags.${k}`)]);
  } else if (rawTags !== undefined && rawTags !== null) {
    throw new MappingError(`Cannot deserialize 'tags' (a Map) from ${describe(rawTags)}`);
  }

  return {
    metric,
    timestamp,
    value: rawValue,
    tags,
    echo: {
      metric,
      timestamp: timestampEcho,
      value: rawValue,
      tags: tags === null ? null : Object.fromEntries(tags),
    },
  };
}

const LETTER = /^\p{L}$/u;

/** The first UTF-16 unit OpenTSDB's Tags.validateString refuses, or null. */
function firstIllegalUnit(name: string): string | null {
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    const unit = name[i]!;
    if (
      (code >= 0x61 && code <= 0x7a) ||
      (code >= 0x41 && code <= 0x5a) ||
      (code >= 0x30 && code <= 0x39) ||
      unit === '-' ||
      unit === '_' ||
      unit === '.' ||
      unit === '/'
    ) {
      continue;
    }
    // Java's Character.isLetter(char) on one unit: a surrogate half is never a letter.
    if (code >= 0xd800 && code <= 0xdfff) return unit;
    if (LETTER.test(unit)) continue;
    return unit;
  }
  return null;
}

/** Surrogate halves and control characters are shown as \uXXXX, anything else as itself. */
function renderUnit(unit: string): string {
  const code = unit.charCodeAt(0);
  if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0xd800 && code <= 0xdfff)) {
    return `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return unit;
}

/** Tags.validateString: null, empty, then per-unit characters. */
function validateName(what: string, name: string | null): string | null {
  if (name === null) return OpenTsdbMessages.nullName(what);
  if (name === '') return OpenTsdbMessages.emptyName(what);
  const unit = firstIllegalUnit(name);
  return unit === null ? null : OpenTsdbMessages.illegalCharacter(what, name, unit);
}

type ParsedValue = { ok: true; number: number } | { ok: false };

/** Tags.looksLikeInteger then Tags.parseLong, else Float.parseFloat (decimal notation only, finite). */
function parseValue(text: string): ParsedValue {
  if (!/[.eE]/.test(text)) {
    if (!/^[+-]?\d+$/.test(text)) return { ok: false };
    const big = BigInt(text);
    if (big < INT64_MIN || big > INT64_MAX) return { ok: false };
    return { ok: true, number: Number(big) };
  }
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) return { ok: false };
  const number = Number(text);
  return Number.isFinite(number) ? { ok: true, number } : { ok: false };
}

interface SeriesState {
  unit: 's' | 'ms';
  mixedReported: boolean;
  /** timestamp in ms → value text */
  values: Map<bigint, string>;
}

type UidType = 'metric' | 'tagk' | 'tagv';
const UID_TYPES: readonly UidType[] = ['metric', 'tagk', 'tagv'];

interface Reply {
  status: number;
  body?: string;
  contentType?: string;
  close?: boolean;
}

function jsonReply(status: number, body: unknown): Reply {
  return { status, body: JSON.stringify(body), contentType: 'application/json; charset=UTF-8' };
}

function errorReply(status: number, message: string, details?: string, trace?: string): Reply {
  const error: Record<string, string | number> = { code: status, message };
  if (details !== undefined) error.details = details;
  if (trace !== undefined) error.trace = trace;
  return jsonReply(status, { error });
}

function htmlBadRequest(reason: string): Reply {
  const body =
    '<!DOCTYPE html><html><head><meta http-equiv=content-type content="text/html;charset=utf-8">' +
    '<title>Bad Request</title></head><body><table><tr><td><h1>Bad Request</h1></td></tr></table>' +
    '<div id=queryuimain><blockquote><h1>Bad Request</h1>Sorry but your request was rejected as being ' +
    `invalid.<br/><br/>The reason provided was:<blockquote>${reason}</blockquote></blockquote></div>` +
    '</body></html>';
  return { status: 400, body, contentType: 'text/html; charset=UTF-8' };
}

function longTrace(): string {
  const frames = [
    'net.opentsdb.tsd.PutDataPointRpc.execute(PutDataPointRpc.java:228)',
    'net.opentsdb.tsd.RpcHandler.handleHttpQuery(RpcHandler.java:283)',
    'net.opentsdb.tsd.RpcHandler.messageReceived(RpcHandler.java:134)',
    'org.jboss.netty.channel.SimpleChannelUpstreamHandler.handleUpstream(SimpleChannelUpstreamHandler.java:70)',
    'org.jboss.netty.handler.timeout.IdleStateAwareChannelUpstreamHandler.handleUpstream(IdleStateAwareChannelUpstreamHandler.java:36)',
  ];
  const lines = ['org.hbase.async.RemoteException: injected server fault (stand-in)'];
  for (let i = 0; i < 60; i++) lines.push(`\tat ${frames[i % frames.length]}`);
  return lines.join('\n');
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

class StandIn implements OpenTsdbStandIn {
  url = '';
  readonly points: StoredPoint[] = [];
  readonly requests: RequestRecord[] = [];
  readonly knownMetrics: Set<string>;
  readonly violations: string[] = [];
  readonly rejected: RejectedPoint[] = [];
  fault: OpenTsdbFault;

  private duplicateCount = 0;
  private readonly autoCreateMetrics: boolean;
  private readonly faultScope: 'put' | 'all';
  private readonly maxTags: number;
  private readonly queuedFaults: OpenTsdbFault[] = [];
  private readonly seriesState = new Map<string, SeriesState>();
  private readonly uids: Record<UidType, Map<string, string>> = {
    metric: new Map(),
    tagk: new Map(),
    tagv: new Map(),
  };
  private readonly uidCounters: Record<UidType, number> = { metric: 0, tagk: 0, tagv: 0 };
  private readonly connectionIds = new WeakMap<Socket, number>();
  private connectionCount = 0;
  private readonly server: Server;
  private closing: Promise<void> | null = null;

  constructor(options: OpenTsdbStandInOptions) {
    this.knownMetrics = new Set();
    for (const name of options.knownMetrics ?? []) {
      this.knownMetrics.add(name);
      this.uidOf('metric', name);
    }
    this.autoCreateMetrics = options.autoCreateMetrics ?? false;
    this.fault = options.fault ?? 'none';
    this.faultScope = options.faultScope ?? 'put';
    this.maxTags = options.maxTags ?? OPENTSDB_MAX_TAGS;

    this.server = createServer((req, res) => this.dispatch(req, res, false));
    // Without these listeners Node answers `Expect` itself (100 Continue / 417); OpenTSDB does not.
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) =>
      this.dispatch(req, res, true),
    );
    this.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) =>
      this.dispatch(req, res, true),
    );
    this.server.on('connection', (socket: Socket) => {
      this.connectionCount += 1;
      this.connectionIds.set(socket, this.connectionCount);
    });
    // The TSD keeps idle connections open; a writer's keep-alive pool should never meet a closed one.
    this.server.keepAliveTimeout = 60_000;
  }

  get duplicates(): number {
    return this.duplicateCount;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        const { port } = this.server.address() as AddressInfo;
        this.url = `http://127.0.0.1:${port}`;
        resolve();
      });
    });
  }

  failNext(n: number, fault: OpenTsdbFault): void {
    for (let i = 0; i < n; i++) this.queuedFaults.push(fault);
  }

  series(): Map<string, StoredPoint[]> {
    const grouped = new Map<string, StoredPoint[]>();
    for (const point of this.points) {
      const key = seriesKey(point.metric, point.tags);
      const list = grouped.get(key);
      if (list) list.push(point);
      else grouped.set(key, [point]);
    }
    return grouped;
  }

  pointsOf(metric: string, tags: Record<string, string> = {}): StoredPoint[] {
    return this.points.filter(
      (p) => p.metric === metric && Object.entries(tags).every(([k, v]) => p.tags[k] === v),
    );
  }

  reset(): void {
    this.points.length = 0;
    this.requests.length = 0;
    this.violations.length = 0;
    this.rejected.length = 0;
    this.queuedFaults.length = 0;
    this.seriesState.clear();
    this.duplicateCount = 0;
    this.fault = 'none';
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      // Hanging requests and idle keep-alive sockets would otherwise hold close() open.
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  // -------------------------------------------------------------------------------------------------

  private violation(record: RequestRecord, message: string): void {
    this.violations.push(`${message} [#${record.index} ${record.method} ${record.path}]`);
  }

  private takeFault(pathname: string): OpenTsdbFault {
    if (this.faultScope === 'put' && pathname !== '/api/put') return 'none';
    return this.queuedFaults.shift() ?? this.fault;
  }

  private uidOf(type: UidType, name: string): string {
    const existing = this.uids[type].get(name);
    if (existing !== undefined) return existing;
    this.uidCounters[type] += 1;
    const uid = this.uidCounters[type].toString(16).toUpperCase().padStart(6, '0');
    this.uids[type].set(name, uid);
    return uid;
  }

  private nameExists(type: UidType, name: string): boolean {
    return type === 'metric' ? this.knownMetrics.has(name) : this.uids[type].has(name);
  }

  private dispatch(req: IncomingMessage, res: ServerResponse, expectation: boolean): void {
    const rawPath = req.url ?? '/';
    const url = new URL(rawPath, 'http://stand-in');
    const query = url.searchParams;
    const headers: RecordedHeaders = {};
    for (const name of [
      'content-encoding',
      'content-length',
      'content-type',
      'expect',
      'transfer-encoding',
      'connection',
    ] as const) {
      const value = header(req, name);
      if (value !== undefined) headers[name] = value;
    }
    const record: RequestRecord = {
      index: this.requests.length + 1,
      connection: this.connectionIds.get(req.socket) ?? 0,
      method: req.method ?? 'GET',
      path: rawPath,
      headers,
      bodyBytes: 0,
      decodedBodyBytes: null,
      status: null,
      outcome: 'pending',
      fault: 'none',
      flags: {
        details: query.has('details'),
        summary: query.has('summary'),
        sync: query.has('sync'),
        syncTimeout: query.get('sync_timeout'),
      },
    };
    this.requests.push(record);
    this.handle(req, res, record, url, expectation).catch((error: unknown) => {
      this.violations.push(`stand-in internal error: ${String(error)} [#${record.index}]`);
      if (!res.headersSent && !res.destroyed) this.send(res, record, errorReply(500, String(error)));
    });
  }

  private async handle(
    req: IncomingMessage,
    res: ServerResponse,
    record: RequestRecord,
    url: URL,
    expectation: boolean,
  ): Promise<void> {
    const fault = this.takeFault(url.pathname);
    record.fault = fault;

    if (expectation) {
      // Netty flags an `Expect: 100-continue` request as chunked; no 100 Continue is ever sent, so
      // the body never comes: answer and close.
      this.violation(record, `Expect header sent (${record.headers.expect ?? ''})`);
      req.resume();
      this.send(res, record, { ...htmlBadRequest(OpenTsdbMessages.chunked), close: true });
      return;
    }

    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      record.outcome = 'aborted';
      return;
    }
    record.bodyBytes = body.length;

    if (fault === 'down') {
      record.outcome = 'destroyed';
      req.socket.destroy();
      return;
    }
    if (fault === 'hang') {
      // Never answered; close() destroys the socket.
      record.outcome = 'hung';
      return;
    }

    const chunkedTransfer = /\bchunked\b/i.test(record.headers['transfer-encoding'] ?? '');
    let treatedAsChunked = false;
    if (chunkedTransfer) {
      this.violation(record, 'chunked transfer encoding');
      treatedAsChunked = true;
    } else if (record.headers['content-length'] === undefined && record.method !== 'GET') {
      this.violation(record, 'missing Content-Length');
    }
    if (body.length > OPENTSDB_MAX_BODY_BYTES) {
      this.violation(record, `body ${body.length} bytes over ${OPENTSDB_MAX_BODY_BYTES}`);
      treatedAsChunked = true;
    }
    if (treatedAsChunked || fault === 'chunked') {
      this.send(res, record, htmlBadRequest(OpenTsdbMessages.chunked));
      return;
    }

    if (fault === '500') {
      this.send(
        res,
        record,
        errorReply(500, OpenTsdbMessages.internal, 'injected server fault (stand-in)', longTrace()),
      );
      return;
    }

    const decoded = this.decodeBody(record, body);
    if (decoded === null) {
      this.send(res, record, errorReply(400, OpenTsdbMessages.badJson, 'the body could not be decompressed'));
      return;
    }
    record.decodedBodyBytes = decoded.length;
    const text = this.bodyText(record, decoded);

    switch (url.pathname) {
      case '/api/put':
        this.send(res, record, this.handlePut(record, text, fault));
        return;
      case '/api/uid/assign':
        this.send(res, record, this.handleAssign(record, url, text, fault));
        return;
      default:
        this.violation(record, `unknown endpoint ${url.pathname}`);
        this.send(res, record, errorReply(404, OpenTsdbMessages.notFound));
    }
  }

  private decodeBody(record: RequestRecord, body: Buffer): Buffer | null {
    const encoding = (record.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    try {
      if (encoding === 'gzip' || encoding === 'x-gzip') return gunzipSync(body);
      if (encoding === 'deflate') return inflateSync(body);
    } catch {
      this.violation(record, `body is not valid ${encoding}`);
      return null;
    }
    if (encoding !== 'identity' && encoding !== '') {
      // Netty's decompressor passes unknown encodings through; the JSON parse then fails.
      this.violation(record, `unsupported Content-Encoding ${encoding}`);
    }
    return body;
  }

  private bodyText(record: RequestRecord, body: Buffer): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      this.violation(record, 'body is not valid UTF-8');
      return body.toString('utf8');
    }
  }

  private send(res: ServerResponse, record: RequestRecord, reply: Reply): void {
    record.status = reply.status;
    record.outcome = 'answered';
    if (reply.close) res.shouldKeepAlive = false;
    if (reply.body === undefined) {
      res.writeHead(reply.status);
      res.end();
      return;
    }
    const payload = Buffer.from(reply.body, 'utf8');
    res.writeHead(reply.status, {
      'content-type': reply.contentType ?? 'application/json; charset=UTF-8',
      'content-length': payload.length,
    });
    res.end(payload);
  }

  // -------------------------------------------------------------------------------------------------
  // /api/put

  private handlePut(record: RequestRecord, text: string, fault: OpenTsdbFault): Reply {
    if (record.method !== 'POST') {
      this.violation(record, `${record.method} on /api/put`);
      return errorReply(
        405,
        OpenTsdbMessages.methodNotAllowed,
        `The HTTP method [${record.method}] is not permitted for this endpoint`,
      );
    }
    const { details, summary, sync, syncTimeout } = record.flags;
    if (syncTimeout !== null) {
      if (!/^\d+$/.test(syncTimeout)) {
        this.violation(record, `sync_timeout is not an integer: ${syncTimeout}`);
        return errorReply(400, `Invalid sync_timeout: ${syncTimeout}`);
      }
      if (!sync) this.violation(record, 'sync_timeout without sync (ignored)');
    }
    if (text.length === 0) {
      this.violation(record, 'empty body');
      return errorReply(400, OpenTsdbMessages.missingContent);
    }

    let incoming: IncomingPoint[];
    try {
      const json = parseJson(text);
      const list = Array.isArray(json) ? json : [json];
      incoming = list.map((value, i) => decodePoint(value, i));
      for (const value of list) {
        if (!(value instanceof JsonObject)) continue;
        for (const key of value.duplicateKeys) this.violation(record, `duplicate field "${key}"`);
        const tags = value.fields.get('tags');
        if (tags instanceof JsonObject) {
          for (const key of tags.duplicateKeys) this.violation(record, `duplicate tag key "${key}"`);
        }
      }
    } catch (error) {
      if (error instanceof JsonSyntaxError || error instanceof MappingError) {
        this.violation(record, `unparsable body: ${error.message}`);
        return errorReply(400, OpenTsdbMessages.badJson, error.message);
      }
      throw error;
    }
    if (incoming.length === 0) {
      this.violation(record, 'empty array');
      return errorReply(400, OpenTsdbMessages.noDatapoints);
    }

    let success = 0;
    let validationFailures = 0;
    let storageFailures = 0;
    const errors: Array<{ datapoint: EchoedDatapoint; error: string }> = [];
    for (const point of incoming) {
      const checked = this.checkPoint(point);
      if (!checked.ok) {
        validationFailures += 1;
        errors.push({ datapoint: point.echo, error: checked.error });
        this.rejected.push({ datapoint: point.echo, error: checked.error, request: record.index });
        if (!checked.unknownMetric) this.violation(record, `point rejected: ${checked.error}`);
        continue;
      }
      if (fault === 'throttle' || fault === 'storage') {
        storageFailures += 1;
        const error = fault === 'throttle' ? OpenTsdbMessages.throttle : OpenTsdbMessages.storage;
        errors.push({ datapoint: point.echo, error });
        this.rejected.push({ datapoint: point.echo, error, request: record.index });
        continue;
      }
      this.store(record, checked.metric, checked.tags, checked.timestamp, point.value!, checked.number);
      success += 1;
    }

    const failed = validationFailures + storageFailures;
    if (!details && !summary) {
      if (failed === 0) return { status: 204 };
      return errorReply(400, OpenTsdbMessages.someFailed, OpenTsdbMessages.someFailedDetails);
    }
    const body: { success: number; failed: number; errors?: typeof errors } = { success, failed };
    if (details) body.errors = errors;
    // With `sync`, storage failures are only visible in `failed`: the status stays 200.
    const storageHiddenBySync = fault === 'storage' && sync && validationFailures === 0;
    return jsonReply(failed > 0 && !storageHiddenBySync ? 400 : 200, body);
  }

  private checkPoint(
    point: IncomingPoint,
  ):
    | { ok: true; metric: string; tags: Record<string, string>; timestamp: bigint; number: number }
    | { ok: false; error: string; unknownMetric: boolean } {
    const fail = (error: string, unknownMetric = false) => ({ ok: false as const, error, unknownMetric });
    if (point.metric === null || point.metric === '') return fail(OpenTsdbMessages.metricEmpty);
    const ts = point.timestamp;
    if (ts === null || ts <= 0n || ts > MAX_MILLIS) return fail(OpenTsdbMessages.invalidTimestamp);
    if (point.value === null || point.value === '') return fail(OpenTsdbMessages.emptyValue);
    if (point.tags === null || point.tags.length === 0) return fail(OpenTsdbMessages.missingTags);
    const parsed = parseValue(point.value);
    if (!parsed.ok) return fail(OpenTsdbMessages.notANumber);
    if (point.tags.length > this.maxTags) {
      const shown = `{${point.tags.map(([k, v]) => `${k}=${v}`).join(', ')}}`;
      return fail(OpenTsdbMessages.tooManyTags(point.tags.length, this.maxTags, shown));
    }
    const metricError = validateName('metric name', point.metric);
    if (metricError !== null) return fail(metricError);
    const tags: Record<string, string> = {};
    for (const [key, value] of point.tags) {
      const keyError = validateName('tag name', key);
      if (keyError !== null) return fail(keyError);
      const valueError = validateName('tag value', value);
      if (valueError !== null || value === null)
        return fail(valueError ?? OpenTsdbMessages.nullName('tag value'));
      Object.defineProperty(tags, key, { value, enumerable: true, writable: true, configurable: true });
    }
    if (!this.knownMetrics.has(point.metric)) {
      if (!this.autoCreateMetrics) return fail(OpenTsdbMessages.unknownMetric(point.metric), true);
      this.knownMetrics.add(point.metric);
    }
    return { ok: true, metric: point.metric, tags, timestamp: ts, number: parsed.number };
  }

  private store(
    record: RequestRecord,
    metric: string,
    tags: Record<string, string>,
    timestamp: bigint,
    valueText: string,
    value: number,
  ): void {
    this.uidOf('metric', metric);
    for (const [k, v] of Object.entries(tags)) {
      this.uidOf('tagk', k);
      this.uidOf('tagv', v);
    }
    const key = seriesKey(metric, tags);
    const unit = timestamp > MAX_SECONDS ? 'ms' : 's';
    const timestampMs = unit === 'ms' ? timestamp : timestamp * 1000n;
    let state = this.seriesState.get(key);
    if (!state) {
      state = { unit, mixedReported: false, values: new Map() };
      this.seriesState.set(key, state);
    } else if (state.unit !== unit && !state.mixedReported) {
      state.mixedReported = true;
      this.violation(record, `series ${key} mixes second and millisecond timestamps`);
    }
    const previous = state.values.get(timestampMs);
    if (previous !== undefined) {
      if (previous === valueText) {
        this.duplicateCount += 1;
      } else {
        this.violation(
          record,
          `same series+timestamp written with different value ${previous} vs ${valueText} (${key} at ${timestamp})`,
        );
      }
      return;
    }
    state.values.set(timestampMs, valueText);
    this.points.push({
      metric,
      timestamp: Number(timestamp),
      timestampMs: Number(timestampMs),
      value,
      valueText,
      tags,
      request: record.index,
    });
  }

  // -------------------------------------------------------------------------------------------------
  // /api/uid/assign

  private handleAssign(record: RequestRecord, url: URL, text: string, fault: OpenTsdbFault): Reply {
    if (fault === 'throttle' || fault === 'storage') {
      const message = fault === 'throttle' ? OpenTsdbMessages.throttle : OpenTsdbMessages.storage;
      return errorReply(500, message, 'injected fault (stand-in)', longTrace());
    }
    const wanted = new Map<UidType, string[]>();
    if (record.method === 'GET') {
      for (const type of UID_TYPES) {
        const list = url.searchParams.get(type);
        if (list !== null) wanted.set(type, list.split(','));
      }
    } else if (record.method === 'POST') {
      try {
        const json = parseJson(text);
        if (!(json instanceof JsonObject)) throw new MappingError(`the body is ${describe(json)}`);
        for (const type of UID_TYPES) {
          const list = json.fields.get(type);
          if (list === undefined || list === null) continue;
          if (!Array.isArray(list)) throw new MappingError(`'${type}' is ${describe(list)}, not a list`);
          wanted.set(
            type,
            list.map((name) => asText(name, type) ?? ''),
          );
        }
      } catch (error) {
        if (error instanceof JsonSyntaxError || error instanceof MappingError) {
          this.violation(record, `unparsable body: ${error.message}`);
          return errorReply(400, OpenTsdbMessages.badJson, error.message);
        }
        throw error;
      }
    } else {
      this.violation(record, `${record.method} on /api/uid/assign`);
      return errorReply(
        405,
        OpenTsdbMessages.methodNotAllowed,
        `The HTTP method [${record.method}] is not permitted for this endpoint`,
      );
    }
    if (wanted.size === 0) {
      this.violation(record, 'uid/assign without metric, tagk or tagv');
      return errorReply(400, OpenTsdbMessages.missingAssign);
    }

    const response: Record<string, Record<string, string>> = {};
    let errorCount = 0;
    for (const [type, names] of wanted) {
      const assigned: Record<string, string> = {};
      const errors: Record<string, string> = {};
      for (const name of names) {
        const invalid = validateName(type, name);
        if (invalid !== null) {
          this.violation(record, `uid/assign refused ${type} "${name}": ${invalid}`);
          errors[name] = invalid;
          errorCount += 1;
        } else if (this.nameExists(type, name)) {
          errors[name] = OpenTsdbMessages.alreadyExists(this.uidOf(type, name));
          errorCount += 1;
        } else {
          if (type === 'metric') this.knownMetrics.add(name);
          assigned[name] = this.uidOf(type, name);
        }
      }
      response[type] = assigned;
      if (Object.keys(errors).length > 0) response[`${type}_errors`] = errors;
    }
    return jsonReply(errorCount > 0 ? 400 : 200, response);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let complete = false;
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      complete = true;
      resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!complete) reject(new Error('request aborted'));
    });
  });
}
