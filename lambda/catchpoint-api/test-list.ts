// The account's test ids: `GET /api/v2/tests?pageNumber=N&pageSize=100`, page by page while `data.hasMore`.
// Not in the published excerpt beside spec/catchpoint.md: the answer is read as Catchpoint's own Terraform
// provider reads `GET /api/v2/tests/{id}` (`data.tests[]`, each with a numeric `id`) and with v2's paging
// (`pageNumber`, `pageSize` ≤ 100, `data.hasMore`), defensively: anything else fails with what was found.
import type { RequestLimiter } from '../backfill/rate-limits.js';
import { isObject } from '../shared/json-fields.js';
import {
  CatchpointApiError,
  CatchpointHttp,
  type HttpOptions,
  messageSuffix,
  parseRateLimitReset,
} from './api-http.js';

export const TEST_LIST_PAGE_SIZE = 100;
/** Safety bound on paging: 100,000 tests. */
const MAX_PAGES = 1000;

export interface TestList {
  testIds: number[];
  requests: number;
}

export class TestListClient {
  private readonly http: CatchpointHttp;

  /** `limiter` is the raw-data client's, so that listing counts against the same limits. */
  constructor(
    private readonly apiKey: string,
    options: HttpOptions & { limiter: RequestLimiter },
  ) {
    const now = options.now ?? Date.now;
    this.http = new CatchpointHttp({
      minIntervalMs: 0,
      ...options,
      pace: () => options.limiter.take(),
      onHeaders: (status, headers) => {
        const remaining = Number(headers.get('x-rate-limit-remaining') ?? Number.NaN);
        const reset = parseRateLimitReset(headers.get('x-rate-limit-reset'), now());
        options.limiter.applyHeaders(Number.isFinite(remaining) ? remaining : undefined, reset);
        if (status === 429 && reset !== undefined) options.limiter.holdUntil(now() + reset);
      },
    });
  }

  /** Every test id of the account, each once, ascending. Throws on any failure: never a partial list. */
  async list(signal?: AbortSignal): Promise<TestList> {
    const ids = new Set<number>();
    let requests = 0;
    for (let page = 1; ; page++) {
      signal?.throwIfAborted();
      if (page > MAX_PAGES) {
        throw new CatchpointApiError(`Catchpoint still had more tests after ${MAX_PAGES} pages`, 'response');
      }
      const path = `/api/v2/tests?pageNumber=${page}&pageSize=${TEST_LIST_PAGE_SIZE}`;
      requests++;
      const answer = await this.http.send({
        method: 'GET',
        path,
        headers: { authorization: `Bearer ${this.apiKey}` },
      });
      if (answer.status === 401 || answer.status === 403) {
        throw new CatchpointApiError(
          `Catchpoint refused the API key on GET /api/v2/tests (${answer.status}${messageSuffix(answer)})`,
          'auth',
          answer.status,
        );
      }
      const envelope = answer.json;
      const data = isObject(envelope) ? envelope.data : undefined;
      if (answer.status < 200 || answer.status > 299 || !isObject(envelope)) {
        throw new CatchpointApiError(
          `Catchpoint GET ${path} answered ${answer.status}${messageSuffix(answer)}`,
          'http',
          answer.status,
        );
      }
      if ((Array.isArray(envelope.errors) && envelope.errors.length > 0) || envelope.completed === false) {
        throw new CatchpointApiError(
          `Catchpoint GET ${path} reported errors${messageSuffix(answer)}`,
          'response',
        );
      }
      if (!isObject(data) || !Array.isArray(data.tests)) {
        throw new CatchpointApiError(`Catchpoint GET ${path} answered without data.tests`, 'response');
      }
      for (const test of data.tests) {
        const id = isObject(test) ? test.id : undefined;
        if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
          throw new CatchpointApiError(
            `Catchpoint GET ${path} listed a test without a numeric id: ${JSON.stringify(test).slice(0, 120)}`,
            'response',
          );
        }
        ids.add(id);
      }
      // No `hasMore` (an unpaged answer) ends the list; `hasMore` with an empty page would never end.
      if (data.hasMore !== true) break;
      if (data.tests.length === 0) {
        throw new CatchpointApiError(
          `Catchpoint GET ${path} answered an empty page that has more`,
          'response',
        );
      }
    }
    return { testIds: [...ids].sort((a, b) => a - b), requests };
  }
}
