// The refresh function's factory (EventBridge schedule → Catchpoint node list → nodes table). It reads the
// Catchpoint credentials from an SSM SecureString once and keeps them (and the v1 token) across
// invocations. A failed run writes nothing (but the stamps of the nodes a refused answer lists), logs why,
// counts RefreshFailures and fails the invocation, and it does so before the Lambda's timeout: every wait of
// the run (SSM, Catchpoint, DynamoDB) ends by then.
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { ScheduledEvent } from 'aws-lambda';
import { loadCredentials } from '../aws/ssm-credentials.js';
import {
  CatchpointApiError,
  type CatchpointClientOptions,
  createCatchpointClient,
  type NodeListSource,
} from '../catchpoint-api/api-client.js';
import type { RefreshConfig } from '../config.js';
import { errorText } from '../shared/error-text.js';
import { type InvocationTools, type LambdaHandler, reported, wrapInvocation } from '../shared/invocation.js';
import { MetricName, type MetricsRecorder, MetricUnit } from '../shared/observability.js';
import { startRunDeadline } from '../shared/run-deadline.js';
import {
  failureAttributes,
  type NodeStore,
  REFRESH_DONE,
  REFRESH_FAILED,
  RefreshError,
  type RefreshResult,
  refreshNodes,
} from './refresh-nodes.js';

export interface RefreshHandlerDeps extends InvocationTools {
  metrics: MetricsRecorder;
  config: RefreshConfig;
  ssm: Pick<SSMClient, 'send'>;
  store: NodeStore;
  /** Overrides of the Catchpoint client's defaults (timeouts, throttle, sleep, …); tests use it. */
  clientOptions?: Partial<CatchpointClientOptions>;
  now?: () => number;
}

export type RefreshHandler = LambdaHandler<ScheduledEvent | undefined, RefreshResult>;

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

  const catchpoint = (signal: AbortSignal): Promise<NodeListSource> => {
    client ??= loadCredentials(deps.ssm, config.credentialsParameter, signal).then((credentials) =>
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

  return wrapInvocation(deps, async (_event, context) => {
    const startMs = now();
    const deadline = startRunDeadline(startMs, context.getRemainingTimeInMillis(), RESERVE_AFTER_FETCH_MS);
    deadlineMs = deadline.fetchDeadlineMs;
    try {
      let source: NodeListSource;
      try {
        source = await catchpoint(deadline.signal);
      } catch (error) {
        client = undefined;
        throw new RefreshError(
          `no usable Catchpoint credentials, the table was left as it was: ${errorText(error)}`,
          'credentials-failed',
          { durationMs: now() - startMs },
          { cause: error },
        );
      }
      const result = await refreshNodes({
        source,
        store: deps.store,
        ttlDays: config.nodeTtlDays,
        now,
        signal: deadline.signal,
      });
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
      // A refused answer still re-stamps the nodes it lists: those are writes too.
      if (error instanceof RefreshError && error.details.stamped)
        metrics.addMetric(MetricName.NodesWritten, MetricUnit.Count, error.details.stamped);
      metrics.addMetric(MetricName.RefreshFailures, MetricUnit.Count, 1);
      logger.error(REFRESH_FAILED, failureAttributes(error));
      throw reported(error);
    } finally {
      deadline.dispose();
    }
  });
}
