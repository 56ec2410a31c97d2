import { parseAsn } from '../shared/asn.js';
import {
  field,
  isErrorCode,
  isObject,
  isRaised,
  type JsonObject,
  objectField,
  toFiniteNumber,
} from '../shared/json-fields.js';
import { errorTag } from './error-tag.js';
import {
  BYTE_FIELDS,
  CONTENT_TYPE_KINDS,
  COUNTER_FIELDS,
  type FieldNames,
  fieldNames,
  PING_FIELDS,
  TIMING_FIELDS,
} from './measurement-names.js';
import { PushRejected } from './push-rejected.js';
import { readTemplateSummary } from './template-fields.js';
import type { Measurements, TestResult, TracerouteSummary } from './test-result.js';
import { parseCatchpointTimestamp } from './timestamp.js';

/** Catchpoint measures in a handful of fields; a map this big is hostile input, not a test run. */
const MAX_FIELDS_PER_GROUP = 100;

/**
 * Reads one pushed test run: Catchpoint's default JSON (version 3 or 4) or a JSON template (string values,
 * any case, flat `Summary`). Throws PushRejected ('unsupported-format' for XML, 'invalid' otherwise) with a one-line reason.
 */
export function parsePush(body: string, receivedAtMs: number): TestResult {
  const text = body.trim();
  if (text.length === 0)
    throw new PushRejected('invalid', 'empty body: expected a Catchpoint test run as JSON');
  if (text.startsWith('<')) {
    throw new PushRejected(
      'unsupported-format',
      'XML bodies are not supported: set the Catchpoint webhook format to JSON (the default) or a JSON template',
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    // V8's message quotes part of the body; keep only where it broke.
    const at = /position (\d+)/.exec(String(error))?.[1];
    throw new PushRejected(
      'invalid',
      `body is not valid JSON${at === undefined ? '' : ` (error at position ${at})`}`,
    );
  }
  if (!isObject(doc))
    throw new PushRejected('invalid', 'body is not a JSON object: expected a Catchpoint test run');
  return readTestRun(doc, receivedAtMs);
}

function readTestRun(doc: JsonObject, receivedAtMs: number): TestResult {
  // Default JSON keeps test details in `TestDetail`; the common template puts identity in `TestDetails`.
  const details = objectField(doc, 'TestDetails') ?? objectField(doc, 'TestDetail');
  const identity = (name: string): unknown => {
    const top = field(doc, name);
    return top !== undefined || details === undefined ? top : field(details, name);
  };
  const summary = objectField(doc, 'Summary') ?? {};

  const testId = readId(identity('TestId'), 'TestId');
  const nodeId = readId(identity('NodeId'), 'NodeId');
  const nodeNameRaw = identity('NodeName');
  const asn = parseAsn(identity('Asn'));
  const typeId = toFiniteNumber(identity('TypeId'));

  const timestamp =
    parseCatchpointTimestamp(field(summary, 'Timestamp'), receivedAtMs) ??
    parseCatchpointTimestamp(identity('TestRuntime'), receivedAtMs) ??
    parseCatchpointTimestamp(identity('Timestamp'), receivedAtMs);

  const ignored = new IgnoredFields();
  const timing = numericFields('Timing', objectField(summary, 'Timing'), TIMING_NAMES, ignored);
  const ping = numericFields('Ping', objectField(summary, 'Ping'), PING_NAMES, ignored);
  const response = objectField(objectField(summary, 'Byte') ?? {}, 'Response');
  const bytes = numericFields('Byte.Response', response, BYTE_NAMES, ignored);
  const counters = numericFields('Counter', objectField(summary, 'Counter'), COUNTER_NAMES, ignored);
  const error = readErrorObject(field(summary, 'Error'));

  // Template payloads carry the same measurements as flat string fields; default JSON has none of these names.
  const flat = readTemplateSummary(summary);
  const failed = error.failed || flat?.failed === true;

  const result: TestResult = {
    testId,
    nodeId,
    failed,
    timing: mergeAbsent(timing, flat?.timing),
    ping: mergeAbsent(ping, flat?.ping),
    bytes: mergeAbsent(bytes, flat?.bytes),
    counters: mergeAbsent(counters, flat?.counters),
  };
  if (typeof nodeNameRaw === 'string' && nodeNameRaw.trim() !== '') result.nodeName = nodeNameRaw;
  if (asn !== undefined) result.asn = asn;
  if (typeId !== undefined) result.typeId = typeId;
  if (timestamp !== undefined) result.timestamp = timestamp;
  if (failed) result.errorName = error.tag ?? flat?.errorName ?? 'any';
  const traceroute = readTraceroute(doc);
  if (traceroute) result.traceroute = traceroute;
  if (ignored.names !== undefined && ignored.names.length > 0) result.ignoredFields = ignored.names;
  return result;
}

function readId(value: unknown, name: string): number {
  if (value === undefined || value === null || value === '') {
    throw new PushRejected('invalid', `${name} is missing: not a Catchpoint test run`);
  }
  const n = typeof value === 'string' && /^\s*\d{1,15}\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n))
    throw new PushRejected('invalid', `${name} is not a number`);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new PushRejected('invalid', `${name} must be a positive whole number`);
  return n;
}

/**
 * The known numeric fields of a measurement group (see measurement-names.ts); a nested `ContentType` object
 * becomes `content_type.<kind>`, one level only. Numeric fields not on the list are named in `ignored`, so
 * that an operator can see what a new Catchpoint field would add.
 */
function numericFields(
  label: string,
  group: JsonObject | undefined,
  names: FieldNames,
  ignored: IgnoredFields,
): Measurements {
  const out: Measurements = new Map();
  if (group) readNumbers(out, label, group, names, ignored, false);
  return out;
}

function readNumbers(
  out: Measurements,
  label: string,
  group: JsonObject,
  names: FieldNames,
  ignored: IgnoredFields,
  inContentType: boolean,
): void {
  let seen = 0;
  for (const key in group) {
    if (++seen > MAX_FIELDS_PER_GROUP) break;
    const value = group[key];
    if (isObject(value)) {
      if (!inContentType && key.length === 11 && key.toLowerCase() === 'contenttype')
        readNumbers(out, label, value, CONTENT_TYPE_NAMES, ignored, true);
      continue;
    }
    const n = toFiniteNumber(value);
    if (n === undefined) continue;
    const name = names(key);
    if (name !== undefined) out.set(name, n);
    else ignored.note(inContentType ? `${label}.ContentType` : label, key);
  }
}

const TIMING_NAMES = fieldNames(TIMING_FIELDS);
const PING_NAMES = fieldNames(PING_FIELDS);
const BYTE_NAMES = fieldNames(BYTE_FIELDS);
const COUNTER_NAMES = fieldNames(COUNTER_FIELDS);
/** `ContentType` kinds as measurement names: `content_type.<kind>`. */
const CONTENT_TYPE_NAMES = fieldNames(
  Object.fromEntries(Object.entries(CONTENT_TYPE_KINDS).map(([key, kind]) => [key, `content_type.${kind}`])),
);

/** Names of numeric fields left out, at most a few per run (hostile input may have thousands). */
class IgnoredFields {
  names: string[] | undefined;
  note(label: string, key: string): void {
    this.names ??= [];
    if (this.names.length < 5 && /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(key)) this.names.push(`${label}.${key}`);
  }
}

/** `into` with what only `from` has (a template push has nothing in `into`: then `from` as it is). */
function mergeAbsent(into: Measurements, from: Measurements | undefined): Measurements {
  if (from === undefined) return into;
  if (into.size === 0) return from;
  for (const [name, value] of from) if (!into.has(name)) into.set(name, value);
  return into;
}

interface ErrorState {
  failed: boolean;
  /** The error tag (error-tag.ts), for failed runs. */
  tag?: string;
}

/** Version 4 sends flags without a code (`{"Any":1,"LoadObjects":1}`); version 3 sends `{"Code":"…"}`. */
function readErrorObject(value: unknown): ErrorState {
  if (value === undefined || value === null) return { failed: false };
  if (typeof value === 'string')
    return isErrorCode(value) ? { failed: true, tag: errorTag(value, []) } : { failed: false };
  if (typeof value === 'number' || typeof value === 'boolean') {
    return isRaised(value) ? { failed: true, tag: errorTag(value, []) } : { failed: false };
  }
  if (!isObject(value)) return { failed: false };
  let code: unknown;
  const flags: string[] = [];
  let seen = 0;
  for (const key of Object.keys(value)) {
    if (++seen > MAX_FIELDS_PER_GROUP) break;
    const flag = value[key];
    if (key.length === 4 && key.toLowerCase() === 'code') {
      if ((typeof flag === 'string' || typeof flag === 'number') && isErrorCode(String(flag))) code = flag;
      continue;
    }
    // Only a raised flag's name is needed: a run that did not fail lower-cases nothing.
    if (isRaised(flag)) flags.push(key.toLowerCase());
  }
  if (code === undefined && flags.length === 0) return { failed: false };
  return { failed: true, tag: errorTag(code, flags) };
}

/** Traceroute tests put their hops under `Diagnostic.TraceRoute.Hops`. */
function readTraceroute(doc: JsonObject): TracerouteSummary | undefined {
  const trace = objectField(objectField(doc, 'Diagnostic') ?? {}, 'TraceRoute');
  const hops = trace ? field(trace, 'Hops') : undefined;
  if (!Array.isArray(hops)) return undefined;
  const last: unknown = hops.at(-1);
  const times = isObject(last) ? field(last, 'RoundTripTimes') : undefined;
  const lastHopRoundTrips = Array.isArray(times)
    ? times.slice(0, MAX_FIELDS_PER_GROUP).map((t) => (t === null ? null : (toFiniteNumber(t) ?? null)))
    : [];
  return { hops: hops.length, lastHopRoundTrips };
}
