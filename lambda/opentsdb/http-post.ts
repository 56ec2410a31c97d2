import http from 'node:http';
import https from 'node:https';

export interface PostAnswer {
  status: number;
  contentType: string;
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
 * or rejects on a connection error or when `timeoutMs` passes.
 */
export async function httpPost(
  url: URL,
  body: Buffer,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<PostAnswer> {
  const deadline = Date.now() + timeoutMs;
  for (let retries = 0; ; retries++) {
    try {
      return await postOnce(url, body, headers, Math.max(1, deadline - Date.now()));
    } catch (error) {
      if (!(error instanceof StaleSocket) || retries >= STALE_SOCKET_RETRIES || Date.now() >= deadline)
        throw error instanceof StaleSocket ? error.cause : error;
    }
  }
}

function postOnce(
  url: URL,
  body: Buffer,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<PostAnswer> {
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let answered = false;
    const request = transport.request(
      url,
      {
        method: 'POST',
        agent: agents[url.protocol === 'https:' ? 'https:' : 'http:'],
        headers: { ...headers, 'Content-Length': String(body.length) },
      },
      (response) => {
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
            status: response.statusCode ?? 0,
            contentType: String(response.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_ANSWER_BYTES),
          });
        });
        response.on('error', reject);
      },
    );
    // A plain timer bounds the whole exchange (a socket timeout would only bound silences); it is also far
    // cheaper than an AbortSignal per request.
    timer = setTimeout(() => request.destroy(new RequestTimeout(timeoutMs)), Math.max(1, timeoutMs));
    request.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const stale =
        request.reusedSocket && !answered && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
      reject(stale ? new StaleSocket(error) : error);
    });
    request.end(body);
  });
}

/** A reset on a reused keep-alive connection before any answer: worth sending again at once. */
class StaleSocket extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
  }
}

export class RequestTimeout extends Error {
  override name = 'TimeoutError';
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}
