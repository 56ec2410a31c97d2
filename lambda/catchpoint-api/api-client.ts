// Fetches the whole node list from Catchpoint's REST API, v2 (static API key) or v1 (OAuth client
// credentials). Any failure throws: a partial list is never returned.

import { isObject, type JsonObject } from '../shared/json-fields.js';
import type { CatchpointCredentials } from './api-credentials.js';
import {
  type CatchpointAnswer,
  CatchpointApiError,
  CatchpointHttp,
  catchpointMessage,
  type HttpOptions,
  messageSuffix,
} from './api-http.js';
import type { RawNodeList, V1Item, V2EnterpriseNode, V2Node } from './node-api-types.js';
import { getV2Data } from './v2-get.js';

export type { ApiErrorKind, HttpOptions, RetryNotice } from './api-http.js';
export { CatchpointApiError } from './api-http.js';

export interface CatchpointClientOptions extends HttpOptions {
  /** v2 page size; the API's maximum is 100. */
  pageSize?: number;
  /** Safety bound on v2 paging. Default 1000 pages. */
  maxPages?: number;
}

/** Where the refresh gets its nodes from. */
export interface NodeListSource {
  readonly version: 'v1' | 'v2';
  fetchNodes(): Promise<RawNodeList>;
}

/**
 * The client for the given credentials. Keep it for the life of the process: the v1 client reuses its
 * token until it expires.
 */
export function createCatchpointClient(
  credentials: CatchpointCredentials,
  options: CatchpointClientOptions,
): NodeListSource {
  return credentials.version === 'v2'
    ? new CatchpointV2Client(credentials.apiKey, options)
    : new CatchpointV1Client(credentials.clientId, credentials.clientSecret, options);
}

/** API v2: `GET /api/v2/nodes/all` page by page, then the Enterprise list `GET /api/v2/nodes`. */
export class CatchpointV2Client implements NodeListSource {
  readonly version = 'v2';
  private readonly http: CatchpointHttp;
  private readonly pageSize: number;
  private readonly maxPages: number;

  constructor(
    private readonly apiKey: string,
    options: CatchpointClientOptions,
  ) {
    this.http = new CatchpointHttp(options);
    this.pageSize = Math.min(100, Math.max(1, options.pageSize ?? 100));
    this.maxPages = options.maxPages ?? 1000;
  }

  async fetchNodes(): Promise<RawNodeList> {
    const nodes: V2Node[] = [];
    for (let page = 1; ; page++) {
      if (page > this.maxPages) {
        throw new CatchpointApiError(
          `Catchpoint still had more nodes after ${this.maxPages} pages`,
          'response',
        );
      }
      const path = `/api/v2/nodes/all?pageNumber=${page}&pageSize=${this.pageSize}`;
      const data = await this.get(path);
      const list = nodeArray(data, path);
      const hasMore = data.hasMore;
      if (typeof hasMore !== 'boolean') {
        throw new CatchpointApiError(`Catchpoint GET ${path} answered without data.hasMore`, 'response');
      }
      if (hasMore && list.length === 0) {
        throw new CatchpointApiError(
          `Catchpoint GET ${path} answered an empty page that has more`,
          'response',
        );
      }
      nodes.push(...(list as V2Node[]));
      if (!hasMore) break;
    }
    const enterprise = nodeArray(await this.get('/api/v2/nodes'), '/api/v2/nodes') as V2EnterpriseNode[];
    return { version: 'v2', nodes, enterprise };
  }

  /** The `data` of a v2 envelope; throws with Catchpoint's message on any failure the envelope reports. */
  private get(path: string): Promise<JsonObject> {
    return getV2Data(this.http, this.apiKey, path);
  }
}

/**
 * API v1: an OAuth client-credentials token (`POST /ui/api/token`), reused until it expires and renewed on
 * an "Expired token" answer; `GET /ui/api/v1/nodes` with the bearer token sent raw, or base64-encoded when
 * the raw one is refused (older servers). The encoding that worked is remembered.
 */
export class CatchpointV1Client implements NodeListSource {
  readonly version = 'v1';
  private readonly http: CatchpointHttp;
  private readonly now: () => number;
  private token: { value: string; renewAtMs: number } | undefined;
  private encoding: 'raw' | 'base64' = 'raw';

  constructor(
    private readonly clientId: string,
    private readonly clientSecret: string,
    options: CatchpointClientOptions,
  ) {
    this.http = new CatchpointHttp(options);
    this.now = options.now ?? Date.now;
  }

  async fetchNodes(): Promise<RawNodeList> {
    const path = '/ui/api/v1/nodes';
    let renewed = false;
    let switchedEncoding = false;
    for (;;) {
      const token = await this.accessToken();
      const bearer = this.encoding === 'raw' ? token : Buffer.from(token, 'utf8').toString('base64');
      const answer = await this.http.send({
        method: 'GET',
        path,
        headers: { authorization: `Bearer ${bearer}` },
      });
      const message = catchpointMessage(answer) ?? '';

      if (/expired token/i.test(message)) {
        this.token = undefined;
        if (renewed) {
          throw new CatchpointApiError(
            `Catchpoint GET ${path}: a freshly issued token was "${message}"`,
            'auth',
          );
        }
        renewed = true;
        continue;
      }
      if (answer.status === 401 || answer.status === 403) {
        if (!switchedEncoding) {
          this.encoding = this.encoding === 'raw' ? 'base64' : 'raw';
          switchedEncoding = true;
          continue;
        }
        this.token = undefined;
        throw new CatchpointApiError(
          `Catchpoint refused the token on GET ${path}, sent raw and base64-encoded (${answer.status}${messageSuffix(answer)})`,
          'auth',
          answer.status,
        );
      }
      return { version: 'v1', items: itemArray(answer, path) };
    }
  }

  private async accessToken(): Promise<string> {
    if (this.token && this.now() < this.token.renewAtMs) return this.token.value;
    this.token = undefined;
    const path = '/ui/api/token';
    const answer = await this.http.send({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.clientId,
        client_secret: this.clientSecret,
      }).toString(),
    });
    if (answer.status >= 400 && answer.status <= 499) {
      throw new CatchpointApiError(
        `Catchpoint refused the client id and secret on POST ${path} (${answer.status}${messageSuffix(answer)})`,
        'auth',
        answer.status,
      );
    }
    const body = answer.json;
    const value = isObject(body) ? body.access_token : undefined;
    if (answer.status < 200 || answer.status > 299 || typeof value !== 'string' || value === '') {
      throw new CatchpointApiError(
        `Catchpoint POST ${path} answered ${answer.status} without an access_token${messageSuffix(answer)}`,
        'auth',
        answer.status,
      );
    }
    const expiresIn = isObject(body) && typeof body.expires_in === 'number' ? body.expires_in : 1800;
    // Renew a minute early (or halfway, for short-lived tokens) so a token never expires mid-run.
    const marginSeconds = Math.min(60, expiresIn / 2);
    this.token = { value, renewAtMs: this.now() + (expiresIn - marginSeconds) * 1000 };
    return value;
  }
}

function nodeArray(data: JsonObject, path: string): JsonObject[] {
  if (!Array.isArray(data.nodes)) {
    throw new CatchpointApiError(`Catchpoint GET ${path} answered without data.nodes`, 'response');
  }
  // A malformed entry stays in the list as an empty node, so the refresh counts it as skipped.
  return data.nodes.map((node) => (isObject(node) ? node : {}));
}

function itemArray(answer: CatchpointAnswer, path: string): V1Item[] {
  if (answer.status < 200 || answer.status > 299) {
    throw new CatchpointApiError(
      `Catchpoint GET ${path} answered ${answer.status}${messageSuffix(answer)}`,
      'http',
      answer.status,
    );
  }
  const body = answer.json;
  if (!isObject(body) || !Array.isArray(body.items)) {
    throw new CatchpointApiError(
      `Catchpoint GET ${path} answered ${answer.status} without "items"${messageSuffix(answer)}`,
      'response',
      answer.status,
    );
  }
  return body.items.map((item) => (isObject(item) ? item : {})) as V1Item[];
}
