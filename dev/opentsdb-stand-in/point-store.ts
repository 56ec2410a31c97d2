// What the TSD stored: points by series and timestamp, with the rules a re-write of a stored point meets.
import { seriesKey } from '../series-key.js';
import { OPENTSDB_MAX_SECONDS } from './limits.js';
import type { StoredPoint } from './stand-in-types.js';

const MAX_SECONDS = BigInt(OPENTSDB_MAX_SECONDS);

interface SeriesState {
  unit: 's' | 'ms';
  mixedReported: boolean;
  /** timestamp in ms → value text */
  values: Map<bigint, string>;
}

export class PointStore {
  /** Every accepted point, in arrival order (an identical re-write is stored once). */
  readonly points: StoredPoint[] = [];
  private readonly seriesState = new Map<string, SeriesState>();
  private duplicateCount = 0;

  /** Identical re-writes of an already stored point (same series, timestamp and value text). */
  get duplicates(): number {
    return this.duplicateCount;
  }

  /**
   * Stores one valid point of request `request`. A series that mixes seconds and milliseconds, and a point
   * re-written with another value text, are reported through `violation` (the first stored value stays).
   */
  store(
    request: number,
    metric: string,
    tags: Record<string, string>,
    timestamp: bigint,
    valueText: string,
    value: number,
    violation: (message: string) => void,
  ): void {
    const key = seriesKey(metric, tags);
    const unit = timestamp > MAX_SECONDS ? 'ms' : 's';
    const timestampMs = unit === 'ms' ? timestamp : timestamp * 1000n;
    let state = this.seriesState.get(key);
    if (!state) {
      state = { unit, mixedReported: false, values: new Map() };
      this.seriesState.set(key, state);
    } else if (state.unit !== unit && !state.mixedReported) {
      state.mixedReported = true;
      violation(`series ${key} mixes second and millisecond timestamps`);
    }
    const previous = state.values.get(timestampMs);
    if (previous !== undefined) {
      if (previous === valueText) {
        this.duplicateCount += 1;
      } else {
        violation(
          `same series+timestamp written with different value ${previous} vs ${valueText} (${key} at ${timestamp})`,
        );
      }
      return;
    }
    state.values.set(timestampMs, valueText);
    this.points.push({
      metric,
      timestamp: Number(timestamp),
      timestampMs: Number(timestampMs),
      value,
      valueText,
      tags,
      request,
    });
  }

  /** Stored points grouped by series key (`seriesKey(metric, tags)`), in arrival order. */
  series(): Map<string, StoredPoint[]> {
    const grouped = new Map<string, StoredPoint[]>();
    for (const point of this.points) {
      const key = seriesKey(point.metric, point.tags);
      const list = grouped.get(key);
      if (list) list.push(point);
      else grouped.set(key, [point]);
    }
    return grouped;
  }

  /** Stored points of one metric, optionally only those whose tags include `tags`. */
  pointsOf(metric: string, tags: Record<string, string> = {}): StoredPoint[] {
    return this.points.filter(
      (p) => p.metric === metric && Object.entries(tags).every(([k, v]) => p.tags[k] === v),
    );
  }

  /** Forgets every point and duplicate. */
  reset(): void {
    this.points.length = 0;
    this.seriesState.clear();
    this.duplicateCount = 0;
  }
}
