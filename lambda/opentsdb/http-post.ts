import http from 'node:http';
import https from 'node:https';

export interface PostAnswer {
  status: number;
  /** Read whole (cut at MAX_ANSWER_BYTES): OpenTSDB's own answers say what they are in the body. */
  body: string;
}

/** Bodies beyond this are cut: OpenTSDB's 500s carry Java stack traces we never need whole. */
const MAX_ANSWER_BYTES = 256 * 1024;

/**
 * How many times a request that met a reset on a reused keep-alive connection is sent again. A socket the
 * server closed while idle (a Lambda frozen between invocations, OpenTSDB's idle timeout) is only found
 * dead when written to; that is no sign of OpenTSDB failing, and must not open the circuit breaker.
 */
const STALE_SOCKET_RETRIES = 2;

// One keep-alive pool per process: a warm Lambda reuses its connection to OpenTSDB.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

/**
 * POSTs a complete body with Content-Length (never chunked, never `Expect`) and resolves with the answer,
 * or rejects on a connection error or when `timeoutMs` passes. One promise and one timer for the whole
 * exchange, stale-socket retries included: this runs once per push, so it is kept lean.
 */
export function httpPost(
  url: URL,
  body: string | Buffer,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<PostAnswer> {
  const transport = url.protocol === 'https:' ? https : http;
  const target = targetOf(url);
  const options: http.RequestOptions = {
    protocol: target.protocol,
    hostname: target.hostname,
    port: target.port,
    path: target.path,
    method: 'POST',
    agent: agents[url.protocol === 'https:' ? 'https:' : 'http:'],
    headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
  };
  return new Promise((resolve, reject) => {
    let request: http.ClientRequest;
    // A plain timer bounds the whole exchange (a socket timeout would only bound silences); it is also far
    // cheaper than an AbortSignal per request.
    const timer = setTimeout(() => request.destroy(new RequestTimeout(timeoutMs)), Math.max(1, timeoutMs));
    const send = (staleRetries: number): void => {
      let answered = false;
      request = transport.request(options, (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        response.on('end', () => {
          clearTimeout(timer);
          resolve({
            // Not response.headers: Node builds that object on first use, and nothing here needs it.
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_ANSWER_BYTES),
          });
        });
        response.on('error', reject);
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        const stale =
          request.reusedSocket && !answered && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
        if (stale && staleRetries < STALE_SOCKET_RETRIES && !(error instanceof RequestTimeout)) {
          send(staleRetries + 1);
          return;
        }
        clearTimeout(timer);
        reject(error);
      });
      request.end(body);
    };
    send(0);
  });
}

// Where a URL points, as request options: http.request would work it out from the URL on every request.
// Always the same keys, so that every request's options have one shape.
const targets = new WeakMap<URL, http.RequestOptions>();

function targetOf(url: URL): http.RequestOptions {
  let target = targets.get(url);
  if (target === undefined) {
    target = {
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port,
      path: `${url.pathname}${url.search}`,
    };
    targets.set(url, target);
  }
  return target;
}

export class RequestTimeout extends Error {
  override name = 'TimeoutError';
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}
