import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PushHandler } from '../lambda/push/api-gateway.js';
import { PUSH_TIMEOUT_SECONDS } from '../lambda/push/push-limits.js';
import { MAX_PUSH_BYTES } from '../lambda/push/push-service.js';
import { httpApiEvent, lambdaContext } from './lambda-shim.js';

/** The push Lambda's timeout in the stack; the local server gives each push the same. */
const LOCAL_PUSH_TIMEOUT_MS = PUSH_TIMEOUT_SECONDS * 1000;

export interface LocalServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `POST /push` through the very handler the Lambda runs (as API Gateway would call it) and
 * `GET /health`, which answers 200 while the process serves, whatever OpenTSDB's state.
 */
export async function startLocalServer(options: {
  port: number;
  host?: string;
  handler: PushHandler;
}): Promise<LocalServer> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    if (url.pathname === '/health') {
      if (req.method === 'GET' || req.method === 'HEAD') return send(200, { status: 'ok' });
      return send(405, { error: 'use GET for /health' });
    }
    if (url.pathname !== '/push')
      return send(404, { error: 'not found: the routes are POST /push and GET /health' });
    // Every push, whatever its method or size, goes to the handler, which alone decides the answer (the
    // token is checked before the size, as in the Lambda). A body past the limit is not read further: the
    // handler gets its first MAX_PUSH_BYTES + 1 bytes, which it refuses as too large.
    const chunks: Buffer[] = [];
    let size = 0;
    let answered = false;
    const answer = (tooLarge: boolean): void => {
      answered = true;
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(',') : value;
      }
      const event = httpApiEvent({
        method: req.method ?? 'POST',
        path: url.pathname,
        query: url.searchParams,
        headers,
        body: Buffer.concat(chunks).subarray(0, MAX_PUSH_BYTES + 1),
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      });
      options
        .handler(event, lambdaContext('local-push', LOCAL_PUSH_TIMEOUT_MS))
        .then((result) => {
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (tooLarge) headers.connection = 'close';
          res.writeHead(result.statusCode ?? 200, headers);
          res.end(result.body ?? '');
        })
        .catch(() => send(500, { error: 'internal error' }));
    };
    req.on('data', (chunk: Buffer) => {
      if (answered) return;
      size += chunk.length;
      chunks.push(chunk);
      if (size > MAX_PUSH_BYTES) {
        answer(true);
        req.resume();
      }
    });
    req.on('end', () => {
      if (!answered) answer(false);
    });
    req.on('error', () => res.destroy());
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
