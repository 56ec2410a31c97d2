// What the node refresh and the scheduled gap repair share: a function outside the VPC (Catchpoint's REST
// API is on the internet) on an EventBridge schedule, that reads the Catchpoint credentials from one SSM
// SecureString, and whose runs that still fail after their retries land in a dead-letter queue. The
// constructs are made directly under `scope` with fixed ids, so the synthesized logical ids stay those the
// refresh had before this piece was shared (a changed id would replace the deployed resources).
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { BridgeFunction, type BridgeFunctionProps } from './bridge-function.js';

export interface ScheduledCatchpointFunctionProps
  extends Omit<BridgeFunctionProps, 'network' | 'retryAttempts' | 'maxEventAge' | 'deadLetterQueue'> {
  /** Name of the SSM SecureString parameter with the Catchpoint API credentials. */
  credentialsParameter: string;
  /** Customer managed KMS key of that parameter; undefined for the default aws/ssm key. */
  credentialsKmsKeyArn: string | undefined;
  /** An EventBridge schedule expression. */
  schedule: string;
  /** The schedule rule's description. */
  scheduleDescription: string;
  /** The function's own rights (its tables), granted before the credentials' (the role policy's order). */
  grant(fn: BridgeFunction): void;
}

export interface ScheduledCatchpointFunction {
  fn: BridgeFunction;
  deadLetterQueue: sqs.Queue;
  rule: events.Rule;
}

/** Both the function's asynchronous invocations and the rule's delivery retry twice within an hour. */
const RETRY_ATTEMPTS = 2;
const MAX_EVENT_AGE = Duration.hours(1);

export function addScheduledCatchpointFunction(
  scope: Construct,
  props: ScheduledCatchpointFunctionProps,
): ScheduledCatchpointFunction {
  const {
    credentialsParameter,
    credentialsKmsKeyArn,
    schedule,
    scheduleDescription,
    grant,
    ...functionProps
  } = props;
  const deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const credentials = ssm.StringParameter.fromSecureStringParameterAttributes(scope, 'Credentials', {
    parameterName: credentialsParameter,
  });
  const fn = new BridgeFunction(scope, 'Function', {
    ...functionProps,
    environment: { CATCHPOINT_CREDENTIALS_PARAMETER: credentialsParameter, ...functionProps.environment },
    retryAttempts: RETRY_ATTEMPTS,
    maxEventAge: MAX_EVENT_AGE,
    deadLetterQueue,
  });
  grant(fn);
  // Exactly the call lambda/aws/ssm-credentials.ts makes (GetParameter, decrypted) on that one parameter; not
  // grantRead, which adds GetParameterHistory (every earlier value of the secret), GetParameters and
  // DescribeParameters.
  fn.function.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [credentials.parameterArn] }),
  );
  if (credentialsKmsKeyArn) {
    // With the default aws/ssm key, its key policy already lets the account's principals decrypt via SSM.
    kms.Key.fromKeyArn(scope, 'CredentialsKey', credentialsKmsKeyArn).grantDecrypt(fn.function);
  }
  const rule = new events.Rule(scope, 'Schedule', {
    description: scheduleDescription,
    schedule: events.Schedule.expression(schedule),
    targets: [
      new targets.LambdaFunction(fn.function, {
        retryAttempts: RETRY_ATTEMPTS,
        maxEventAge: MAX_EVENT_AGE,
        deadLetterQueue,
      }),
    ],
  });
  return { fn, deadLetterQueue, rule };
}
