import { type Datapoint, toPutLine } from '../lambda/opentsdb/datapoint.js';
import type { DatapointSink, WriteOutcome } from '../lambda/opentsdb/writer.js';

/** Without OPENTSDB_URL the local server prints each datapoint as an OpenTSDB `put` line. */
export class PrintingSink implements DatapointSink {
  constructor(private readonly print: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {}

  async write(points: readonly Datapoint[]): Promise<WriteOutcome> {
    for (const point of points) this.print(toPutLine(point));
    return { written: points.length, rejected: [], pending: [], unavailable: false };
  }
}
