import { durationOf, type RateLimits } from './rate-limits.js';

/** One raw-data request: some tests over [startMs, endMs). */
export interface RawWindow {
  testIds: readonly number[];
  startMs: number;
  endMs: number;
}

export interface PlanOptions {
  /** Width of one request's window. Default 6 h. */
  windowMs?: number;
  /** Test ids per request. Default 10. */
  testsPerRequest?: number;
}

export const DEFAULT_WINDOW_MS = 6 * 3_600_000;
export const DEFAULT_TESTS_PER_REQUEST = 10;
/** A window that still has more at this width is split by tests, then accepted as it is. */
export const MIN_WINDOW_MS = 60_000;

/**
 * The requests that cover `tests` over [fromMs, toMs): windows aligned on the window width (so a resumed or
 * repeated backfill asks the same windows), oldest first, each asking for up to `testsPerRequest` tests.
 */
export function planWindows(
  tests: readonly number[],
  fromMs: number,
  toMs: number,
  options: PlanOptions = {},
): RawWindow[] {
  const width = options.windowMs ?? DEFAULT_WINDOW_MS;
  const perRequest = options.testsPerRequest ?? DEFAULT_TESTS_PER_REQUEST;
  const ids = [...new Set(tests)].sort((a, b) => a - b);
  const groups: number[][] = [];
  for (let i = 0; i < ids.length; i += perRequest) groups.push(ids.slice(i, i + perRequest));
  const windows: RawWindow[] = [];
  for (let start = fromMs; start < toMs; ) {
    const end = Math.min(toMs, (Math.floor(start / width) + 1) * width);
    for (const testIds of groups) windows.push({ testIds, startMs: start, endMs: end });
    start = end;
  }
  return windows;
}

/**
 * A window whose answer said it has more: two halves in time, or, once a window is as narrow as it gets,
 * its tests in two halves. Undefined when neither can be split.
 */
export function splitWindow(window: RawWindow): [RawWindow, RawWindow] | undefined {
  if (window.endMs - window.startMs >= 2 * MIN_WINDOW_MS) {
    const middle = window.startMs + Math.floor((window.endMs - window.startMs) / 2 / 1000) * 1000;
    return [
      { ...window, endMs: middle },
      { ...window, startMs: middle },
    ];
  }
  if (window.testIds.length > 1) {
    const half = Math.ceil(window.testIds.length / 2);
    return [
      { ...window, testIds: window.testIds.slice(0, half) },
      { ...window, testIds: window.testIds.slice(half) },
    ];
  }
  return undefined;
}

/** A window's name in the checkpoint and in messages. */
export function windowKey(window: RawWindow): string {
  return `${window.testIds.join(',')}@${isoSeconds(window.startMs)}/${isoSeconds(window.endMs)}`;
}

/** `2026-11-20T00:00:00Z`. */
export function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

export interface PlanEstimate {
  requests: number;
  /** The least time the limits allow for them, answers not counted. */
  durationMs: number;
}

/** What a plan costs: its requests (a window that has more costs more) and how long the limits make it. */
export function estimatePlan(windows: readonly RawWindow[], limits: RateLimits, extra = 0): PlanEstimate {
  const requests = windows.length + extra;
  return { requests, durationMs: durationOf(requests, limits) };
}
