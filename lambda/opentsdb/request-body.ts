import { gzipSync } from 'node:zlib';
import { type Datapoint, serializeDatapoint } from './datapoint.js';

/**
 * OpenTSDB treats any body over 8192 bytes as "chunked" and refuses it with an HTML 400, gzip or not; the
 * limit applies to the bytes on the wire, i.e. after compression.
 */
export const MAX_BODY_BYTES = 8192;

/** Raw JSON gathered before a compression attempt; datapoints compress about tenfold. */
const RAW_TARGET_BYTES = 40_000;

export interface RequestBody {
  points: Datapoint[];
  /** Gzip-compressed JSON array, at most MAX_BODY_BYTES long. */
  gzipped: Buffer;
}

export interface PackedBodies {
  bodies: RequestBody[];
  /** Points that do not fit in a request even alone. */
  oversized: Datapoint[];
}

/** Splits points into gzip request bodies that each respect OpenTSDB's size limit. */
export function packRequestBodies(points: readonly Datapoint[]): PackedBodies {
  const packed: PackedBodies = { bodies: [], oversized: [] };
  let group: Datapoint[] = [];
  let json: string[] = [];
  let size = 2;
  const flush = (): void => {
    if (group.length > 0) compressOrSplit(group, json, packed);
    group = [];
    json = [];
    size = 2;
  };
  for (const point of points) {
    const text = serializeDatapoint(point);
    if (group.length > 0 && size + text.length + 1 > RAW_TARGET_BYTES) flush();
    group.push(point);
    json.push(text);
    size += text.length + 1;
  }
  flush();
  return packed;
}

function compressOrSplit(points: Datapoint[], json: string[], packed: PackedBodies): void {
  const gzipped = gzipSync(`[${json.join(',')}]`, { level: 6 });
  if (gzipped.length <= MAX_BODY_BYTES) {
    packed.bodies.push({ points, gzipped });
  } else if (points.length === 1) {
    packed.oversized.push(points[0]!);
  } else {
    const half = Math.ceil(points.length / 2);
    compressOrSplit(points.slice(0, half), json.slice(0, half), packed);
    compressOrSplit(points.slice(half), json.slice(half), packed);
  }
}
