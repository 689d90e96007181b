import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { EnvironmentConfig } from '../config/environments';

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

    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
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

    this.applicationSecurityGroup = new ec2.SecurityGroup(this, 'ApplicationSecurityGroup', {
      vpc: this.vpc,
      description: `dbops ${config.envName}: application tier; admitted by the RDS Proxy`,
      allowAllOutbound: true,
    });
  }
}
