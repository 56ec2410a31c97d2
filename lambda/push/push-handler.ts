import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { PushService } from './push-service.js';

export type PushHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** Time kept back from the Lambda's own limit so that the answer always goes out. */
const ANSWER_MARGIN_MS = 1000;

/**
 * The API Gateway (HTTP API, payload 2.0) edge of the push path; the local server calls the same function.
 * The answer is due by the earlier of `writeBudgetMs` and the invocation's own limit.
 */
export function createPushHandler(
  service: PushService,
  observability: { logger: Logger; metrics: Metrics; writeBudgetMs: number },
): PushHandler {
  const { logger, metrics, writeBudgetMs } = observability;
  return async (event, context) => {
    const receivedAtMs = Date.now();
    logger.addContext(context);
    const remaining = context.getRemainingTimeInMillis() - ANSWER_MARGIN_MS;
    try {
      const answer = await service.handle({
        method: event.requestContext?.http?.method ?? 'POST',
        token: event.queryStringParameters?.token,
        body: event.body,
        isBase64Encoded: event.isBase64Encoded === true,
        receivedAtMs,
        deadlineMs: receivedAtMs + Math.max(0, Math.min(writeBudgetMs, remaining)),
      });
      return json(answer.status, answer.body);
    } catch (error) {
      // A defect, not bad input: say nothing of it to the caller, everything to the log.
      logger.error('push failed unexpectedly', { outcome: 'failed', status: 500, error: error as Error });
      return json(500, { error: 'internal error' });
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

function json(statusCode: number, body: Record<string, unknown>): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
