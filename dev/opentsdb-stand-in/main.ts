// The strict OpenTSDB stand-in as a process of its own (`node --import tsx dev/opentsdb-stand-in/main.ts`):
// for measurements, where its work must not count against the client's CPU or share its event loop. It
// prints its URL on the first line of stdout and serves until it is killed. It keeps no points (a
// measurement sends hundreds of thousands): every few seconds its store is emptied.
import { startOpenTsdbStandIn } from './opentsdb-stand-in.js';

const tsdb = await startOpenTsdbStandIn({ autoCreateMetrics: process.env.AUTO_CREATE_METRICS === 'true' });
process.stdout.write(`${tsdb.url}\n`);
setInterval(() => tsdb.reset(), 5000).unref();
const stop = (): void => {
  void tsdb.close().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
// Keeps the process alive (the stand-in's server already does; this says so).
setInterval(() => {}, 1 << 30);
