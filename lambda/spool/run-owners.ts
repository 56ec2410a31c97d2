import { type Datapoint, serializeDatapoint } from '../opentsdb/datapoint.js';

/** Which run a point of a write belongs to: by identity, or else by its serialised form. */
export function ownersOf<R extends { points: readonly Datapoint[] }>(
  runs: readonly R[],
): (point: Datapoint) => R | undefined {
  const byPoint = new Map<Datapoint, R>();
  for (const run of runs) for (const point of run.points) byPoint.set(point, run);
  let byText: Map<string, R> | undefined;
  return (point) => {
    const run = byPoint.get(point);
    if (run !== undefined) return run;
    if (byText === undefined) {
      byText = new Map();
      for (const r of runs) for (const p of r.points) byText.set(serializeDatapoint(p), r);
    }
    return byText.get(serializeDatapoint(point));
  };
}
