// The account's test ids: `GET /api/v2/tests?pageNumber=N&pageSize=100`, page by page while `data.hasMore`.
// Not in the published excerpt beside spec/catchpoint.md: the answer is read as Catchpoint's own Terraform
// provider reads `GET /api/v2/tests/{id}` (`data.tests[]`, each with a numeric `id`) and with v2's paging
// (`pageNumber`, `pageSize` ≤ 100, `data.hasMore`), defensively: anything else fails with what was found.
import type { RequestLimiter } from '../backfill/rate-limits.js';
import { isObject } from '../shared/json-fields.js';
import { CatchpointApiError, type CatchpointHttp, type HttpOptions } from './api-http.js';
import { getV2Data, limitedHttp } from './v2-get.js';

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
    this.http = limitedHttp(options, options.limiter);
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
      const data = await getV2Data(this.http, this.apiKey, path);
      if (!Array.isArray(data.tests)) {
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
