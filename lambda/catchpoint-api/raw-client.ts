// Catchpoint's raw test data (`GET /api/v2/tests/explorer/raw`) and its enumeration
// (`GET /api/v2/tests/explorer/enumeration`), API v2 only, every attempt paced by a RequestLimiter that
// reads the answers' `usageLimits` and `X-Rate-Limit-*` headers (a 429's reset is waited for by api-http).

import type { RequestLimiter } from '../backfill/rate-limits.js';
import type { RawData, UsageLimits } from '../backfill/raw-answer.js';
import type { RawWindow } from '../backfill/request-plan.js';
import { isObject, type JsonObject } from '../shared/json-fields.js';
import type { CatchpointCredentials } from './api-credentials.js';
import { CatchpointApiError, type CatchpointHttp, type HttpOptions } from './api-http.js';
import { getV2Data, limitedHttp } from './v2-get.js';

/** api-http.ts's message for a success answer past `maxBodyBytes` (an error page that big is an error). */
const TOO_LARGE = /answered 2\d\d with a body (?:of \d+ bytes, )?past the \d+ bytes this client reads/;

/** `availabilityFilter=8`: the runs whose real-time push (the webhook) failed. */
export const FAILED_DELIVERIES_FILTER = 8;

export interface RawQuery {
  /** Only the runs whose webhook delivery failed (`availabilityFilter=8`); else every run. */
  failedDeliveries?: boolean;
  /** `dimensionIds`: the test and node dimensions, when the enumeration named them. */
  dimensionIds?: readonly number[];
}

export interface RawAnswer {
  data: RawData & JsonObject;
  /** `data.hasMore`, or any response item's `hasMoreRecords`: the window holds more than this answer. */
  hasMore: boolean;
}

export interface Enumeration {
  /** `{id, name}` of each metric (section "metrics"). */
  metrics: { id: number; name: string }[];
  /** `{id, name}` of each dimension (section "dimensions"). */
  dimensions: { id: number; name: string }[];
}

export interface RawClientOptions extends HttpOptions {
  limiter: RequestLimiter;
}

/** The client for `credentials`; the raw data API is v2's, so v1 credentials are refused here. */
export function createRawClient(credentials: CatchpointCredentials, options: RawClientOptions): RawClient {
  if (credentials.version !== 'v2') {
    throw new CatchpointApiError(
      'the raw data API is API v2: set CATCHPOINT_API_KEY (a v2 static key), not a v1 client id and secret',
      'auth',
    );
  }
  return new RawClient(credentials.apiKey, options);
}

export class RawClient {
  private readonly http: CatchpointHttp;
  private readonly limiter: RequestLimiter;

  constructor(
    private readonly apiKey: string,
    options: RawClientOptions,
  ) {
    this.limiter = options.limiter;
    this.http = limitedHttp(options, options.limiter);
  }

  /** One window's raw runs (one request; the caller narrows the window when the answer has more). */
  async raw(window: RawWindow, query: RawQuery = {}): Promise<RawAnswer> {
    const params = new URLSearchParams({
      testIds: window.testIds.join(','),
      startTimeUtc: catchpointTime(window.startMs),
      endTimeUtc: catchpointTime(window.endMs),
    });
    if (query.dimensionIds && query.dimensionIds.length > 0)
      params.set('dimensionIds', query.dimensionIds.join(','));
    if (query.failedDeliveries) params.set('availabilityFilter', String(FAILED_DELIVERIES_FILTER));
    let data: JsonObject;
    try {
      data = await this.get(`/api/v2/tests/explorer/raw?${params.toString().replaceAll('%2C', ',')}`);
    } catch (error) {
      // An answer past the size cap holds too much for one window: like `hasMore`, ask narrower ones.
      if (error instanceof CatchpointApiError && error.kind === 'response' && TOO_LARGE.test(error.message))
        return { data: {}, hasMore: true };
      throw error;
    }
    const items = Array.isArray(data.responseItems) ? data.responseItems : [];
    const hasMore =
      data.hasMore === true || items.some((item) => isObject(item) && item.hasMoreRecords === true);
    return { data: data as RawData & JsonObject, hasMore };
  }

  /** The metric and dimension enumerations (`includeMetrics`, `includeDimensions`). */
  async enumeration(): Promise<Enumeration> {
    const data = await this.get(
      '/api/v2/tests/explorer/enumeration?includeMetrics=true&includeDimensions=true',
    );
    const out: Enumeration = { metrics: [], dimensions: [] };
    for (const section of Array.isArray(data.sections) ? data.sections : []) {
      if (!isObject(section) || typeof section.section !== 'string') continue;
      const name = section.section.toLowerCase();
      const target = name.includes('metric')
        ? out.metrics
        : name.includes('dimension')
          ? out.dimensions
          : null;
      if (target === null || !Array.isArray(section.enumeration)) continue;
      for (const entry of section.enumeration) {
        if (isObject(entry) && typeof entry.id === 'number' && typeof entry.name === 'string')
          target.push({ id: entry.id, name: entry.name });
      }
    }
    return out;
  }

  /** The `data` of a v2 envelope; its `usageLimits` go to the limiter; any failure throws. */
  private get(path: string): Promise<JsonObject> {
    return getV2Data(this.http, this.apiKey, path, {
      what: `GET ${path.split('?')[0]}`,
      onEnvelope: (envelope) => this.limiter.applyUsage(usageOf(envelope)),
    });
  }
}

function usageOf(envelope: JsonObject): UsageLimits | undefined {
  const usage = envelope.usageLimits;
  if (!isObject(usage)) return undefined;
  const period = (value: unknown) =>
    isObject(value)
      ? {
          minute: typeof value.minute === 'number' ? value.minute : undefined,
          hour: typeof value.hour === 'number' ? value.hour : undefined,
          day: typeof value.day === 'number' ? value.day : undefined,
        }
      : undefined;
  return { limits: period(usage.limits), runs: period(usage.runs) };
}

/** `YYYY-MM-DDThh:mm:ss` in UTC, as the description asks. */
export function catchpointTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}
