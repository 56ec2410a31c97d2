import { isErrorCode, isRaised, type JsonObject, toFiniteNumber } from '../shared/json-fields.js';
import { memoized } from '../shared/memoized.js';
import { ERROR_FLAGS, errorTag } from './error-tag.js';
import {
  BYTE_FIELDS as BYTES,
  COUNTER_FIELDS as COUNTERS,
  fieldKey,
  PING_FIELDS as PING,
  TIMING_FIELDS,
} from './measurement-names.js';
import type { Measurements } from './test-result.js';

/**
 * Template payloads: flat `Summary` fields named after Catchpoint's macros, in any case (`TotalTime`,
 * `SSL`, `timingdns`, `AnyError`, `ConnectionsCount`, `byteresponsecontent`, …). Keys are compared
 * lower-cased with everything but letters and digits removed; only names listed here become metrics, so
 * a customer's own fields never invent metric names.
 */
/** Template names that differ from the default JSON ones. */
const TIMING: Readonly<Record<string, string>> = { ...TIMING_FIELDS, totaltime: 'total' };

/** Template error fields (`DNSError`, `ErrorObjectsLoaded`, …) → the flag they raise (error-tag.ts). */
const TEMPLATE_ERROR_FLAGS: Readonly<Record<string, string>> = {
  any: 'any',
  ...Object.fromEntries(ERROR_FLAGS.map((flag) => [flag, flag])),
  objectsloaded: 'loadobjects',
};

export interface TemplateSummary {
  timing?: Measurements;
  ping?: Measurements;
  bytes?: Measurements;
  counters?: Measurements;
  failed: boolean;
  errorName?: string;
}

type Group = 'timing' | 'ping' | 'bytes' | 'counters';

/** What a `Summary` field of a template is to us. */
type FieldRole =
  | { kind: 'code' }
  | { kind: 'flag'; flag: string }
  | { kind: 'measure'; group: Group; name: string }
  | { kind: 'none' };

const NONE: FieldRole = { kind: 'none' };

function lookup(table: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** Returns the metric group and name a template field feeds, or undefined. */
function classify(key: string): [group: Group, name: string] | undefined {
  const timing = key.startsWith('timing') ? lookup(TIMING, key.slice(6)) : lookup(TIMING, key);
  if (timing) return ['timing', timing];
  const bytes = key.startsWith('byteresponse')
    ? lookup(BYTES, key.slice(12))
    : key.startsWith('response')
      ? lookup(BYTES, key.slice(8))
      : lookup(BYTES, key);
  if (bytes && key !== 'content' && key !== 'headers') return ['bytes', bytes];
  const counter = key.startsWith('counter')
    ? lookup(COUNTERS, key.slice(7))
    : key.endsWith('count')
      ? lookup(COUNTERS, key.slice(0, -5))
      : undefined;
  if (counter) return ['counters', counter];
  const ping = key.startsWith('ping') ? lookup(PING, key.slice(4)) : lookup(PING, key);
  if (ping) return ['ping', ping];
  return undefined;
}

/** `AnyError`, `DNSError`, `errorany`, `ErrorObjectsLoaded` → the flag's name. */
function errorFlag(key: string): string | undefined {
  if (key.startsWith('error')) return lookup(TEMPLATE_ERROR_FLAGS, key.slice(5));
  if (key.endsWith('error')) return lookup(TEMPLATE_ERROR_FLAGS, key.slice(0, -5));
  return undefined;
}

function roleOf(rawKey: string): FieldRole {
  const key = fieldKey(rawKey);
  if (key === 'errorcode') return { kind: 'code' };
  const flag = errorFlag(key);
  if (flag) return { kind: 'flag', flag };
  const target = classify(key);
  return target ? { kind: 'measure', group: target[0], name: target[1] } : NONE;
}

// Every push of a template names the same few fields, and a default JSON push the same others.
const cachedRole = memoized(roleOf, { limit: 2048, maxKeyLength: 64 });

/**
 * The template fields of a flat `Summary`; undefined when it has none (a default JSON push), so that
 * such a push allocates nothing here.
 */
export function readTemplateSummary(summary: JsonObject): TemplateSummary | undefined {
  let out: TemplateSummary | undefined;
  let code: string | undefined;
  const flags: string[] = [];
  let seen = 0;
  for (const rawKey in summary) {
    if (++seen > 200) break;
    const value = summary[rawKey];
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
    const role = cachedRole(rawKey);
    if (role.kind === 'none') continue;
    out ??= { failed: false };
    if (role.kind === 'code') {
      if (isErrorCode(String(value))) code = String(value).trim();
    } else if (role.kind === 'flag') {
      if (isRaised(value)) {
        out.failed = true;
        flags.push(role.flag);
      }
    } else {
      const n = toFiniteNumber(value);
      if (n === undefined) continue;
      const group = out[role.group] ?? new Map<string, number>();
      out[role.group] = group;
      if (!group.has(role.name)) group.set(role.name, n);
    }
  }
  if (out === undefined) return undefined;
  if (code !== undefined) out.failed = true;
  if (out.failed) out.errorName = errorTag(code, flags);
  return out;
}
