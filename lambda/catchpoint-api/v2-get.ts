// A GET on Catchpoint's API v2 with a static key: the `data` of its envelope, or a CatchpointApiError that
// says what was wrong (refused key, failed status, no JSON object, errors or an incomplete answer reported,
// no `data`). The node refresh's v2 client and the backfill's clients all read v2 answers this way.

import type { RequestLimiter } from '../backfill/rate-limits.js';
import { isObject, type JsonObject } from '../shared/json-fields.js';
import {
  CatchpointApiError,
  CatchpointHttp,
  type HttpOptions,
  messageSuffix,
  parseRateLimitReset,
} from './api-http.js';

export interface V2GetOptions {
  /** How errors name the request; default `GET <path>`. */
  what?: string;
  /** Sees every JSON object envelope of a success answer, before its `data` is checked. */
  onEnvelope?: (envelope: JsonObject) => void;
}

export async function getV2Data(
  http: CatchpointHttp,
  apiKey: string,
  path: string,
  options: V2GetOptions = {},
): Promise<JsonObject> {
  const what = options.what ?? `GET ${path}`;
  const answer = await http.send({ method: 'GET', path, headers: { authorization: `Bearer ${apiKey}` } });
  if (answer.status === 401 || answer.status === 403) {
    throw new CatchpointApiError(
      `Catchpoint refused the API key on ${what} (${answer.status}${messageSuffix(answer)})`,
      'auth',
      answer.status,
    );
  }
  if (answer.status < 200 || answer.status > 299) {
    throw new CatchpointApiError(
      `Catchpoint ${what} answered ${answer.status}${messageSuffix(answer)}`,
      'http',
      answer.status,
    );
  }
  const envelope = answer.json;
  if (!isObject(envelope)) {
    throw new CatchpointApiError(
      `Catchpoint ${what} answered ${answer.status} without a JSON object`,
      'response',
    );
  }
  options.onEnvelope?.(envelope);
  const errors = Array.isArray(envelope.errors) ? envelope.errors.length : 0;
  if (errors > 0 || envelope.completed === false) {
    throw new CatchpointApiError(
      `Catchpoint ${what} reported ${errors > 0 ? 'errors' : 'an incomplete answer'}${messageSuffix(answer)}`,
      'response',
      answer.status,
    );
  }
  if (!isObject(envelope.data))
    throw new CatchpointApiError(`Catchpoint ${what} answered without "data"`, 'response');
  return envelope.data;
}

/**
 * HTTP whose every attempt waits for `limiter`, and that tells it what each answer's `X-Rate-Limit-*` headers
 * say (a 429's reset holds all requests until then). The backfill's clients share one limiter.
 */
export function limitedHttp(options: HttpOptions, limiter: RequestLimiter): CatchpointHttp {
  const now = options.now ?? Date.now;
  return new CatchpointHttp({
    minIntervalMs: 0,
    ...options,
    pace: () => limiter.take(),
    onHeaders: (status, headers) => {
      const remaining = Number(headers.get('x-rate-limit-remaining') ?? Number.NaN);
      const reset = parseRateLimitReset(headers.get('x-rate-limit-reset'), now());
      limiter.applyHeaders(Number.isFinite(remaining) ? remaining : undefined, reset);
      if (status === 429 && reset !== undefined) limiter.holdUntil(now() + reset);
      options.onHeaders?.(status, headers);
    },
  });
}
