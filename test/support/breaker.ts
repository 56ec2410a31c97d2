import { setTimeout as sleep } from 'node:timers/promises';
import { circuitBreakerFor } from '../../lambda/opentsdb/circuit-breaker.js';

/**
 * Waits until the process's circuit breaker for the OpenTSDB at `url` lets a request probe: what the next
 * scheduled replay would find once OpenTSDB is back.
 */
export async function untilProbeDue(url: string): Promise<void> {
  const wait = circuitBreakerFor(url).probeInMs;
  if (wait > 0) await sleep(wait);
}

/** Closes the process's breaker for `url`: a scenario that starts with OpenTSDB healthy. */
export function resetBreaker(url: string): void {
  circuitBreakerFor(url).reset();
}
