// `npm start`: keeps the embedded nodes table current with the same refresh the Lambda runs, when
// Catchpoint credentials are in the environment (CATCHPOINT_API_KEY, or CATCHPOINT_CLIENT_ID and
// CATCHPOINT_CLIENT_SECRET). At start, then every hour.

import { type CatchpointClientOptions, createCatchpointClient } from '../lambda/catchpoint-api/api-client.js';
import { CredentialsError, credentialsFromEnv } from '../lambda/catchpoint-api/api-credentials.js';
import { ConfigError, type Env, readCatchpointApiSettings } from '../lambda/config.js';
import {
  failureAttributes,
  type NodeStore,
  REFRESH_DONE,
  REFRESH_FAILED,
  refreshNodes,
} from '../lambda/nodes/refresh-nodes.js';
import type { Log } from '../lambda/shared/log.js';

export interface LocalNodeRefreshOptions {
  table: NodeStore;
  env: Env;
  logger: Log;
  /** Default one hour. */
  intervalMs?: number;
  /** Overrides of the Catchpoint client's defaults; tests use it. */
  clientOptions?: Partial<CatchpointClientOptions>;
}

/**
 * Without credentials in `env`, does nothing. With them, refreshes the table once (awaited: the server then
 * starts with a full table; a failure is logged, not thrown) and again every `intervalMs` on a timer that
 * does not keep the process alive. Returns the function that stops the timer. Malformed credentials (say,
 * a client id without its secret) throw a ConfigError.
 */
export async function startLocalNodeRefresh(options: LocalNodeRefreshOptions): Promise<() => void> {
  const { env, logger } = options;
  let credentials: ReturnType<typeof credentialsFromEnv>;
  try {
    credentials = credentialsFromEnv(env);
  } catch (error) {
    throw error instanceof CredentialsError ? new ConfigError(error.message) : error;
  }
  if (credentials === undefined) {
    logger.info(
      'node refresh off: set CATCHPOINT_API_KEY, or CATCHPOINT_CLIENT_ID and CATCHPOINT_CLIENT_SECRET',
    );
    return () => {};
  }
  const { catchpointApiUrl, nodeTtlDays: ttlDays } = readCatchpointApiSettings(env);
  const source = createCatchpointClient(credentials, {
    baseUrl: catchpointApiUrl,
    onRetry: (retry) => logger.warn('Catchpoint request retried', { ...retry }),
    ...options.clientOptions,
  });

  let running = false;
  const runOnce = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      const result = await refreshNodes({ source, store: options.table, ttlDays });
      logger.info(REFRESH_DONE, { ...result });
    } catch (error) {
      logger.error(REFRESH_FAILED, failureAttributes(error));
    } finally {
      running = false;
    }
  };

  await runOnce();
  const timer = setInterval(() => void runOnce(), options.intervalMs ?? 3_600_000);
  timer.unref();
  return () => clearInterval(timer);
}
