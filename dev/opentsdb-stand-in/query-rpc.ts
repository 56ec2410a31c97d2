// `GET /api/query` as OpenTSDB 2.4 answers it, for what a client of the bridge asks (the backfill's "is this
// run stored?"): `start`/`end` in epoch seconds or milliseconds (end inclusive, default now), one or more
// `m=<aggregator>:<metric>{<group-by filters>}`, filters `tagk=value`, `tagk=a|b` (literal_or) and
// `tagk=*` (wildcard), aggregators that do not interpolate (`zimsum`, `mimmin`, `mimmax`, `none`). The
// answer: an array of `{metric, tags, aggregateTags, dps}`, one per group, `tags` the tags every series of
// the group shares, `aggregateTags` the others, `dps` `{"<seconds>": value}`. A metric, tag name or tag
// value never written is OpenTSDB's 400 "No such name for '<metrics|tagk|tagv>': '<name>'".
// Interpolating aggregators, downsampling, rates and relative times are not implemented: asked for, they
// are a 400 that says so.
import type { StoredPoint } from './opentsdb-stand-in.js';
import type { TsdState } from './put-rules.js';
import { errorReply, jsonReply, methodNotAllowed, type Reply, type TsdRequest } from './rpc.js';

const AGGREGATORS: Record<string, (values: number[]) => number> = {
  zimsum: (values) => values.reduce((a, b) => a + b, 0),
  mimmin: (values) => Math.min(...values),
  mimmax: (values) => Math.max(...values),
};

interface SubQuery {
  aggregator: string;
  metric: string;
  filters: { tagk: string; values: readonly string[] | '*' }[];
}

export function answerQuery(request: TsdRequest, tsd: TsdState): Reply {
  if (request.method !== 'GET') return methodNotAllowed(request.method);
  const params = request.url.searchParams;
  const start = epochSeconds(params.get('start'));
  if (start === undefined)
    return errorReply(400, "Missing or unreadable parameter 'start' (stand-in: epoch only)");
  const endParam = params.get('end');
  const end = endParam === null ? Math.floor(Date.now() / 1000) : epochSeconds(endParam);
  if (end === undefined) return errorReply(400, "Unreadable parameter 'end' (stand-in: epoch only)");
  if (end < start) return errorReply(400, 'End time must be greater than the start time');
  const expressions = params.getAll('m');
  if (expressions.length === 0) return errorReply(400, 'Missing sub queries');

  const answer: unknown[] = [];
  for (const expression of expressions) {
    const query = parseSubQuery(expression);
    if (typeof query === 'string') return errorReply(400, query);
    const unknown = unknownName(query, tsd);
    if (unknown) return errorReply(400, `No such name for '${unknown.type}': '${unknown.name}'`);
    answer.push(...groups(query, tsd.store.pointsOf(query.metric), start, end));
  }
  return jsonReply(200, answer);
}

function epochSeconds(value: string | null): number | undefined {
  if (value === null || !/^\d{1,13}$/.test(value)) return undefined;
  const n = Number(value);
  return value.length > 10 ? Math.floor(n / 1000) : n;
}

/** `zimsum:metric{a=1|2,b=*}` → its parts, or the 400 message of what is not understood. */
function parseSubQuery(expression: string): SubQuery | string {
  const match = /^([a-z]+):([^{}:]+)(?:\{([^{}]*)\})?$/.exec(expression.trim());
  if (!match) return `Unable to parse sub query "${expression}" (stand-in: aggregator:metric{filters} only)`;
  const [, aggregator, metric, filterText] = match;
  if (aggregator !== 'none' && !Object.hasOwn(AGGREGATORS, aggregator!)) {
    return `Aggregator "${aggregator}" is not implemented by the stand-in (zimsum, mimmin, mimmax, none)`;
  }
  const filters: SubQuery['filters'] = [];
  for (const part of (filterText ?? '').split(',')) {
    if (part.trim() === '') continue;
    const [tagk, value] = part.split('=');
    if (!tagk || value === undefined || value === '') return `Invalid filter "${part}"`;
    filters.push({
      tagk: tagk.trim(),
      values: value.trim() === '*' ? '*' : value.split('|').map((v) => v.trim()),
    });
  }
  return { aggregator: aggregator!, metric: metric!.trim(), filters };
}

/** The first name of the query OpenTSDB has no UID for (it resolves every one before reading). */
function unknownName(query: SubQuery, tsd: TsdState): { type: string; name: string } | undefined {
  if (!tsd.uids.nameExists('metric', query.metric)) return { type: 'metrics', name: query.metric };
  for (const filter of query.filters) {
    if (!tsd.uids.nameExists('tagk', filter.tagk)) return { type: 'tagk', name: filter.tagk };
    if (filter.values === '*') continue;
    // literal_or resolves each value; one never written fails the query as OpenTSDB 2.4's does.
    for (const value of filter.values)
      if (!tsd.uids.nameExists('tagv', value)) return { type: 'tagv', name: value };
  }
  return undefined;
}

function groups(query: SubQuery, points: readonly StoredPoint[], start: number, end: number): unknown[] {
  const bySeries = new Map<string, StoredPoint[]>();
  for (const point of points) {
    if (point.timestamp < start || point.timestamp > end) continue;
    const matches = query.filters.every((f) => {
      const value = point.tags[f.tagk];
      return value !== undefined && (f.values === '*' || f.values.includes(value));
    });
    if (!matches) continue;
    // Every filter of the first braces groups by its tag.
    const group = query.filters.map((f) => point.tags[f.tagk]).join('\u0000');
    const key = query.aggregator === 'none' ? JSON.stringify([point.tags]) : group;
    const list = bySeries.get(key);
    if (list) list.push(point);
    else bySeries.set(key, [point]);
  }
  const out: unknown[] = [];
  for (const list of bySeries.values()) {
    const tagKeys = new Set(list.flatMap((p) => Object.keys(p.tags)));
    const tags: Record<string, string> = {};
    const aggregateTags: string[] = [];
    for (const tagk of [...tagKeys].sort()) {
      const values = new Set(list.map((p) => p.tags[tagk]));
      if (values.size === 1 && list.every((p) => tagk in p.tags)) tags[tagk] = [...values][0]!;
      else aggregateTags.push(tagk);
    }
    const byTime = new Map<number, number[]>();
    for (const point of list) {
      const second = Math.floor(point.timestampMs / 1000);
      const values = byTime.get(second);
      if (values) values.push(point.value);
      else byTime.set(second, [point.value]);
    }
    const aggregate = AGGREGATORS[query.aggregator] ?? ((values: number[]) => values[0]!);
    const dps: Record<string, number> = {};
    for (const second of [...byTime.keys()].sort((a, b) => a - b))
      dps[String(second)] = aggregate(byTime.get(second)!);
    out.push({ metric: query.metric, tags, aggregateTags, dps });
  }
  return out;
}
