import { isObject, type JsonObject } from '../shared/json-fields.js';
import { errorTag } from '../webhook/error-tag.js';
import type { Measurements, TestResult } from '../webhook/test-result.js';
import { type RawMetricRule, rawMetricRule } from './metric-map.js';
import type { RawDimension, RawItem } from './raw-answer.js';

/** What one raw answer's `data` held, as test runs. */
export interface RawRuns {
  runs: TestResult[];
  /** Raw metric name (as Catchpoint spelled it) → how many runs carried a value for it that no rule maps. */
  unmapped: Map<string, number>;
  /** Items that are not a usable run: no test or node dimension, or no readable `dateTime`. */
  unreadable: number;
  /** Runs whose answer had no availability or failure metric: written as succeeded (nothing says otherwise). */
  statusUnknown: number;
}

export interface RawRunsOptions {
  /** Dimension type ids that name the test and the node, when the enumeration endpoint told them. */
  dimensionTypeIds?: { test: ReadonlySet<number>; node: ReadonlySet<number> };
}

/**
 * A raw answer's `data` → one TestResult per item (per run), as parse-push.ts would have read its push:
 * measurements under the push path's names (metric-map.ts), timestamp in whole UTC seconds, failed when the
 * availability or failure metrics say so. A `null` value is no measurement. Summary items (aggregates) are
 * not runs and are left out.
 */
export function rawToRuns(data: unknown, options: RawRunsOptions = {}): RawRuns {
  const out: RawRuns = { runs: [], unmapped: new Map(), unreadable: 0, statusUnknown: 0 };
  if (!isObject(data) || !Array.isArray(data.responseItems)) return out;
  for (const response of data.responseItems) {
    if (!isObject(response) || !Array.isArray(response.items)) continue;
    const columns = metricColumns(response);
    for (const item of response.items) {
      if (!isObject(item)) {
        out.unreadable++;
        continue;
      }
      const run = readRun(item as RawItem, columns, options, out);
      if (run) out.runs.push(run);
      else out.unreadable++;
    }
  }
  return out;
}

interface Column {
  index: number;
  name: string;
  rule: RawMetricRule | undefined;
}

/** The `metrics` entries of a response item, each with its rule: `values[index]` is its value. */
function metricColumns(response: JsonObject): Column[] {
  if (!Array.isArray(response.metrics)) return [];
  const columns: Column[] = [];
  for (const metric of response.metrics) {
    if (!isObject(metric)) continue;
    const { index, name } = metric;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || typeof name !== 'string')
      continue;
    columns.push({ index, name, rule: rawMetricRule(name) });
  }
  // In index order, whatever order the answer lists them in: a run's points come out in one order.
  return columns.sort((a, b) => a.index - b.index);
}

function readRun(
  item: RawItem,
  columns: readonly Column[],
  options: RawRunsOptions,
  out: RawRuns,
): TestResult | undefined {
  const test = dimension(item.dimensions, 'test', options.dimensionTypeIds?.test);
  const node = dimension(item.dimensions, 'node', options.dimensionTypeIds?.node);
  const timestamp = utcSeconds(item.dateTime);
  if (test === undefined || node === undefined || timestamp === undefined) return undefined;

  const groups: Record<'timing' | 'ping' | 'bytes' | 'counters', Measurements> = {
    timing: new Map(),
    ping: new Map(),
    bytes: new Map(),
    counters: new Map(),
  };
  let statusKnown = false;
  let failed = false;
  const flags: string[] = [];
  const values = Array.isArray(item.values) ? item.values : [];
  for (const column of columns) {
    const value = values[column.index];
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    const { rule } = column;
    if (rule === undefined) {
      out.unmapped.set(column.name, (out.unmapped.get(column.name) ?? 0) + 1);
      continue;
    }
    switch (rule.kind) {
      case 'measurement':
        groups[rule.group].set(rule.suffix, value);
        break;
      case 'availability':
        statusKnown = true;
        if (value < 100) failed = true;
        break;
      case 'content-availability':
        statusKnown = true;
        if (value < 100) {
          failed = true;
          flags.push('loadobjects');
        }
        break;
      case 'failure':
        statusKnown = true;
        if (value > 0) {
          failed = true;
          flags.push(rule.flag);
        }
        break;
    }
  }
  if (!statusKnown) out.statusUnknown++;

  const result: TestResult = {
    testId: test.id,
    nodeId: node.id,
    timestamp,
    failed,
    ...groups,
  };
  if (node.name) result.nodeName = node.name;
  // The raw answer has no error code: the tag is the first documented flag raised, as for a v4 push.
  if (failed) result.errorName = errorTag(undefined, flags);
  return result;
}

/** The test or node dimension of an item: by the enumeration's type ids, else by the type's name. */
function dimension(
  dimensions: RawItem['dimensions'],
  kind: 'test' | 'node',
  typeIds: ReadonlySet<number> | undefined,
): { id: number; name?: string } | undefined {
  if (!Array.isArray(dimensions)) return undefined;
  for (const entry of dimensions as unknown[]) {
    if (!isObject(entry)) continue;
    const { type, id, name } = entry as RawDimension;
    const typeId = isObject(type) && typeof type.id === 'number' ? type.id : undefined;
    const typeName = isObject(type) && typeof type.name === 'string' ? type.name.trim().toLowerCase() : '';
    const matches = typeIds && typeId !== undefined ? typeIds.has(typeId) : typeName === kind;
    if (!matches) continue;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) return undefined;
    return typeof name === 'string' && name.trim() !== '' ? { id, name: name.trim() } : { id };
  }
  return undefined;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * `dateTime` → whole epoch seconds, milliseconds dropped (as the push's `Summary.Timestamp`). The answer is
 * in UTC (the description says so): a time without a zone is read as UTC.
 */
export function utcSeconds(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = DATE_TIME.exec(value.trim());
  if (!match) return undefined;
  const ms = Date.parse(match[1] === undefined ? `${value.trim()}Z` : value.trim());
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}
