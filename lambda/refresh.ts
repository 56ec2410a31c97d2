// Refresh Lambda (EventBridge schedule, hourly): Catchpoint node list → nodes table. Reads the Catchpoint
// credentials from an SSM SecureString once and keeps them (and the v1 token) across invocations.
// A failed run writes nothing, logs why, counts a RefreshFailures metric and fails the invocation.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context, ScheduledEvent } from 'aws-lambda';
import {
  CatchpointApiError,
  type CatchpointClientOptions,
  createCatchpointClient,
  type NodeListSource,
} from './catchpoint-api/api-client.js';
import { type CatchpointCredentials, parseCredentials } from './catchpoint-api/api-credentials.js';
import { type RefreshConfig, readRefreshConfig } from './config.js';
import { NodeTable } from './nodes/node-table.js';
import {
  failureAttributes,
  type NodeStore,
  REFRESH_DONE,
  REFRESH_FAILED,
  RefreshError,
  type RefreshResult,
  refreshNodes,
} from './nodes/refresh-nodes.js';
import type { Log } from './shared/log.js';
import { createLogger, createMetrics, MetricName, MetricUnit } from './shared/observability.js';

export interface RefreshMetrics {
  addMetric(name: string, unit: typeof MetricUnit.Count, value: number): unknown;
  publishStoredMetrics(): void;
}

export interface RefreshHandlerDeps {
  config: RefreshConfig;
  ssm: Pick<SSMClient, 'send'>;
  store: NodeStore;
  logger: Log & { addContext?(context: Context): void };
  metrics: RefreshMetrics;
  /** Overrides of the Catchpoint client's defaults (timeouts, throttle, sleep, …); tests use it. */
  clientOptions?: Partial<CatchpointClientOptions>;
  now?: () => number;
}

export type RefreshHandler = (event?: ScheduledEvent, context?: Context) => Promise<RefreshResult>;

/** Reads the credentials JSON from the SSM SecureString, decrypted. */
export async function loadCredentials(
  ssm: Pick<SSMClient, 'send'>,
  name: string,
): Promise<CatchpointCredentials> {
  let value: string | undefined;
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    value = out.Parameter?.Value;
  } catch (error) {
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new Error(`could not read the SSM parameter ${name} (${what})`);
  }
  if (value === undefined) throw new Error(`the SSM parameter ${name} has no value`);
  return parseCredentials(value, `the SSM parameter ${name}`);
}

/**
 * Time kept after the fetch for reading the table, writing it and logging (at most a quarter of the run):
 * Catchpoint requests stop before the Lambda would time out, so a slow API fails with a logged reason.
 */
const RESERVE_AFTER_FETCH_MS = 30_000;

export function createRefreshHandler(deps: RefreshHandlerDeps): RefreshHandler {
  const { config, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  // Kept across invocations: the credentials (one SSM read per container) and the client with its v1 token.
  let client: Promise<NodeListSource> | undefined;
  let deadlineMs: number | undefined;

  const catchpoint = (): Promise<NodeListSource> => {
    client ??= loadCredentials(deps.ssm, config.credentialsParameter).then((credentials) =>
      createCatchpointClient(credentials, {
        baseUrl: config.catchpointApiUrl,
        onRetry: (retry) => logger.warn('Catchpoint request retried', { ...retry }),
        deadline: () => deadlineMs,
        now,
        ...deps.clientOptions,
      }),
    );
    return client;
  };

  return async (_event, context) => {
    if (context) logger.addContext?.(context);
    const startMs = now();
    const remainingMs = context?.getRemainingTimeInMillis();
    deadlineMs =
      remainingMs === undefined
        ? undefined
        : startMs + remainingMs - Math.min(RESERVE_AFTER_FETCH_MS, remainingMs / 4);
    try {
      let source: NodeListSource;
      try {
        source = await catchpoint();
      } catch (error) {
        client = undefined;
        throw new RefreshError(
          `no usable Catchpoint credentials, the table was left as it was: ${error instanceof Error ? error.message : String(error)}`,
          'credentials-failed',
          { durationMs: now() - startMs },
          { cause: error },
        );
      }
      const result = await refreshNodes({ source, store: deps.store, ttlDays: config.nodeTtlDays, now });
      metrics.addMetric(MetricName.NodesFetched, MetricUnit.Count, result.fetched);
      metrics.addMetric(MetricName.NodesWritten, MetricUnit.Count, result.written);
      logger.info(REFRESH_DONE, { ...result });
      return result;
    } catch (error) {
      // Rotated or revoked credentials: read the parameter again next time.
      if (
        error instanceof RefreshError &&
        error.cause instanceof CatchpointApiError &&
        error.cause.kind === 'auth'
      ) {
        client = undefined;
      }
      metrics.addMetric(MetricName.RefreshFailures, MetricUnit.Count, 1);
      logger.error(REFRESH_FAILED, failureAttributes(error));
      throw error;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

const config = readRefreshConfig(process.env);

export const handler: RefreshHandler = createRefreshHandler({
  config,
  ssm: new SSMClient({}),
  store: new NodeTable(new DynamoDBClient({}), config.nodesTable),
  logger: createLogger('refresh'),
  metrics: createMetrics('refresh'),
});
