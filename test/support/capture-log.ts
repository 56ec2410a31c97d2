import type { InvocationTools } from '../../lambda/shared/invocation.js';

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  attributes: Record<string, unknown>;
}

/** A Log that keeps what was said, for assertions (and for checking that secrets never appear). */
export function captureLog(): InvocationTools['logger'] & {
  entries: LogEntry[];
  text(): string;
  clear(): void;
} {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (message: string, ...attributes: Record<string, unknown>[]) => {
      entries.push({ level, message, attributes: Object.assign({}, ...attributes) });
    };
  return {
    entries,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    // The invocation's context (function name, request id) is Powertools' concern, not the tests'.
    addContext: () => {},
    text: () => entries.map((e) => JSON.stringify(e)).join('\n'),
    clear: () => {
      entries.length = 0;
    },
  };
}
