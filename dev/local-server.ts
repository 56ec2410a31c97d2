import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PushHandler } from '../lambda/push/push-handler.js';
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
    if (req.method !== 'POST') return send(405, { error: 'use POST to push test data' });

    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > MAX_PUSH_BYTES) {
        // Refuse before reading the rest, as API Gateway + the handler would refuse it.
        refused = true;
        res.setHeader('connection', 'close');
        send(413, { error: `body larger than ${MAX_PUSH_BYTES} bytes` });
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(',') : value;
      }
      const event = httpApiEvent({
        method: req.method ?? 'POST',
        path: url.pathname,
        query: url.searchParams,
        headers,
        body: Buffer.concat(chunks),
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      });
      options
        .handler(event, lambdaContext('local-push', LOCAL_PUSH_TIMEOUT_MS))
        .then((result) => {
          res.writeHead(result.statusCode ?? 200, { 'content-type': 'application/json' });
          res.end(result.body ?? '');
        })
        .catch(() => send(500, { error: 'internal error' }));
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
