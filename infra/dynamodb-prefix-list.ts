// DynamoDB's managed prefix list id differs by region: it is read at deploy time
// (ec2:DescribeManagedPrefixLists, an AwsCustomResource) so that the stack deploys anywhere without a lookup at
// synth time. `-c dynamoDbPrefixListId=pl-…` makes this construct unnecessary.
import { Aws, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { FunctionRole } from './function-role.js';

export interface DynamoDbPrefixListProps {
  logRetention: logs.RetentionDays;
}

export class DynamoDbPrefixList extends Construct {
  /** The region's DynamoDB prefix list (pl-…), known at deploy time. */
  readonly prefixListId: string;

  constructor(scope: Construct, id: string, props: DynamoDbPrefixListProps) {
    super(scope, id);
    const call: cr.AwsSdkCall = {
      service: 'EC2',
      action: 'DescribeManagedPrefixLists',
      parameters: {
        Filters: [{ Name: 'prefix-list-name', Values: [`com.amazonaws.${Aws.REGION}.dynamodb`] }],
      },
      physicalResourceId: cr.PhysicalResourceId.fromResponse('PrefixLists.0.PrefixListId'),
      outputPaths: ['PrefixLists.0.PrefixListId'],
    };
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // A role of its own rather than the default one with AWSLambdaBasicExecutionRole (logs anywhere).
    const role = new FunctionRole(this, 'Role', {
      description: 'Looks up the DynamoDB prefix list for the Catchpoint bridge security group',
      logGroup,
    });
    const lookup = new cr.AwsCustomResource(this, 'Lookup', {
      onCreate: call,
      onUpdate: call,
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
      role,
      logGroup,
      installLatestAwsSdk: false,
    });
    Validations.of(lookup).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ec2:DescribeManagedPrefixLists supports no resource-level permissions; the call is read-only.',
    });
    runOnArm64(lookup);
    this.prefixListId = lookup.getResponseField('PrefixLists.0.PrefixListId');
  }
}

/**
 * Every function of the stack runs on ARM64. AwsCustomResource offers no architecture: its handler (plain
 * JavaScript, no native code) runs in a function it creates once per stack (a SingletonFunction, named by a
 * fixed uuid), so the architecture is set on that function's CloudFormation resource.
 */
function runOnArm64(lookup: cr.AwsCustomResource): void {
  const provider = lookup.node.findChild('Provider') as lambda.SingletonFunction;
  const fn = Stack.of(lookup).node.findChild(provider.constructName) as lambda.Function;
  (fn.node.defaultChild as lambda.CfnFunction).architectures = [lambda.Architecture.ARM_64.name];
}
