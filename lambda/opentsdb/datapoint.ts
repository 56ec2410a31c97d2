/**
 * One OpenTSDB datapoint as `/api/put` takes it. Tags keep insertion order, so serialisation is stable.
 * Built with exactly these four properties in this order (datapoint()), so that JSON.stringify of a point
 * is its serializeDatapoint bytes (request-body.ts sends a whole push so).
 */
export interface Datapoint {
  metric: string;
  /** Epoch seconds. */
  timestamp: number;
  value: number;
  tags: Readonly<Record<string, string>>;
}

/** A point with its properties in the order serializeDatapoint writes them (see Datapoint). */
export function datapoint(
  metric: string,
  timestamp: number,
  value: number,
  tags: Readonly<Record<string, string>>,
): Datapoint {
  return { metric, timestamp, value, tags };
}

/**
 * The exact JSON sent for a point. A given measurement must always serialise to the same bytes: OpenTSDB
 * keeps a rewritten duplicate only when its encoding is identical, so Catchpoint's retries stay harmless.
 */
export function serializeDatapoint(point: Datapoint): string {
  return pointJson(point, JSON.stringify(point.tags));
}

/**
 * serializeDatapoint for many points at once (one request body): a run's detail metrics share one tags
 * object, whose JSON is then made once rather than once per point.
 */
export function datapointSerializer(): (point: Datapoint) => string {
  const tagsJson = new Map<object, string>();
  return (point) => {
    let tags = tagsJson.get(point.tags);
    if (tags === undefined) {
      tags = JSON.stringify(point.tags);
      tagsJson.set(point.tags, tags);
    }
    return pointJson(point, tags);
  };
}

function pointJson(point: Datapoint, tags: string): string {
  return `{"metric":${JSON.stringify(point.metric)},"timestamp":${point.timestamp},"value":${formatValue(point.value)},"tags":${tags}}`;
}

/**
 * JavaScript's shortest round-trip form (`42`, `181.5`), except for whole numbers beyond 2^53: their plain
 * digits (`18446744073709552000`) make OpenTSDB try a 64-bit integer and refuse the point, while the
 * exponent form (`1.8446744073709552e+19`) is read as a floating-point value. Never NaN or Infinity
 * (callers filter those).
 */
export function formatValue(value: number): string {
  if (Object.is(value, -0)) return '0';
  if (Number.isInteger(value) && Math.abs(value) > Number.MAX_SAFE_INTEGER) return value.toExponential();
  return String(value);
}
