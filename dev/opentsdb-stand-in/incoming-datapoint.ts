// A put's body mapped onto OpenTSDB's IncomingDataPoint, field by field as Jackson maps it.

import {
  asText,
  describeValue,
  JsonNumber,
  JsonObject,
  type JsonValue,
  MappingError,
} from './json-reader.js';
import type { EchoedDatapoint } from './stand-in-types.js';

/** A datapoint as the put handler receives it, before any write rule is checked. */
export interface IncomingPoint {
  metric: string | null;
  /** null: missing, null, or not an integer (a decimal). */
  timestamp: bigint | null;
  value: string | null;
  tags: Array<[string, string | null]> | null;
  echo: EchoedDatapoint;
}

/** One element of a put's body; a MappingError fails the whole request, as in the TSD. */
export function decodePoint(value: JsonValue, index: number): IncomingPoint {
  if (!(value instanceof JsonObject)) {
    throw new MappingError(`datapoint ${index} is ${describeValue(value)}, not an object`);
  }
  const metric = asText(value.fields.get('metric'), 'metric');
  const rawValue = asText(value.fields.get('value'), 'value');

  let timestamp: bigint | null = null;
  let timestampEcho = 0;
  const rawTimestamp = value.fields.get('timestamp');
  if (rawTimestamp instanceof JsonNumber) {
    timestampEcho = Number(rawTimestamp.raw);
    if (/^-?\d+$/.test(rawTimestamp.raw)) timestamp = BigInt(rawTimestamp.raw);
  } else if (typeof rawTimestamp === 'string') {
    if (!/^-?\d+$/.test(rawTimestamp)) {
      throw new MappingError(`Cannot deserialize 'timestamp' (a long) from String "${rawTimestamp}"`);
    }
    timestamp = BigInt(rawTimestamp);
    timestampEcho = Number(rawTimestamp);
  } else if (rawTimestamp !== undefined && rawTimestamp !== null) {
    throw new MappingError(`Cannot deserialize 'timestamp' (a long) from ${describeValue(rawTimestamp)}`);
  }

  let tags: Array<[string, string | null]> | null = null;
  const rawTags = value.fields.get('tags');
  if (rawTags instanceof JsonObject) {
    tags = [...rawTags.fields].map(([k, v]): [string, string | null] => [k, asText(v, `tags.${k}`)]);
  } else if (rawTags !== undefined && rawTags !== null) {
    throw new MappingError(`Cannot deserialize 'tags' (a Map) from ${describeValue(rawTags)}`);
  }

  return {
    metric,
    timestamp,
    value: rawValue,
    tags,
    echo: {
      metric,
      timestamp: timestampEcho,
      value: rawValue,
      tags: tags === null ? null : Object.fromEntries(tags),
    },
  };
}
