// CDK app: `npx cdk synth` / `npx cdk deploy`. Configuration comes from CDK context (cdk.json or -c key=value);
// see infra/bridge-context.ts for every key. cdk-nag's AwsSolutions checks run on every synth.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BridgeContextError, readBridgeContext } from './bridge-context.js';
import { BridgeStack } from './bridge-stack.js';

const STACK_NAME = 'CatchpointBridge';

const app = new App();
try {
  new BridgeStack(app, STACK_NAME, {
    context: readBridgeContext(app),
    description: 'Catchpoint Test Data Webhook → OpenTSDB bridge',
  });
} catch (error) {
  if (!(error instanceof BridgeContextError)) throw error;
  console.error(error.message);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
