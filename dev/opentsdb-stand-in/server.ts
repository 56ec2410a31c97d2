/**
 * The stand-in's HTTP side, as Netty and the TSD's RpcHandler behave in front of the RPCs: keep-alive,
 * `Expect` and chunked uploads refused, the 8192-byte body limit, Content-Encoding, injected faults, and
 * a record of every request. What a request then does is the RPCs' business (put-rules.ts, uid-assign.ts).
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { gunzipSync, inflateSync } from 'node:zlib';
import { closeNow, listenOnLoopback } from '../loopback.js';
import { OPENTSDB_MAX_BODY_BYTES, OPENTSDB_MAX_TAGS } from './limits.js';
import { OpenTsdbMessages } from './messages.js';
import { PointStore } from './point-store.js';
import { answerPut, type TsdState } from './put-rules.js';
import { answerQuery } from './query-rpc.js';
import {
  errorReply,
  htmlBadRequest,
  htmlPage,
  isPutFault,
  longTrace,
  type Reply,
  type TsdRequest,
} from './rpc.js';
import type {
  OpenTsdbFault,
  OpenTsdbStandIn,
  OpenTsdbStandInOptions,
  PoisonCandidate,
  PoisonKind,
  RecordedHeaders,
  RejectedPoint,
  RequestRecord,
  StoredPoint,
} from './stand-in-types.js';
import { answerAssign } from './uid-assign.js';
import { UidRegistry } from './uid-registry.js';

const RECORDED_HEADERS = [
  'content-encoding',
  'content-length',
  'content-type',
  'expect',
  'transfer-encoding',
  'connection',
] as const;

export class OpenTsdbServer implements OpenTsdbStandIn {
  url = '';
  readonly requests: RequestRecord[] = [];
  readonly violations: string[] = [];
  fault: OpenTsdbFault;

  private readonly tsd: TsdState;
  private readonly faultScope: 'put' | 'all';
  private readonly queuedFaults: OpenTsdbFault[] = [];
  private readonly connectionIds = new WeakMap<Socket, number>();
  private connectionCount = 0;
  private readonly server: Server;
  private closing: Promise<void> | null = null;
  private port = 0;
  private refusing = false;
  /** Answers waiting for their time (a `sync_timeout`); close() cancels them. */
  private readonly delayed = new Set<NodeJS.Timeout>();

  constructor(options: OpenTsdbStandInOptions) {
    this.tsd = {
      maxTags: options.maxTags ?? OPENTSDB_MAX_TAGS,
      uids: new UidRegistry(options.knownMetrics ?? [], options.autoCreateMetrics ?? false),
      store: new PointStore(),
      rejected: [],
      lost: [],
      poison: [],
    };
    this.fault = options.fault ?? 'none';
    this.faultScope = options.faultScope ?? 'put';

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

  get points(): StoredPoint[] {
    return this.tsd.store.points;
  }

  get knownMetrics(): Set<string> {
    return this.tsd.uids.knownMetrics;
  }

  get rejected(): RejectedPoint[] {
    return this.tsd.rejected;
  }

  get lost(): RejectedPoint[] {
    return this.tsd.lost;
  }

  get duplicates(): number {
    return this.tsd.store.duplicates;
  }

  async listen(): Promise<void> {
    this.url = await listenOnLoopback(this.server);
    this.port = Number(new URL(this.url).port);
  }

  async refuseConnections(): Promise<void> {
    if (this.refusing) return;
    this.refusing = true;
    // Stops listening (new connections are refused) and drops the open ones, as a TSD that went away.
    await closeNow(this.server);
  }

  async acceptConnections(): Promise<void> {
    if (!this.refusing) return;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.refusing = false;
  }

  failNext(n: number, fault: OpenTsdbFault): void {
    for (let i = 0; i < n; i++) this.queuedFaults.push(fault);
  }

  poison(match: (point: PoisonCandidate) => boolean, kind: PoisonKind): void {
    this.tsd.poison.push({ match, kind });
  }

  series(): Map<string, StoredPoint[]> {
    return this.tsd.store.series();
  }

  pointsOf(metric: string, tags: Record<string, string> = {}): StoredPoint[] {
    return this.tsd.store.pointsOf(metric, tags);
  }

  reset(): void {
    this.tsd.store.reset();
    this.tsd.rejected.length = 0;
    this.tsd.lost.length = 0;
    this.requests.length = 0;
    this.violations.length = 0;
    this.queuedFaults.length = 0;
    this.tsd.poison.length = 0;
    this.fault = 'none';
  }

  close(): Promise<void> {
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
    this.closing ??= closeNow(this.server);
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

  private dispatch(req: IncomingMessage, res: ServerResponse, expectation: boolean): void {
    const rawPath = req.url ?? '/';
    const url = new URL(rawPath, 'http://stand-in');
    const query = url.searchParams;
    const headers: RecordedHeaders = {};
    for (const name of RECORDED_HEADERS) {
      const value = req.headers[name];
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
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
      body = await buffer(req);
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

    if (fault === 'empty-200') {
      this.send(res, record, { status: 200 });
      return;
    }
    if (fault === 'html-200') {
      // What a proxy or load balancer in front of the TSD may answer (a maintenance page).
      this.send(res, record, {
        status: 200,
        body: htmlPage('Service Unavailable', 'The service is down for maintenance.'),
        contentType: 'text/html; charset=UTF-8',
      });
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
    const request: TsdRequest = {
      index: record.index,
      method: record.method,
      url,
      flags: record.flags,
      text: this.bodyText(record, decoded),
      putFault: isPutFault(fault) ? fault : null,
      violation: (message) => this.violation(record, message),
    };

    switch (url.pathname) {
      case '/api/put':
        this.send(res, record, answerPut(request, this.tsd));
        return;
      case '/api/uid/assign':
        this.send(res, record, answerAssign(request, this.tsd.uids));
        return;
      case '/api/query':
        this.send(res, record, answerQuery(request, this.tsd));
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
    if (reply.never) {
      record.outcome = 'hung';
      return;
    }
    if (reply.drop) {
      record.outcome = 'destroyed';
      res.socket?.destroy();
      return;
    }
    if (reply.afterMs !== undefined) {
      const timer = setTimeout(() => {
        this.delayed.delete(timer);
        if (!res.destroyed) this.send(res, record, { ...reply, afterMs: undefined });
      }, reply.afterMs);
      this.delayed.add(timer);
      return;
    }
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
}
