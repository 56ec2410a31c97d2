import type { UsageLimits } from './raw-answer.js';

/** Catchpoint's per-consumer REST limits: requests per second, minute, hour and day. */
export interface RateLimits {
  perSecond: number;
  perMinute: number;
  perHour: number;
  perDay: number;
}

/** The defaults secondary sources quote (spec §9); `--rate` sets an account's own. */
export const DEFAULT_RATE_LIMITS: RateLimits = { perSecond: 7, perMinute: 20, perHour: 500, perDay: 2000 };

const PERIODS = [
  { key: 'perSecond', ms: 1000, units: ['s', 'sec', 'second'] },
  { key: 'perMinute', ms: 60_000, units: ['m', 'min', 'minute'] },
  { key: 'perHour', ms: 3_600_000, units: ['h', 'hour'] },
  { key: 'perDay', ms: 86_400_000, units: ['d', 'day'] },
] as const;

export class RateSpecError extends Error {
  override name = 'RateSpecError';
}

/**
 * `7/s,20/min,500/h,2000/day` (any subset; the others keep their defaults) → limits. Throws RateSpecError
 * naming the part that is wrong.
 */
export function parseRateLimits(spec: string, base: RateLimits = DEFAULT_RATE_LIMITS): RateLimits {
  const limits = { ...base };
  for (const part of spec.split(',')) {
    const text = part.trim().toLowerCase();
    if (text === '') continue;
    const match = /^(\d{1,7})\s*\/\s*([a-z]+)$/.exec(text);
    const period = match
      ? PERIODS.find((p) => (p.units as readonly string[]).includes(match[2]!))
      : undefined;
    if (!match || !period || Number(match[1]) < 1) {
      throw new RateSpecError(
        `--rate: "${part.trim()}" is not <count>/<s|min|h|day> with a count of at least 1 (e.g. 7/s,20/min,500/h,2000/day)`,
      );
    }
    limits[period.key] = Number(match[1]);
  }
  return limits;
}

export function formatRateLimits(limits: RateLimits): string {
  return `${limits.perSecond}/s, ${limits.perMinute}/min, ${limits.perHour}/h, ${limits.perDay}/day`;
}

/**
 * The least time `count` requests take under the limits when started at once, each as early as the
 * limits allow: the slowest period decides (count−1 requests after the first, a full period per limit's
 * worth). Answers and retries come on top.
 */
export function durationOf(count: number, limits: RateLimits): number {
  if (count <= 1) return 0;
  return Math.max(...PERIODS.map((p) => Math.floor((count - 1) / limits[p.key]) * p.ms));
}

/**
 * Starts requests no faster than the limits allow, over sliding windows of a second, minute, hour and day
 * (so never more than a limit's worth in any such span). The limits only ever tighten: an answer's
 * `usageLimits` or `X-Rate-Limit-*` headers lower them or hold every request until a reset.
 */
export class RequestLimiter {
  private readonly starts: number[] = [];
  private limits: RateLimits;
  private heldUntilMs = 0;

  constructor(
    limits: RateLimits,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    this.limits = { ...limits };
  }

  get current(): RateLimits {
    return { ...this.limits };
  }

  /** Milliseconds until the next request may start (0: now). */
  delay(): number {
    const now = this.now();
    let at = Math.max(now, this.heldUntilMs);
    for (const period of PERIODS) {
      const limit = this.limits[period.key];
      // The request `limit` places back must be a whole period old before another may start.
      const blocking = this.starts[this.starts.length - limit];
      if (blocking !== undefined) at = Math.max(at, blocking + period.ms);
    }
    return at - now;
  }

  /** Waits for the next request's turn and counts it as started. */
  async take(): Promise<void> {
    for (let wait = this.delay(); wait > 0; wait = this.delay()) await this.sleep(wait);
    this.starts.push(this.now());
    // Only the last day's starts can hold a request back.
    const keep = this.limits.perDay;
    if (this.starts.length > keep * 2) this.starts.splice(0, this.starts.length - keep);
  }

  /** No request starts before `untilMs` (a 429's reset, a quota used up). */
  holdUntil(untilMs: number): void {
    this.heldUntilMs = Math.max(this.heldUntilMs, untilMs);
  }

  /**
   * An answer's `usageLimits.limits`: a lower cap is taken, never a higher one. Its `runs` are not read:
   * the description does not say what they count, and the headers and 429s already say when to wait.
   */
  applyUsage(usage: UsageLimits | undefined): void {
    const caps = usage?.limits;
    if (!caps) return;
    const pairs = [
      ['perMinute', caps.minute],
      ['perHour', caps.hour],
      ['perDay', caps.day],
    ] as const;
    for (const [key, cap] of pairs) {
      if (typeof cap === 'number' && Number.isInteger(cap) && cap >= 1 && cap < this.limits[key])
        this.limits[key] = cap;
    }
  }

  /** `X-Rate-Limit-Remaining: 0` holds requests until `X-Rate-Limit-Reset` (ms from now, parsed by the caller). */
  applyHeaders(remaining: number | undefined, resetInMs: number | undefined): void {
    if (remaining !== undefined && remaining <= 0 && resetInMs !== undefined) {
      this.holdUntil(this.now() + resetInMs);
    }
  }
}
