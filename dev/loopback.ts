// Loopback ports and servers for the stand-ins, VictoriaMetrics and the load script's bridge.
import { createServer as createHttpServer, type Server } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';

/** A port nobody listens on at the moment of asking. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Listens on a free port of 127.0.0.1; resolves with the base URL, no trailing slash. */
export function listenOnLoopback(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(`http://127.0.0.1:${port}`);
    });
  });
}

/** Closes the server at once: hanging requests and idle keep-alive sockets would otherwise hold it open. */
export function closeNow(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export interface SilentServer {
  url: string;
  close(): Promise<void>;
}

/** A server that accepts connections and never answers: a service that hangs (DynamoDB, OpenTSDB). */
export async function startSilentServer(): Promise<SilentServer> {
  const server = createHttpServer(() => {});
  const url = await listenOnLoopback(server);
  return { url, close: () => closeNow(server) };
}
