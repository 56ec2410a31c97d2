/**
 * A Catchpoint REST API stand-in for tests: a real HTTP server on 127.0.0.1 serving the documented node
 * endpoints (/work/shared/spec/catchpoint.md §6–7):
 * - v2: `GET /api/v2/nodes/all?pageNumber=N&pageSize=M` (paged, `hasMore`), `GET /api/v2/nodes` (Enterprise
 *   nodes), with `Authorization: Bearer <apiKey>`; answers in the v2 envelope, errors in `errors[].message`.
 * - v1: `POST /ui/api/token` (form, client credentials) → `{access_token, expires_in}`;
 *   `GET /ui/api/v1/nodes` with the token sent raw or base64-encoded (whichever `bearerEncoding` says) →
 *   `{"items":[…]}`; errors in `Message`, including "Expired token" once `expireTokens()` was called.
 * - `GET /api/v2/tests?pageNumber=N&pageSize=M` (paged, `hasMore`): `data.tests[]` with `id`, `name`, `status`.
 * - raw data (spec §9, the published description's AnalyticsResponseRaw): `GET /api/v2/tests/explorer/raw`
 *   with `testIds`, `startTimeUtc`/`endTimeUtc` (both inclusive), `availabilityFilter`, `dimensionIds`; one
 *   response item whose `metrics` list `rawMetrics` by `index` (listed in another order than their indexes,
 *   so a reader that maps by position fails), one item per run, `hasMore` when a window holds more than
 *   `rawMaxItems` runs (the items then cut there); `GET /api/v2/tests/explorer/enumeration`.
 * Faults (status, headers such as Retry-After or X-Rate-Limit-*, body, or a hang) are injected per path and
 * page.
 */
import { createServer } from 'node:http';
import { buffer } from 'node:stream/consumers';
import { fixture } from '../../dev/fixtures.js';
import { closeNow, listenOnLoopback } from '../../dev/loopback.js';
import type { V1Item, V2EnterpriseNode, V2Node } from '../../lambda/catchpoint-api/node-api-types.js';
import type { TestResult } from '../../lambda/webhook/test-result.js';

export interface StandInData {
  /** The v2 API key accepted. */
  apiKey: string;
  /** The v1 client credentials accepted. */
  clientId: string;
  clientSecret: string;
  /** How v1 wants its bearer token: as issued, or base64-encoded (older servers). */
  bearerEncoding: 'raw' | 'base64';
  tokenLifetimeSeconds: number;
  /** `/api/v2/nodes/all`. */
  v2Nodes: V2Node[];
  /** `/api/v2/nodes`. */
  enterprise: V2EnterpriseNode[];
  /** `/ui/api/v1/nodes`. */
  v1Items: V1Item[];
  /** Raw metric names in index order: `values[k]` of a run is for `rawMetrics[k]`. */
  rawMetrics: string[];
  /** The runs `/api/v2/tests/explorer/raw` serves. */
  rawRuns: StandInRun[];
  /** More runs than this in one answer's window: `hasMore`, and only the first this many. */
  rawMaxItems: number;
  /** `usageLimits` of every v2 answer. */
  usageLimits: unknown;
  /** `/api/v2/tests/explorer/enumeration`'s metric section (ids of `rawMetrics`). */
  enumerationMetrics: { id: number; name: string }[];
  /** `GET /api/v2/tests?pageNumber=N&pageSize=M`: the account's test ids (paged, `hasMore`). */
  tests: number[];
}

/** One run as the raw endpoint serves it. */
export interface StandInRun {
  testId: number;
  nodeId: number;
  nodeName: string;
  /** `YYYY-MM-DDThh:mm:ss` (UTC, as Catchpoint writes it), maybe with milliseconds. */
  dateTime: string;
  /** Value per name of `rawMetrics`; a name left out is `null`. */
  values: Record<string, number | null>;
  /** Failed (`availabilityFilter` 0 and 1). */
  failed?: boolean;
  /** Its webhook delivery failed (`availabilityFilter=8`). */
  pushFailed?: boolean;
}

/** Dimension types of the raw answer and the enumeration. */
export const RAW_DIMENSIONS = { test: { id: 1, name: 'Test' }, node: { id: 2, name: 'Node' } } as const;

export interface Fault {
  /** Pathname the fault applies to, e.g. `/api/v2/nodes/all`. */
  path: string;
  /** Only this page of `/api/v2/nodes/all`. */
  pageNumber?: number;
  /** How many matching requests it answers; default 1, `Infinity` for all. */
  times?: number;
  status?: number;
  headers?: Record<string, string>;
  /** JSON body (serialised), or a string sent as is. */
  body?: unknown;
  /** Never answer (until the stand-in closes). */
  hang?: boolean;
  /** Send the body in chunks without a Content-Length, so its size is only known once read. */
  chunked?: boolean;
  /** Send the headers and the body's first half, then nothing more (until the stand-in closes). */
  stall?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

export interface CatchpointStandIn {
  url: string;
  /** What the stand-in serves; change it between requests at will. */
  data: StandInData;
  requests: RecordedRequest[];
  addFault(fault: Fault): void;
  /** Every token issued so far now answers "Expired token". */
  expireTokens(): void;
  close(): Promise<void>;
}

export const STAND_IN_API_KEY = 'test-api-key-0123456789';
export const STAND_IN_CLIENT_ID = 'test-client-id';
export const STAND_IN_CLIENT_SECRET = 'test-client-secret-do-not-log';

/** The messages the stand-in answers with. */
export const StandInMessages = {
  invalidApiKey: 'Invalid API key.',
  denied: 'Authorization has been denied for this request.',
  expired: 'Expired token',
  invalidClient: 'Invalid client credentials.',
  pageSize: 'pageSize must be between 1 and 100.',
} as const;

/** The fixtures of test/fixtures/nodes: two v2 pages, the Enterprise list, the v1 items. */
export function fixtureNodes(): { v2Nodes: V2Node[]; enterprise: V2EnterpriseNode[]; v1Items: V1Item[] } {
  const page = (name: string): V2Node[] =>
    (JSON.parse(fixture(name)) as { data: { nodes: V2Node[] } }).data.nodes;
  return {
    v2Nodes: [...page('nodes/v2-all-page1.json'), ...page('nodes/v2-all-page2.json')],
    enterprise: (JSON.parse(fixture('nodes/v2-enterprise.json')) as { data: { nodes: V2EnterpriseNode[] } })
      .data.nodes,
    v1Items: (JSON.parse(fixture('nodes/v1-items.json')) as { items: V1Item[] }).items,
  };
}

const COUNTRIES = [
  { name: 'Japan', code: 'JP', city: 'Tokyo' },
  { name: 'Germany', code: 'DE', city: 'Berlin' },
  { name: 'United States', code: 'US', city: 'Chicago' },
  { name: 'Brazil', code: 'BR', city: 'Rio de Janeiro' },
  { name: 'Australia', code: 'AU', city: 'Melbourne' },
] as const;

/** `count` public v2 nodes with ids from `firstId`, spread over a few countries. */
export function makeV2Nodes(count: number, firstId = 1000): V2Node[] {
  return Array.from({ length: count }, (_, i) => {
    const c = COUNTRIES[i % COUNTRIES.length]!;
    return {
      id: firstId + i,
      name: `${c.city}, ${c.code} - ISP ${i}`,
      ipRanges: '192.0.2.0/28',
      isIPv6: false,
      latitude: 0,
      longitude: 0,
      status: { id: 0, name: 'Active' },
      networkType: { id: 0, name: 'Backbone' },
      asn: { id: 64_500 + (i % 100), name: `AS-${i}` },
      city: { id: 5000 + i, name: c.city },
      country: { id: 100 + (i % COUNTRIES.length), name: c.name },
    };
  });
}

/** `count` v1 items with ids from `firstId`. */
export function makeV1Items(count: number, firstId = 1000): V1Item[] {
  return makeV2Nodes(count, firstId).map((node, i) => ({
    id: node.id,
    name: node.name,
    status: node.status,
    network_type: node.networkType,
    ip_ranges: '192.0.2.0/28',
    isp: { id: 900 + i, name: `ISP ${i}` },
    asn: { value: `AS${64_500 + (i % 100)}`, name: `AS-${i}` },
    city: node.city,
    region: { id: 40 + i, name: `Region ${i}` },
    country: node.country,
    continent: null,
    targeted: true,
    coordinates: { latitude: 0, longitude: 0 },
  }));
}

/**
 * A push with no measurements from node `nodeId` of `makeV1Items(count)`, naming its node as Catchpoint
 * names it (undefined when the list has no such node).
 */
export function emptyPushFromV1Node(nodeId: number, count = 1000): TestResult {
  const item = makeV1Items(count).find((i) => Number(i.id) === nodeId);
  return {
    testId: 1,
    nodeId,
    nodeName: item?.name ?? undefined,
    failed: false,
    timing: new Map(),
    ping: new Map(),
    bytes: new Map(),
    counters: new Map(),
  };
}

export async function startCatchpointStandIn(data: Partial<StandInData> = {}): Promise<CatchpointStandIn> {
  const state: StandInData = {
    apiKey: STAND_IN_API_KEY,
    clientId: STAND_IN_CLIENT_ID,
    clientSecret: STAND_IN_CLIENT_SECRET,
    bearerEncoding: 'raw',
    tokenLifetimeSeconds: 1800,
    ...fixtureNodes(),
    rawMetrics: [],
    rawRuns: [],
    rawMaxItems: 1000,
    usageLimits: { limits: { minute: 20, hour: 500, day: 2000 } },
    enumerationMetrics: [],
    tests: [],
    ...data,
  };
  const requests: RecordedRequest[] = [];
  const faults: (Fault & { left: number })[] = [];
  const tokens = new Map<string, { expired: boolean }>();
  let tokenSerial = 0;

  const server = createServer((req, res) => {
    // A request aborted before its body ended gets no answer.
    buffer(req).then(
      (raw) => {
        const url = new URL(req.url ?? '/', 'http://stand-in');
        const request: RecordedRequest = {
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          authorization: req.headers.authorization,
          contentType: req.headers['content-type'],
          body: raw.toString('utf8'),
        };
        requests.push(request);
        const fault = faults.find(
          (f) =>
            f.left > 0 &&
            f.path === url.pathname &&
            (f.pageNumber === undefined || String(f.pageNumber) === url.searchParams.get('pageNumber')),
        );
        if (fault) {
          fault.left--;
          if (fault.hang) return; // the socket stays open until the client gives up or the stand-in closes
          const body = typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body ?? {});
          res.writeHead(fault.status ?? 500, { 'content-type': 'application/json', ...fault.headers });
          if (fault.stall) {
            res.write(body.slice(0, Math.ceil(body.length / 2)));
            return;
          }
          if (fault.chunked) {
            // A client that stops reading closes the socket; what is still being written then fails quietly.
            res.on('error', () => {});
            for (let i = 0; i < body.length; i += 65_536) res.write(body.slice(i, i + 65_536));
            res.end();
          } else res.end(body);
          return;
        }
        const { status, body } = answer(request);
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(body));
      },
      () => {},
    );
  });

  interface Answer {
    status: number;
    body: unknown;
  }
  const v2 = (status: number, data: unknown, errors: string[] = []): Answer => ({
    status,
    body: {
      data,
      messages: [],
      errors: errors.map((message, id) => ({ id: String(id + 1), message })),
      completed: errors.length === 0,
      traceId: `trace-${requests.length}`,
      usageLimits: state.usageLimits,
    },
  });

  const rawAnswer = (query: URLSearchParams): Answer => {
    const testIds = (query.get('testIds') ?? '').split(',').filter((id) => id !== '');
    if (testIds.length === 0 || testIds.some((id) => !/^\d+$/.test(id)))
      return v2(400, null, ['testIds is required: a comma-separated list of test ids.']);
    const start = utcMs(query.get('startTimeUtc'));
    const end = utcMs(query.get('endTimeUtc'));
    if (Number.isNaN(start) || Number.isNaN(end)) return v2(400, null, ['Invalid start or end time.']);
    const filter = query.get('availabilityFilter') ?? '2';
    const runs = state.rawRuns.filter((run) => {
      const at = utcMs(run.dateTime);
      if (!testIds.includes(String(run.testId)) || at < start || at > end) return false;
      if (filter === '8') return run.pushFailed === true;
      if (filter === '0') return run.failed === true;
      if (filter === '1') return run.failed !== true;
      return true;
    });
    const hasMore = runs.length > state.rawMaxItems;
    // Listed last index first: `values` are positional by `index`, not by this list's order.
    const metrics = state.rawMetrics.map((name, index) => ({ index, name })).reverse();
    const items = runs.slice(0, state.rawMaxItems).map((run) => ({
      dateTime: run.dateTime,
      reportDate: run.dateTime,
      values: state.rawMetrics.map((name) => run.values[name] ?? null),
      dimensions: [
        { type: RAW_DIMENSIONS.test, id: run.testId, name: `Test ${run.testId}` },
        { type: RAW_DIMENSIONS.node, id: run.nodeId, name: run.nodeName },
      ],
      indicators: [],
      tracepoints: [],
    }));
    return v2(200, {
      responseItems: [
        {
          startTimeUtc: query.get('startTimeUtc'),
          endTimeUtc: query.get('endTimeUtc'),
          timeZoneOffSet: null,
          hasMoreRecords: hasMore,
          dimensions: Object.values(RAW_DIMENSIONS),
          indicators: [],
          tracepoints: [],
          metrics,
          items,
          summaryItems: [],
        },
      ],
      hasMore,
      next: null,
      previous: null,
    });
  };

  const answer = (request: RecordedRequest): Answer => {
    const { method, path, query } = request;
    if (path.startsWith('/api/v2/')) {
      if (request.authorization !== `Bearer ${state.apiKey}`)
        return v2(401, null, [StandInMessages.invalidApiKey]);
      if (method !== 'GET') return v2(405, null, ['Method not allowed.']);
      if (path === '/api/v2/nodes/all') {
        const pageNumber = Number(query.get('pageNumber') ?? '1');
        const pageSize = Number(query.get('pageSize') ?? '100');
        if (!(pageSize >= 1 && pageSize <= 100)) return v2(400, null, [StandInMessages.pageSize]);
        const start = (pageNumber - 1) * pageSize;
        const nodes = state.v2Nodes.slice(start, start + pageSize);
        return v2(200, { nodes, hasMore: start + pageSize < state.v2Nodes.length });
      }
      if (path === '/api/v2/nodes') return v2(200, { nodes: state.enterprise });
      if (path === '/api/v2/tests') {
        const pageNumber = Number(query.get('pageNumber') ?? '1');
        const pageSize = Math.min(100, Number(query.get('pageSize') ?? '100'));
        const start = (pageNumber - 1) * pageSize;
        const tests = state.tests
          .slice(start, start + pageSize)
          .map((id) => ({ id, name: `Test ${id}`, status: { id: 0, name: 'Active' } }));
        return v2(200, { tests, hasMore: start + pageSize < state.tests.length });
      }
      if (path === '/api/v2/tests/explorer/raw') return rawAnswer(query);
      if (path === '/api/v2/tests/explorer/enumeration') {
        return v2(200, {
          sections: [
            { section: 'Metrics', enumeration: state.enumerationMetrics },
            { section: 'Dimensions', enumeration: Object.values(RAW_DIMENSIONS) },
          ],
          hasMore: false,
          next: null,
          previous: null,
        });
      }
      return v2(404, null, ['Not found.']);
    }
    if (path === '/ui/api/token' && method === 'POST') {
      const form = new URLSearchParams(request.body);
      if (
        form.get('grant_type') !== 'client_credentials' ||
        form.get('client_id') !== state.clientId ||
        form.get('client_secret') !== state.clientSecret
      ) {
        return { status: 401, body: { error: 'invalid_client', Message: StandInMessages.invalidClient } };
      }
      tokenSerial++;
      const token = `v1-token-${tokenSerial}-${Math.random().toString(36).slice(2)}`;
      tokens.set(token, { expired: false });
      return {
        status: 200,
        body: { access_token: token, token_type: 'bearer', expires_in: state.tokenLifetimeSeconds },
      };
    }
    if (path === '/ui/api/v1/nodes' && method === 'GET') {
      const sent = /^Bearer (.+)$/.exec(request.authorization ?? '')?.[1] ?? '';
      const token = state.bearerEncoding === 'raw' ? sent : fromStrictBase64(sent);
      const known = token === undefined ? undefined : tokens.get(token);
      if (known === undefined) return { status: 401, body: { Message: StandInMessages.denied } };
      if (known.expired) return { status: 401, body: { Message: StandInMessages.expired } };
      return { status: 200, body: { items: state.v1Items } };
    }
    return {
      status: 404,
      body: { Message: `No HTTP resource was found that matches the request URI '${path}'.` },
    };
  };

  return {
    url: await listenOnLoopback(server),
    data: state,
    requests,
    addFault: (fault) => faults.push({ ...fault, left: fault.times ?? 1 }),
    expireTokens: () => {
      for (const token of tokens.values()) token.expired = true;
    },
    close: () => closeNow(server),
  };
}

/** `YYYY-MM-DDThh:mm:ss[.fff]` read as UTC; NaN when absent or not that. */
function utcMs(value: string | null): number {
  if (value === null || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(value)) return Number.NaN;
  return Date.parse(`${value}Z`);
}

/** The decoded text when `value` is canonical base64 (so a raw token is not mistaken for an encoded one). */
function fromStrictBase64(value: string): string | undefined {
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  return Buffer.from(decoded, 'utf8').toString('base64') === value ? decoded : undefined;
}
