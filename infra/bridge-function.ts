// The one way this project defines a Lambda function: pinned runtime, ARM64, an ESM bundle built by the local
// esbuild (AWS SDK included, minified, with source maps), JSON logs into its own log group with a retention,
// and a role of its own whose only built-in right is to write to that log group (infra/function-role.ts).
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, type ServiceName } from '../lambda/shared/observability.js';
import type { SystemLogLevel } from './bridge-context.js';
import { BUNDLE_ALIASES, ESBUILD_TARGET, MAIN_FIELDS } from './bundling.js';
import { FunctionRole } from './function-role.js';

/** Lambda `nodejs20.x` is deprecated; the bundles target the runtime pinned here. */
export const BRIDGE_RUNTIME = lambda.Runtime.NODEJS_24_X;

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where a function in the VPC runs: these subnets, with these security groups. */
export interface FunctionNetwork {
  vpc: ec2.IVpc;
  subnets: ec2.ISubnet[];
  securityGroups: ec2.ISecurityGroup[];
}

export interface BridgeFunctionProps {
  /** Entry module under lambda/ (exports `handler`), e.g. `push.ts`. */
  entry: string;
  /** The Powertools service name; the `service` dimension of refresh's and replay's metrics (push has none). */
  service: ServiceName;
  description: string;
  timeout: Duration;
  memorySize: number;
  logRetention: logs.RetentionDays;
  environment?: Record<string, string>;
  /** Run inside these subnets with these security groups; omit to run outside any VPC. */
  network?: FunctionNetwork;
  /** Concurrency reserved for (and capping) this function; omit to share the account's unreserved pool. */
  reservedConcurrency?: number;
  /** Lambda's own START/REPORT lines are written at INFO: WARN drops them. Default INFO. */
  systemLogLevel?: SystemLogLevel;
  /** Asynchronous invocations (schedules): retries after a function error, and where failed events go. */
  retryAttempts?: number;
  maxEventAge?: Duration;
  deadLetterQueue?: sqs.IQueue;
}

export class BridgeFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly role: FunctionRole;
  readonly service: ServiceName;

  constructor(scope: Construct, id: string, props: BridgeFunctionProps) {
    super(scope, id);
    this.service = props.service;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.role = new FunctionRole(this, 'Role', {
      description: `Runs the Catchpoint bridge ${props.service} function`,
      logGroup: this.logGroup,
      inlinePolicies: props.network ? { VpcNetworkInterfaces: vpcAccessPolicy() } : {},
    });
    if (props.network) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'The network-interface rights Lambda needs to run a function in a VPC (those of ' +
          'AWSLambdaVPCAccessExecutionRole): the interfaces do not exist before Lambda creates them and the ' +
          'ec2:Describe* actions support no resource-level permissions.',
      });
    }

    this.function = new NodejsFunction(this, 'Function', {
      entry: `${PROJECT_ROOT}lambda/${props.entry}`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      description: props.description,
      runtime: BRIDGE_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      reservedConcurrentExecutions: props.reservedConcurrency,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel[props.systemLogLevel ?? 'INFO'],
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.service,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...props.environment,
      },
      ...(props.network
        ? {
            vpc: props.network.vpc,
            vpcSubnets: { subnets: props.network.subnets },
            securityGroups: props.network.securityGroups,
          }
        : {}),
      retryAttempts: props.retryAttempts,
      maxEventAge: props.maxEventAge,
      deadLetterQueue: props.deadLetterQueue,
      bundling: {
        format: OutputFormat.ESM,
        // Prefer the ESM builds of dependencies: without this, CommonJS builds of the AWS SDK end up in the
        // bundle and crash at import with `Dynamic require of "node:https"`; it also halves the bundle.
        mainFields: MAIN_FIELDS,
        target: ESBUILD_TARGET,
        esbuildArgs: Object.fromEntries(
          Object.entries(BUNDLE_ALIASES).map(([from, to]) => [`--alias:${from}`, to]),
        ),
        bundleAwsSDK: true,
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        forceDockerBundling: false,
      },
    });
  }

  /** Grants exactly these DynamoDB actions on the table and tells the function its name. */
  bindTable(table: dynamodb.ITable, environmentVariable: string, actions: string[]): void {
    table.grant(this.function, ...actions.map((a) => (a.startsWith('dynamodb:') ? a : `dynamodb:${a}`)));
    this.function.addEnvironment(environmentVariable, table.tableName);
  }
}

/**
 * What Lambda needs to attach the function to the VPC (the rights of AWSLambdaVPCAccessExecutionRole).
 * Lambda manages the network interfaces; their ids are not known in advance, and the Describe actions
 * have no resource-level permissions, so the resource is `*`.
 */
function vpcAccessPolicy(): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    ],
  });
}
