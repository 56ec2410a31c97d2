// The role of every Lambda function in this stack, the bridge functions' and the prefix-list lookup's alike:
// its only built-in right is to write to the function's own log group. Not AWSLambdaBasicExecutionRole,
// which lets a function create log groups and write to any of them.
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export interface FunctionRoleProps {
  description: string;
  /** The function's own log group, the only one it may write to. */
  logGroup: logs.ILogGroup;
  /** Further rights the function needs before it starts (e.g. the VPC network interfaces). */
  inlinePolicies?: Record<string, iam.PolicyDocument>;
}

export class FunctionRole extends iam.Role {
  constructor(scope: Construct, id: string, props: FunctionRoleProps) {
    super(scope, id, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
      inlinePolicies: {
        // Inline in the role itself, so the rights exist before the function is created.
        Logs: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [props.logGroup.logGroupArn],
            }),
          ],
        }),
        ...props.inlinePolicies,
      },
    });
  }
}
