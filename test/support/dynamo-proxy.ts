/**
 * A DynamoDB that stops answering on demand: an HTTP proxy in front of a real one (dynalite) that passes
 * every request through, except the operations named in `silent` (`Scan`, `BatchWriteItem`, …, or `*` for
 * all), which it accepts and never answers, as a DynamoDB endpoint that hangs would.
 */
import { createServer, request } from 'node:http';
import { buffer } from 'node:stream/consumers';
import { closeNow, listenOnLoopback } from '../../dev/loopback.js';

export interface DynamoProxy {
  url: string;
  /** Operations left unanswered; change at will. */
  silent: Set<string>;
  /** Operations asked for so far, in order, answered or not. */
  operations: string[];
  close(): Promise<void>;
}

export async function startDynamoProxy(upstream: string): Promise<DynamoProxy> {
  const silent = new Set<string>();
  const operations: string[] = [];
  const target = new URL(upstream);
  const server = createServer((req, res) => {
    buffer(req).then(
      (body) => {
        const operation =
          String(req.headers['x-amz-target'] ?? '')
            .split('.')
            .pop() ?? '';
        operations.push(operation);
        if (silent.has(operation) || silent.has('*')) return; // never answered
        const forward = request(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: target.host },
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        forward.on('error', () => res.destroy());
        forward.end(body);
      },
      () => {},
    );
  });
  return { url: await listenOnLoopback(server), silent, operations, close: () => closeNow(server) };
}
