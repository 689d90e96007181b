import { CfnResource, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { EnvironmentConfig } from '../config/environments';
import { vpcNetworkInterfaceStatement } from './bundling';
import { encryptedLogGroup } from './log-encryption';

export interface NetworkProps {
  readonly config: EnvironmentConfig;
}

/**
 * A VPC without NAT: the database sits in isolated subnets, and the Lambdas, the proxy and the
 * application tier in a second isolated tier. Everything the functions call on AWS (Secrets
 * Manager, CloudWatch metrics, the Data API) has an interface endpoint, so no traffic leaves the
 * VPC and there is no NAT gateway to pay for or to fail.
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  readonly databaseSubnets: ec2.SubnetSelection = { subnetGroupName: 'database' };
  readonly computeSubnets: ec2.SubnetSelection = { subnetGroupName: 'compute' };
  readonly secretsManagerEndpoint: ec2.InterfaceVpcEndpoint;
  readonly monitoringEndpoint: ec2.InterfaceVpcEndpoint;
  readonly rdsDataEndpoint?: ec2.InterfaceVpcEndpoint;
  /** The custom-resource provider framework invokes the migration function through it. */
  readonly lambdaEndpoint: ec2.InterfaceVpcEndpoint;
  /** The default-security-group function calls EC2 through it. */
  readonly ec2Endpoint: ec2.InterfaceVpcEndpoint;
  readonly s3Endpoint: ec2.GatewayVpcEndpoint;
  /**
   * For the deploy-time functions that answer CloudFormation: the response goes to a pre-signed S3
   * URL, reached through the S3 gateway endpoint. The gateway's prefix list is unknown at synth, so
   * egress is open; in a VPC without NAT or internet gateway it still ends at the endpoints.
   */
  readonly deployTimeSecurityGroup: ec2.SecurityGroup;
  /** For the application tier: the only group, beside the maintenance functions, the proxy admits. */
  readonly applicationSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const { config } = props;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(config.vpcCidr),
      availabilityZones: [...config.availabilityZones],
      natGateways: 0,
      subnetConfiguration: [
        { name: 'database', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
        { name: 'compute', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 20 },
      ],
    });

    const flowLogs = encryptedLogGroup(this, 'FlowLogs', {
      retention: config.database.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    const endpoint = (name: string, service: ec2.InterfaceVpcEndpointAwsService) => {
      const created = this.vpc.addInterfaceEndpoint(name, { service, subnets: this.computeSubnets, privateDnsEnabled: true, open: false });
      // HTTPS from inside this VPC only, written as the literal CIDR so the rule is checkable at synth.
      created.connections.allowFrom(ec2.Peer.ipv4(config.vpcCidr), ec2.Port.tcp(443), 'HTTPS from inside the VPC');
      return created;
    };
    this.secretsManagerEndpoint = endpoint('SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER);
    this.monitoringEndpoint = endpoint('CloudWatchMonitoring', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING);
    if (config.database.driver === 'data-api') {
      this.rdsDataEndpoint = endpoint('RdsData', ec2.InterfaceVpcEndpointAwsService.RDS_DATA);
    }
    this.lambdaEndpoint = endpoint('Lambda', ec2.InterfaceVpcEndpointAwsService.LAMBDA);
    this.ec2Endpoint = endpoint('Ec2', ec2.InterfaceVpcEndpointAwsService.EC2);
    this.s3Endpoint = this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [this.computeSubnets] });

    this.deployTimeSecurityGroup = new ec2.SecurityGroup(this, 'DeployTimeSecurityGroup', {
      vpc: this.vpc,
      description: `dbops ${config.envName}: deploy-time functions (custom-resource framework, default-SG restriction); reach the VPC endpoints`,
      allowAllOutbound: true,
    });
    this.restrictDefaultSecurityGroupFromInsideTheVpc();

    this.applicationSecurityGroup = new ec2.SecurityGroup(this, 'ApplicationSecurityGroup', {
      vpc: this.vpc,
      description: `dbops ${config.envName}: application tier; admitted by the RDS Proxy`,
      allowAllOutbound: true,
    });
  }

  /**
   * aws-cdk-lib's singleton function that strips the VPC's default security group runs outside any
   * VPC (Control Tower CT.LAMBDA.PR.3). Its construct offers no VPC settings, so they are set on the
   * L1: the compute subnets, the deploy-time group, and the ENI permissions Lambda checks at creation.
   */
  private restrictDefaultSecurityGroupFromInsideTheVpc(): void {
    const provider = Stack.of(this).node.tryFindChild('Custom::VpcRestrictDefaultSGCustomResourceProvider');
    if (!provider) throw new Error('aws-cdk-lib no longer creates Custom::VpcRestrictDefaultSGCustomResourceProvider; revisit Network');
    const handler = provider.node.findChild('Handler') as CfnResource;
    const role = provider.node.findChild('Role') as CfnResource;
    handler.addPropertyOverride('VpcConfig', {
      SubnetIds: this.vpc.selectSubnets(this.computeSubnets).subnetIds,
      SecurityGroupIds: [this.deployTimeSecurityGroup.securityGroupId],
    });
    role.addPropertyOverride('Policies.1', {
      PolicyName: 'VpcNetworkInterfaces',
      PolicyDocument: { Version: '2012-10-17', Statement: [vpcNetworkInterfaceStatement().toStatementJson()] },
    });
    // EC2 calls go through the interface endpoint; the function must not run before it answers.
    handler.addResourceDependency(this.ec2Endpoint.node.defaultChild as CfnResource);
    handler.addResourceDependency(this.s3Endpoint.node.defaultChild as CfnResource);
  }
}
