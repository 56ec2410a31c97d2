import { gunzipSync, gzipSync } from 'node:zlib';
import { type Datapoint, datapoint, datapointSerializer } from '../opentsdb/datapoint.js';
import type { SpoolKey } from './spool-keys.js';

/** Spooled runs are dropped by DynamoDB's TTL this long after they were spooled (or parked). */
export const SPOOL_RETENTION_DAYS = 14;

/** One spool item: the datapoints of one run that OpenTSDB did not take. Its body never changes. */
export interface SpooledRun {
  key: SpoolKey;
  /** test:node:timestamp, as the push path names the run. */
  runKey: string;
  /** When the push spooled it. */
  spooledAtMs: number;
  /** When it entered the drain order (its entry's time; later than spooledAtMs after a `spool retry`). */
  queuedAtMs: number;
  /** The datapoints as one gzipped JSON array, byte for byte as serializeDatapoint writes them. */
  body: Uint8Array;
  pointCount: number;
  /** Epoch seconds after which DynamoDB's TTL may delete it; readers skip it from then on. */
  expiresAt: number;
  /** Replays in which OpenTSDB refused this run on its own. */
  attempts: number;
  lastError?: string;
  /** Set on parked runs only. */
  parkedAtMs?: number;
  reason?: string;
}

/** The stored form of points: gzip of the exact JSON they are sent as. */
export function encodePoints(points: readonly Datapoint[]): Buffer {
  const serialize = datapointSerializer();
  return gzipSync(`[${points.map((point) => serialize(point)).join(',')}]`);
}

export class UnreadableRun extends Error {
  override name = 'UnreadableRun';
}

/** The points of a spooled body and the length of their JSON; UnreadableRun when it is not a point list. */
export function decodePoints(body: Uint8Array): { points: Datapoint[]; jsonBytes: number } {
  let text: string;
  let parsed: unknown;
  try {
    text = gunzipSync(body).toString('utf8');
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UnreadableRun(`unreadable spool body: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every(isDatapoint))
    throw new UnreadableRun('spool body is not a list of datapoints');
  // Rebuilt in their own shape, whatever else an item holds: the writer sends points as JSON.stringify does.
  const points = parsed.map((p) => datapoint(p.metric, p.timestamp, p.value, p.tags));
  return { points, jsonBytes: text.length };
}

function isDatapoint(value: unknown): value is Datapoint {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  return (
    typeof p.metric === 'string' &&
    typeof p.timestamp === 'number' &&
    typeof p.value === 'number' &&
    typeof p.tags === 'object' &&
    p.tags !== null
  );
}

export function expiresAtFor(nowMs: number): number {
  return Math.floor(nowMs / 1000) + SPOOL_RETENTION_DAYS * 86_400;
}
