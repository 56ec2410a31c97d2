// `npm start`: the push path on localhost, through the same handler as the Lambda (see local-bridge.ts).
import { ConfigError } from '../lambda/config.js';
import { localDynamoFile } from './embedded-dynamo.js';
import { startLocalBridge } from './local-bridge.js';
import { NodesFileError } from './nodes-file.js';

// Replay's EMF lines are for CloudWatch; locally they would only bury the logs (a push's own line stays).
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
// The AWS SDK warns on Node 20, in nine lines, that it will soon want 22; the Lambdas run 24. It reads this
// when a client is made (in startLocalBridge), so setting it after the imports is early enough.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

try {
  // `npm run spool -- --local` finds the embedded DynamoDB through this file.
  const bridge = await startLocalBridge(process.env, { dynamoFile: localDynamoFile(process.env) });
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
