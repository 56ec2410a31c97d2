import { type Datapoint, formatValue } from '../lambda/opentsdb/datapoint.js';
import type { DatapointSink, WriteOutcome } from '../lambda/opentsdb/writer.js';

/** Without OPENTSDB_URL the local server prints each datapoint as an OpenTSDB `put` line. */
export class PrintingSink implements DatapointSink {
  constructor(private readonly print: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {}

  async write(points: readonly Datapoint[]): Promise<WriteOutcome> {
    for (const point of points) this.print(toPutLine(point));
    return { written: points.length, rejected: [], pending: [], unavailable: false };
  }
}

/** OpenTSDB's telnet-style line for a datapoint: what the local server prints when it has no OpenTSDB. */
export function toPutLine(point: Datapoint): string {
  const tags = Object.entries(point.tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `put ${point.metric} ${point.timestamp} ${formatValue(point.value)} ${tags}`;
}
