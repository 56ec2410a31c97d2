// What an RPC handler of the TSD (/api/put, /api/uid/assign) is given once the HTTP layer took a request in,
// and the answers it gives back.
import { OpenTsdbMessages } from './messages.js';
import type { OpenTsdbFault, RequestRecord } from './stand-in-types.js';

/** Faults a TSD meets in its storage (HBase), after a request was read and parsed. */
export type StorageFault = Extract<OpenTsdbFault, 'throttle' | 'storage' | 'stall'>;

/** Faults of a put's answer, after a request was read and parsed: its storage's, and answers out of the ordinary. */
export type PutFault = StorageFault | Extract<OpenTsdbFault, 'unknown-reason' | 'miscount'>;

const PUT_FAULTS: readonly OpenTsdbFault[] = ['throttle', 'storage', 'stall', 'unknown-reason', 'miscount'];

export function isPutFault(fault: OpenTsdbFault): fault is PutFault {
  return PUT_FAULTS.includes(fault);
}

export function isStorageFault(fault: PutFault | null): fault is StorageFault {
  return fault === 'throttle' || fault === 'storage' || fault === 'stall';
}

/** The error text a storage fault reaches the writer with (or, from /api/uid/assign, a 500 with). */
export function storageFaultMessage(fault: StorageFault): string {
  if (fault === 'throttle') return OpenTsdbMessages.throttle;
  return fault === 'stall' ? OpenTsdbMessages.writeTimedOut : OpenTsdbMessages.storage;
}

export interface TsdRequest {
  /** 1-based, in arrival order. */
  index: number;
  method: string;
  url: URL;
  flags: RequestRecord['flags'];
  /** The body, decoded (Content-Encoding undone, UTF-8). */
  text: string;
  /** The injected fault this request meets after it was read, if any. */
  putFault: PutFault | null;
  /** Records something a well-behaved writer never does. */
  violation(message: string): void;
}

/**
 * An answer; without a body it is sent empty. `close` ends the keep-alive connection after it. `afterMs`
 * sends it that much later (a `sync` put waiting for its `sync_timeout`); `never` leaves the request
 * unanswered (a `sync` put without one, while the storage stalls); `drop` destroys the connection instead of
 * answering.
 */
export interface Reply {
  status: number;
  body?: string;
  contentType?: string;
  close?: boolean;
  afterMs?: number;
  never?: boolean;
  drop?: boolean;
}

export function jsonReply(status: number, body: unknown): Reply {
  return { status, body: JSON.stringify(body), contentType: 'application/json; charset=UTF-8' };
}

export function errorReply(status: number, message: string, details?: string, trace?: string): Reply {
  const error: Record<string, string | number> = { code: status, message };
  if (details !== undefined) error.details = details;
  if (trace !== undefined) error.trace = trace;
  return jsonReply(status, { error });
}

export function methodNotAllowed(method: string): Reply {
  return errorReply(
    405,
    OpenTsdbMessages.methodNotAllowed,
    `The HTTP method [${method}] is not permitted for this endpoint`,
  );
}

/** Netty's HTML page for a request it refuses before the TSD sees it. */
export function htmlBadRequest(reason: string): Reply {
  return {
    status: 400,
    body: htmlPage(
      'Bad Request',
      `Sorry but your request was rejected as being invalid.<br/><br/>The reason provided was:<blockquote>${reason}</blockquote>`,
    ),
    contentType: 'text/html; charset=UTF-8',
  };
}

/** An HTML page in the TSD's layout. */
export function htmlPage(title: string, text: string): string {
  return (
    '<!DOCTYPE html><html><head><meta http-equiv=content-type content="text/html;charset=utf-8">' +
    `<title>${title}</title></head><body><table><tr><td><h1>${title}</h1></td></tr></table>` +
    `<div id=queryuimain><blockquote><h1>${title}</h1>${text}</blockquote></div>` +
    '</body></html>'
  );
}

/** A Java stack trace as long as the TSD's, for injected faults. */
export function longTrace(): string {
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
