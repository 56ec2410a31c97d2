import { FIXTURE_NODES_FILE } from '../../dev/fixtures.js';
import { type LocalBridge, startLocalBridge } from '../../dev/local-bridge.js';
import { type OpenTsdbStandIn, startOpenTsdbStandIn } from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import { resetBreaker } from './breaker.js';
import { CapturingLogger } from './capturing-logger.js';

export interface BridgeWithStandIn {
  tsdb: OpenTsdbStandIn;
  bridge: LocalBridge;
  logger: CapturingLogger;
  close(): Promise<void>;
}

/**
 * What `npm start` runs, writing into a strict OpenTSDB stand-in, with the fixture node list (nodes 77, 79
 * and 81 known; 78 and 80 not) and a push token. `env` adds to or overrides that environment. The
 * OpenTSDB timeout is generous: on a loaded machine a slow answer must not open the circuit breaker of a
 * test that expects OpenTSDB healthy (tests of a hanging OpenTSDB set a shorter one).
 */
export async function startBridgeWithStandIn(
  token: string,
  env: Record<string, string | undefined> = {},
): Promise<BridgeWithStandIn> {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const logger = new CapturingLogger({ serviceName: 'push' });
  const tsdb = await startOpenTsdbStandIn();
  // The breaker is the process's, by URL: a port used again starts with a closed one.
  resetBreaker(tsdb.url);
  const bridge = await startLocalBridge(
    {
      PORT: '0',
      OPENTSDB_URL: tsdb.url,
      NODES_FILE: FIXTURE_NODES_FILE,
      PUSH_TOKEN: token,
      WRITE_BUDGET_MS: '8000',
      OPENTSDB_TIMEOUT_MS: '5000',
      ...env,
    },
    // Each push's one line joins the logger's, so tests read what CloudWatch would hold.
    { logger, emitPushRecord: (line) => logger.lines.push(line) },
  );
  return {
    tsdb,
    bridge,
    logger,
    close: async () => {
      await bridge.close();
      await tsdb.close();
    },
  };
}
