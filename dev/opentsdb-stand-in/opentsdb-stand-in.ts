/**
 * A strict OpenTSDB 2.4 stand-in for tests: a real HTTP server on 127.0.0.1 that answers `POST /api/put`
 * and `/api/uid/assign` the way a TSD does (and `GET /api/query`, for what the backfill asks: query-rpc.ts) (see /work/shared/spec/opentsdb.md) and records every rule a
 * client breaks, including the ones VictoriaMetrics silently forgives (8192-byte bodies, `Expect`,
 * chunked uploads, illegal characters, more than 8 tags, unknown metrics, re-written points whose value
 * text differs).
 *
 * Points are validated in OpenTSDB's order, and rejected ones are reported with OpenTSDB's texts (see
 * `OpenTsdbMessages`). One documented deviation: an unknown metric is reported as
 * `Unknown metric: No such name for 'metrics': '<name>'`, which carries both the text of OpenTSDB's put
 * details ("Unknown metric") and that of its NoSuchUniqueName exception.
 *
 * `violations` collects everything a well-behaved writer never does; tests assert it stays empty.
 * Per-point validation failures count as violations (a writer should sanitise before sending), except
 * "Unknown metric" (the server's state, fixed with /api/uid/assign) and injected faults.
 *
 * This entry is the stand-in's whole surface. Behind it: limits.ts and messages.ts (OpenTSDB's numbers and
 * texts), json-reader.ts and incoming-datapoint.ts (a body as Jackson maps it), name-rules.ts and
 * put-rules.ts (the write rules), uid-registry.ts, point-store.ts and uid-assign.ts (UIDs and what was
 * stored), rpc.ts (what an RPC is given and answers), server.ts (HTTP, faults, request records) and
 * stand-in-types.ts (the types they share, importing nothing).
 */

import { OpenTsdbServer } from './server.js';
import type { OpenTsdbStandIn, OpenTsdbStandInOptions } from './stand-in-types.js';

export { seriesKey } from '../series-key.js';
export {
  OPENTSDB_MAX_BODY_BYTES,
  OPENTSDB_MAX_MILLIS,
  OPENTSDB_MAX_SECONDS,
  OPENTSDB_MAX_TAGS,
} from './limits.js';
export { OpenTsdbMessages } from './messages.js';

export type {
  EchoedDatapoint,
  OpenTsdbFault,
  OpenTsdbStandIn,
  OpenTsdbStandInOptions,
  PoisonCandidate,
  PoisonKind,
  RecordedHeaders,
  RejectedPoint,
  RequestRecord,
  StoredPoint,
} from './stand-in-types.js';

export async function startOpenTsdbStandIn(options: OpenTsdbStandInOptions = {}): Promise<OpenTsdbStandIn> {
  const standIn = new OpenTsdbServer(options);
  await standIn.listen();
  return standIn;
}
