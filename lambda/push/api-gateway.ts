// The API Gateway (HTTP API, payload format 2.0) edge of the push path, and the only place that chooses an
// HTTP status: the push service says what became of a push, this module answers Catchpoint accordingly and
// writes the push's one log line (push-record.ts). The local server (dev/local-server.ts) goes through the same handler.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type InvocationTools, type LambdaHandler, wrapInvocation } from '../shared/invocation.js';
import type { RejectionKind } from '../webhook/push-rejected.js';
import { ANSWER_MARGIN_MS } from './push-limits.js';
import { pushRecord } from './push-record.js';
import type { PushOutcome, PushService } from './push-service.js';

export type PushHandler = LambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;

/** The status each rejection deserves. */
const REJECTION_STATUS: Readonly<Record<RejectionKind, number>> = {
  invalid: 400,
  unauthorized: 401,
  'wrong-method': 405,
  'too-large': 413,
  'unsupported-format': 415,
};

export interface PushAnswer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Catchpoint's answer: 200 once the datapoints are safe (written or spooled), 4xx with the reason for a
 * push that can never succeed, 503 so that Catchpoint retries.
 */
export function answerFor(outcome: PushOutcome): PushAnswer {
  switch (outcome.kind) {
    case 'rejected':
      return { status: REJECTION_STATUS[outcome.reason], body: { error: outcome.message } };
    case 'written':
      return { status: 200, body: deliveredBody(outcome.datapoints, outcome.rejected) };
    case 'spooled':
      return {
        status: 200,
        body: { ...deliveredBody(outcome.datapoints, outcome.rejected), spooled: outcome.spooled },
      };
    case 'unavailable':
      return { status: 503, body: { error: 'OpenTSDB cannot take the datapoints now; retry later' } };
  }
}

function deliveredBody(written: number, rejected: number): Record<string, unknown> {
  return rejected > 0 ? { datapoints: written, rejected } : { datapoints: written };
}

/**
 * The push Lambda's handler over a push service. The answer is due by the earlier of `writeBudgetMs` and
 * the invocation's own limit.
 */
export function apiGatewayPushHandler(
  service: PushService,
  tools: InvocationTools & {
    writeBudgetMs: number;
    /** Where the push's one line goes: stdout (CloudWatch Logs), or a test's list. */
    emit?: (line: string) => void;
  },
): PushHandler {
  const { logger, writeBudgetMs } = tools;
  const emit = tools.emit ?? ((line: string) => process.stdout.write(`${line}\n`));
  return wrapInvocation(tools, async (event, context) => {
    const receivedAtMs = Date.now();
    const remaining = context.getRemainingTimeInMillis() - ANSWER_MARGIN_MS;
    let outcome: PushOutcome;
    try {
      outcome = await service.handle({
        method: event.requestContext?.http?.method ?? 'POST',
        token: event.queryStringParameters?.token,
        body: event.body,
        isBase64Encoded: event.isBase64Encoded === true,
        receivedAtMs,
        deadlineMs: receivedAtMs + Math.max(0, Math.min(writeBudgetMs, remaining)),
      });
    } catch (error) {
      // A defect, not bad input: say nothing of it to the caller, everything to the log.
      logger.error('push failed unexpectedly', { outcome: 'failed', status: 500, error: error as Error });
      return result({ status: 500, body: { error: 'internal error' } });
    }
    const answer = answerFor(outcome);
    const nowMs = Date.now();
    emit(
      pushRecord(outcome, {
        status: answer.status,
        ms: nowMs - receivedAtMs,
        requestId: event.requestContext?.requestId,
        nowMs,
      }),
    );
    return result(answer);
  });
}

function result(answer: PushAnswer): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: answer.status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(answer.body),
  };
}
