import type { Context } from 'aws-lambda';
import type { Log } from './log.js';

type ContextLogger = Log & { addContext(context: Context): void };

/**
 * A logger that hands the invocation's context to `inner` only when a line is written. The push function
 * writes no Powertools line for a successful push (its one line is push-record.ts's), so giving Powertools
 * the context of every invocation would be work for nothing on the hot path; a warning still carries it.
 */
export function contextOnDemand(inner: ContextLogger): ContextLogger {
  let pending: Context | undefined;
  const withContext = (): ContextLogger => {
    if (pending !== undefined) {
      inner.addContext(pending);
      pending = undefined;
    }
    return inner;
  };
  return {
    addContext(context) {
      pending = context;
    },
    debug: (message, ...attributes) => withContext().debug(message, ...attributes),
    info: (message, ...attributes) => withContext().info(message, ...attributes),
    warn: (message, ...attributes) => withContext().warn(message, ...attributes),
    error: (message, ...attributes) => withContext().error(message, ...attributes),
  };
}
