// `npm start`: the push path on localhost, through the same handler as the Lambda (see local-bridge.ts).
import { ConfigError } from '../lambda/config.js';
import { startLocalBridge } from './local-bridge.js';
import { NodesFileError } from './nodes-file.js';

// EMF lines are for CloudWatch; locally they would only bury the logs.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

try {
  const bridge = await startLocalBridge(process.env);
  const stop = (): void => {
    bridge.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  if (error instanceof ConfigError || error instanceof NodesFileError) {
    console.error(`cannot start: ${error.message}`);
  } else {
    console.error(error);
  }
  process.exit(1);
}
