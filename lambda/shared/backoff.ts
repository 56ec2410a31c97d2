export { setTimeout as sleep } from 'node:timers/promises';

/**
 * Exponential backoff with jitter: between half and all of `baseMs`·2^(attempt−1), capped at `maxMs`.
 * Half is kept fixed so that a retry never comes at once, the other half spreads clients apart.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
