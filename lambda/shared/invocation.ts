import type { Context } from 'aws-lambda';
import type { Log } from './log.js';
import type { MetricsRecorder } from './observability.js';

/** What every function's invocations are observed with: Powertools' Logger and Metrics, or stand-ins. */
export interface InvocationTools {
  logger: Log & { addContext(context: Context): void };
  /** Flushed after every invocation; the push function writes its metrics in its own line instead. */
  metrics?: MetricsRecorder;
}

export type LambdaHandler<E, R> = (event: E, context: Context) => Promise<R>;

const reportedErrors = new WeakSet<object>();

/** Marks an error its handler has logged already, so that the wrapper does not log it a second time. */
export function reported<T>(error: T): T {
  if (typeof error === 'object' && error !== null) reportedErrors.add(error);
  return error;
}

/**
 * The one way each function runs an invocation: the logger learns the invocation's context, the metrics
 * are flushed whatever happens, and an error that escapes unlogged is logged (never the event, which may
 * hold a token) before it fails the invocation.
 */
export function wrapInvocation<E, R>(tools: InvocationTools, run: LambdaHandler<E, R>): LambdaHandler<E, R> {
  const { logger, metrics } = tools;
  return async (event, context) => {
    logger.addContext(context);
    try {
      return await run(event, context);
    } catch (error) {
      if (!(typeof error === 'object' && error !== null && reportedErrors.has(error))) {
        logger.error('invocation failed unexpectedly', { error: error as Error });
      }
      throw error;
    } finally {
      metrics?.publishStoredMetrics();
    }
  };
}
