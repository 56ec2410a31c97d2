import { gzipSync } from 'node:zlib';
import { type Datapoint, datapointSerializer } from './datapoint.js';

/**
 * OpenTSDB treats any body over 8192 bytes as "chunked" and refuses it with an HTML 400, gzip or not; the
 * limit applies to the bytes on the wire, i.e. after compression.
 */
export const MAX_BODY_BYTES = 8192;

/** Raw JSON gathered before a compression attempt; datapoints compress about tenfold. */
const RAW_TARGET_BYTES = 40_000;

export interface RequestBody {
  points: readonly Datapoint[];
  /**
   * The body as sent, at most MAX_BODY_BYTES long: the JSON array itself (a string: http writes it with its
   * headers in one go) or its gzip.
   */
  bytes: string | Buffer;
  /**
   * `gzip` when the JSON is larger than the limit; a body that fits as it is goes uncompressed, since
   * compressing it would cost more CPU than the whole rest of a push and gain nothing on the limit.
   */
  encoding: 'gzip' | 'identity';
}

export interface PackedBodies {
  bodies: RequestBody[];
  /** Points that do not fit in a request even alone. */
  oversized: Datapoint[];
}

/** Splits points into request bodies that each respect OpenTSDB's size limit. */
export function packRequestBodies(points: readonly Datapoint[]): PackedBodies {
  const whole = wholeBody(points);
  if (whole !== undefined) return { bodies: [whole], oversized: [] };
  const packed: PackedBodies = { bodies: [], oversized: [] };
  let group: Datapoint[] = [];
  let json: string[] = [];
  let size = 2;
  const serialize = datapointSerializer();
  const flush = (): void => {
    if (group.length > 0) encodeOrSplit(group, json, packed);
    group = [];
    json = [];
    size = 2;
  };
  for (const point of points) {
    const text = serialize(point);
    if (group.length > 0 && size + text.length + 1 > RAW_TARGET_BYTES) flush();
    group.push(point);
    json.push(text);
    size += text.length + 1;
  }
  flush();
  return packed;
}

/**
 * A push's points nearly always fit one plain request: then the body is one JSON.stringify of them, which
 * writes the bytes serializeDatapoint would (a point has exactly its four properties, in their order) at a
 * fraction of the CPU. Undefined when it does not fit, or when a value needs formatValue's exponent form
 * (every double beyond 2^53 is a whole number).
 */
function wholeBody(points: readonly Datapoint[]): RequestBody | undefined {
  if (points.length === 0) return undefined;
  for (const { timestamp, value } of points) {
    if (!Number.isFinite(timestamp) || !Number.isFinite(value)) return undefined;
    if (Math.abs(value) > Number.MAX_SAFE_INTEGER) return undefined;
  }
  const json = JSON.stringify(points);
  // A string never has more UTF-16 units than UTF-8 bytes: the length alone rules most big bodies out.
  if (json.length > MAX_BODY_BYTES || Buffer.byteLength(json, 'utf8') > MAX_BODY_BYTES) return undefined;
  return { points, bytes: json, encoding: 'identity' };
}

function encodeOrSplit(points: Datapoint[], json: string[], packed: PackedBodies): void {
  const raw = `[${json.join(',')}]`;
  if (Buffer.byteLength(raw, 'utf8') <= MAX_BODY_BYTES) {
    packed.bodies.push({ points, bytes: raw, encoding: 'identity' });
    return;
  }
  const gzipped = gzipSync(raw, { level: 6 });
  if (gzipped.length <= MAX_BODY_BYTES) {
    packed.bodies.push({ points, bytes: gzipped, encoding: 'gzip' });
  } else if (points.length === 1) {
    packed.oversized.push(points[0]!);
  } else {
    const half = Math.ceil(points.length / 2);
    encodeOrSplit(points.slice(0, half), json.slice(0, half), packed);
    encodeOrSplit(points.slice(half), json.slice(half), packed);
  }
}
