// Catchpoint's REST API as the scheduled gap repair reads it: the account's tests (test-list.ts), then the
// core's raw-data client, planner and rate limiter for the runs whose webhook delivery failed.
import type { CatchpointCredentials } from '../catchpoint-api/api-credentials.js';
import { CatchpointApiError, type HttpOptions } from '../catchpoint-api/api-http.js';
import { createRawClient } from '../catchpoint-api/raw-client.js';
import { TestListClient } from '../catchpoint-api/test-list.js';
import type { FailedRunSource, FailedRuns } from './gap-repair-handler.js';
import { DEFAULT_RATE_LIMITS, type RateLimits, RequestLimiter } from './rate-limits.js';
import { planWindows } from './request-plan.js';
import { addCounts, readWindowRuns } from './window-runs.js';

/**
 * Tests per raw request. Most periods have no failed delivery, so answers are small; a window that has
 * more is split by the core (in time, then by tests). 25 keeps an account of 500 tests at 20 requests a
 * period (docs/backfill.md has the arithmetic).
 */
export const GAP_REPAIR_TESTS_PER_REQUEST = 25;

/**
 * Request windows aligned on whole days: a repair window (at most a day and a margin) is one request per
 * group of tests, two when it spans midnight UTC.
 */
const GAP_REPAIR_REQUEST_WINDOW_MS = 86_400_000;

export interface FailedRunSourceOptions extends HttpOptions {
  /** Catchpoint's per-consumer limits; the defaults the core assumes when unset. */
  limits?: RateLimits;
}

/**
 * The source for these credentials. Its limiter lives as long as the source (the handler keeps it across
 * invocations of one container), so consecutive runs in one container count each other's requests.
 */
export function catchpointFailedRuns(
  credentials: CatchpointCredentials,
  options: FailedRunSourceOptions,
): FailedRunSource {
  if (credentials.version !== 'v2') {
    throw new CatchpointApiError(
      'the gap repair reads the raw-data API, which is API v2: store {"apiKey": …} (a v2 static key) in the ' +
        'credentials parameter, not a v1 client id and secret',
      'auth',
    );
  }
  const limiter = new RequestLimiter(options.limits ?? DEFAULT_RATE_LIMITS, options.now, options.sleep);
  const raw = createRawClient(credentials, { ...options, limiter });
  const tests = new TestListClient(credentials.apiKey, { ...options, limiter });
  return {
    listTests: (signal) => tests.list(signal),
    async failedRuns(testIds, window, signal): Promise<FailedRuns> {
      const out = {
        runs: [] as FailedRuns['runs'],
        unmapped: new Map<string, number>(),
        unreadable: 0,
        statusUnknown: 0,
        requests: 0,
      };
      const truncated: string[] = [];
      const windows = planWindows(testIds, window.fromMs, window.toMs, {
        windowMs: GAP_REPAIR_REQUEST_WINDOW_MS,
        testsPerRequest: GAP_REPAIR_TESTS_PER_REQUEST,
      });
      for (const requestWindow of windows) {
        signal.throwIfAborted();
        const read = await readWindowRuns(raw, requestWindow, { failedDeliveries: true });
        out.runs.push(...read.runs);
        addCounts(out.unmapped, read.unmapped);
        out.unreadable += read.unreadable;
        out.statusUnknown += read.statusUnknown;
        out.requests += read.requests;
        truncated.push(...read.truncated);
      }
      return { ...out, truncated };
    },
  };
}
