/**
 * What an error says, for logs and messages: its message, never its stack. `withName` puts the error's name
 * first when it tells more than "Error" (the SDK's `TimeoutError`, `ResourceNotFoundException`, …).
 */
export function errorText(error: unknown, options: { withName?: boolean } = {}): string {
  if (!(error instanceof Error)) return String(error);
  if (options.withName && error.name && error.name !== 'Error') return `${error.name}: ${error.message}`;
  return error.message;
}
