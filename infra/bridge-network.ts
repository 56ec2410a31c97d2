// Where the push and replay functions run: the existing VPC and subnets (by id), a security group that only
// reaches OpenTSDB and DynamoDB, and the DynamoDB gateway endpoint that lets them reach DynamoDB without a NAT.
import { Aws, Fn, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { FunctionNetwork } from './bridge-function.js';
import { DynamoDbPrefixList } from './dynamodb-prefix-list.js';

export interface BridgeNetworkProps {
  vpcId: string;
  subnetIds: string[];
  /** Create a DynamoDB gateway endpoint on these route tables (those of the subnets). */
  createDynamoDbEndpoint: boolean;
  routeTableIds: string[];
  /** The region's DynamoDB prefix list; undefined looks it up at deploy time. */
  dynamoDbPrefixListId: string | undefined;
  openTsdbUrl: string;
  openTsdbPort: number;
  /** When set, the security group is allowed into this one (and only this one) on OpenTSDB's port. */
  openTsdbSecurityGroupId: string | undefined;
  logRetention: logs.RetentionDays;
}

export class BridgeNetwork extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  /** What a function in the VPC is given: the subnets and the security group. */
  readonly functionNetwork: FunctionNetwork;

  constructor(scope: Construct, id: string, props: BridgeNetworkProps) {
    super(scope, id);

    // Only the VPC id is used: the subnets are named explicitly, so no lookup (and no AWS call) at synth time.
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: props.vpcId,
      availabilityZones: Fn.getAzs(),
    });
    Validations.of(vpc).acknowledge({
      id: 'Annotation::@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
      reason: 'Nothing selects subnets of this VPC by availability zone: the subnets are given by id.',
    });
    const subnets = props.subnetIds.map((subnetId) => {
      const subnet = ec2.Subnet.fromSubnetId(this, `Subnet-${subnetId}`, subnetId);
      Validations.of(subnet).acknowledge({
        id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
        reason: "The stack never reads a subnet's route table: the DynamoDB endpoint takes routeTableIds.",
      });
      return subnet;
    });

    if (props.createDynamoDbEndpoint) {
      // A gateway endpoint: DynamoDB from the private subnets without a NAT gateway, at no charge.
      const endpoint = new ec2.CfnVPCEndpoint(this, 'DynamoDbEndpoint', {
        vpcId: props.vpcId,
        serviceName: `com.amazonaws.${Aws.REGION}.dynamodb`,
        vpcEndpointType: 'Gateway',
        routeTableIds: props.routeTableIds,
      });
      // The logical id it had as a child of the stack. A new id would make CloudFormation create a second
      // DynamoDB endpoint on the same route tables before deleting the first, which AWS refuses: the update fails.
      endpoint.overrideLogicalId('DynamoDbEndpoint');
    }

    const sg = new ec2.SecurityGroup(this, 'FunctionSecurityGroup', {
      vpc,
      description: 'Catchpoint bridge push and replay functions: egress to OpenTSDB and DynamoDB only',
      allowAllOutbound: false,
    });
    this.securityGroup = sg;
    const dynamoDbPrefixListId =
      props.dynamoDbPrefixListId ??
      new DynamoDbPrefixList(this, 'DynamoDbPrefixList', { logRetention: props.logRetention }).prefixListId;
    sg.addEgressRule(
      ec2.Peer.prefixList(dynamoDbPrefixListId),
      ec2.Port.tcp(443),
      'DynamoDB (its managed prefix list)',
    );
    const openTsdbPort = ec2.Port.tcp(props.openTsdbPort);
    const openTsdbHost = new URL(props.openTsdbUrl).hostname;
    if (props.openTsdbSecurityGroupId) {
      // Egress to OpenTSDB's security group, and ingress into it from this one (a rule on that group).
      const openTsdb = ec2.SecurityGroup.fromSecurityGroupId(
        this,
        'OpenTsdbSecurityGroup',
        props.openTsdbSecurityGroupId,
      );
      sg.connections.allowTo(openTsdb, openTsdbPort, 'OpenTSDB');
    } else if (/^\d{1,3}(\.\d{1,3}){3}$/.test(openTsdbHost)) {
      sg.addEgressRule(ec2.Peer.ipv4(`${openTsdbHost}/32`), openTsdbPort, 'OpenTSDB');
    } else {
      // A host name resolves to addresses unknown at synth time: only the port is restricted.
      sg.addEgressRule(ec2.Peer.anyIpv4(), openTsdbPort, 'OpenTSDB (any address, its port only)');
    }

    this.functionNetwork = { vpc, subnets, securityGroups: [sg] };
  }
}
