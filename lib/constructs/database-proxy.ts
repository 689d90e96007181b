import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { EnvironmentConfig } from '../config/environments';
import { APPLICATION_DB_USER, MAINTENANCE_DB_USER } from '../config/managed-objects';
import { DATABASE_PORT } from './database-cluster';

/** The proxy's name as RDS stores it and as the ProxyName dimension carries it. */
export function proxyName(envName: string): string {
  return `dbops-${envName}-proxy`.toLowerCase();
}

export interface DatabaseProxyProps {
  readonly config: EnvironmentConfig;
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  /** Where the Aurora instances live: the proxy's only egress. */
  readonly databaseSubnets: ec2.SubnetSelection;
  readonly cluster: rds.DatabaseCluster;
}

/**
 * RDS Proxy in front of the cluster with end-to-end IAM authentication: clients present an IAM
 * token over TLS, and the proxy logs in to Aurora with its own IAM role, so no database password
 * exists for the application or the maintenance user. A second endpoint routes to the readers.
 */
export class DatabaseProxy extends Construct {
  readonly proxy: rds.DatabaseProxy;
  readonly readerEndpoint: rds.DatabaseProxyEndpoint;
  readonly securityGroup: ec2.SecurityGroup;
  readonly role: iam.Role;
  /** As RDS stores it: what the ProxyName dimension of every proxy metric carries. */
  readonly name: string;

  constructor(scope: Construct, id: string, props: DatabaseProxyProps) {
    super(scope, id);
    const { config, vpc, cluster } = props;
    this.name = proxyName(config.envName);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: `dbops ${config.envName}: RDS Proxy; admits the application and maintenance groups only`,
      allowAllOutbound: false,
    });
    // The group-to-group rule towards the cluster is a separate AWS::EC2::SecurityGroupEgress, and
    // adding it drops CDK's inline "no traffic" placeholder; with no inline egress left, EC2 would
    // keep its default allow-all rule. These inline rules (same port, the database subnets) remove it.
    for (const subnet of vpc.selectSubnets(props.databaseSubnets).subnets) {
      this.securityGroup.addEgressRule(ec2.Peer.ipv4(subnet.ipv4CidrBlock), ec2.Port.tcp(DATABASE_PORT), `Aurora instances in ${subnet.availabilityZone}`);
    }
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('rds.amazonaws.com'),
      description: 'RDS Proxy: IAM login to the Aurora cluster as the application and maintenance users',
    });
    // End-to-end IAM: the proxy itself needs rds-db:connect on the cluster for each user it logs in as.
    cluster.grantConnect(this.role, APPLICATION_DB_USER);
    cluster.grantConnect(this.role, MAINTENANCE_DB_USER);

    this.proxy = new rds.DatabaseProxy(this, 'Proxy', {
      // RDS stores proxy names in lower case and CloudWatch dimensions are case-sensitive; a
      // CDK-derived name is mixed case, so ProxyName-dimensioned alarms would watch nothing (aws/aws-cdk#38270).
      dbProxyName: this.name,
      proxyTarget: rds.ProxyTarget.fromCluster(cluster),
      vpc,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      role: this.role,
      defaultAuthScheme: rds.DefaultAuthScheme.IAM_AUTH,
      iamAuth: true,
      requireTLS: true,
      maxConnectionsPercent: config.proxy.maxConnectionsPercent,
      maxIdleConnectionsPercent: config.proxy.maxIdleConnectionsPercent,
      borrowTimeout: config.proxy.borrowTimeout,
      idleClientTimeout: config.proxy.idleClientTimeout,
      debugLogging: false,
    });

    this.readerEndpoint = new rds.DatabaseProxyEndpoint(this, 'ReaderEndpoint', {
      dbProxy: this.proxy,
      vpc,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      targetRole: rds.ProxyEndpointTargetRole.READ_ONLY,
    });
  }

  /** Lets a security group (the application tier, the maintenance functions) open connections to both endpoints. */
  allowFrom(peer: ec2.ISecurityGroup, description: string): void {
    // Through Connections, so a peer without open egress also gets the matching egress rule.
    this.securityGroup.connections.allowFrom(peer, ec2.Port.tcp(DATABASE_PORT), description);
  }
}
