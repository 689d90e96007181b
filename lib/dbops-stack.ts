import { CfnOutput, Stack, StackProps, Tags, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { EnvironmentConfig } from './config/environments';
import { TASK_NAMES } from '../lambdas/tasks/task-names';
import { DatabaseAlarms } from './constructs/alarms';
import { AuroraDatabase, DATABASE_PORT } from './constructs/database-cluster';
import { DatabaseProxy } from './constructs/database-proxy';
import { DatabaseDashboard } from './constructs/dashboard';
import { MaintenanceFunctions } from './constructs/maintenance-functions';
import { Network } from './constructs/network';
import { ReplicaAutoScaling } from './constructs/replica-autoscaling';
import { SchemaMigration } from './constructs/schema-migration';

export interface DbopsStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

/** The whole database tier of one environment: network, Aurora, proxy, scaling, maintenance, monitoring. */
export class DbopsStack extends Stack {
  readonly config: EnvironmentConfig;
  readonly network: Network;
  readonly database: AuroraDatabase;
  readonly proxy: DatabaseProxy;
  readonly replicaAutoScaling: ReplicaAutoScaling;
  readonly migration: SchemaMigration;
  readonly maintenance: MaintenanceFunctions;
  readonly alarms: DatabaseAlarms;
  readonly dashboard: DatabaseDashboard;

  constructor(scope: Construct, id: string, props: DbopsStackProps) {
    const { config } = props;
    super(scope, id, {
      ...props,
      env: { account: config.account, region: config.region },
      description: `aurora-dbops ${config.envName}: Aurora PostgreSQL 17, RDS Proxy, replica auto scaling, scheduled maintenance, alarms`,
      terminationProtection: config.envName !== 'dev',
    });
    this.config = config;
    // Not on the proxy target group nor the scalable target: cfn-lint's CloudFormation schemas for
    // those types have no Tags property (E3002), though aws-cdk-lib's L1s accept one.
    const untagged = { excludeResourceTypes: ['AWS::RDS::DBProxyTargetGroup', 'AWS::ApplicationAutoScaling::ScalableTarget'] };
    Tags.of(this).add('project', 'aurora-dbops', untagged);
    Tags.of(this).add('environment', config.envName, untagged);
    // aws-cdk-lib acknowledges this itself when it computes the zones; this stack lists them in config instead.
    Validations.of(this).acknowledge({
      id: 'CloudFormation-Validate::W3010',
      reason: 'Availability zones are listed in lib/config/environments.ts on purpose: synth needs no lookup, and prod pins its three zones',
    });

    this.network = new Network(this, 'Network', { config });
    const { vpc, computeSubnets } = this.network;

    this.database = new AuroraDatabase(this, 'Database', {
      config,
      vpc,
      databaseSubnets: this.network.databaseSubnets,
      computeSubnets,
      secretsManagerEndpoint: this.network.secretsManagerEndpoint,
    });
    const { cluster } = this.database;

    this.proxy = new DatabaseProxy(this, 'Proxy', { config, vpc, subnets: computeSubnets, databaseSubnets: this.network.databaseSubnets, cluster });
    this.proxy.allowFrom(this.network.applicationSecurityGroup, 'application tier');

    this.replicaAutoScaling = new ReplicaAutoScaling(this, 'ReplicaAutoScaling', { cluster, settings: config.replicaAutoScaling });

    this.migration = new SchemaMigration(this, 'SchemaMigration', {
      config,
      vpc,
      subnets: computeSubnets,
      cluster,
      dependsOn: [cluster, this.network.secretsManagerEndpoint],
      frameworkSecurityGroup: this.network.deployTimeSecurityGroup,
      frameworkEndpoints: [this.network.lambdaEndpoint, this.network.s3Endpoint],
    });

    this.maintenance = new MaintenanceFunctions(this, 'Maintenance', {
      config,
      vpc,
      subnets: computeSubnets,
      cluster,
      proxy: this.proxy.proxy,
      maintenanceSecret: this.database.maintenanceSecret,
    });
    this.proxy.allowFrom(this.maintenance.securityGroup, 'maintenance functions');
    // The per-server checks reach each instance's own endpoint (lambdas/db/instances.ts).
    if (config.database.driver === 'pg') cluster.connections.allowFrom(this.maintenance.securityGroup, ec2.Port.tcp(DATABASE_PORT), 'maintenance per-instance checks');
    for (const task of TASK_NAMES) {
      // No schedule fires before the schema the tasks work on exists.
      this.maintenance.tasks[task].rule.node.addDependency(this.migration.resource);
    }

    const clusterIdentifier = cluster.clusterIdentifier;
    // The literal lower-case name, as RDS stores it and CloudWatch matches it.
    const proxyName = this.proxy.name;
    this.alarms = new DatabaseAlarms(this, 'Alarms', {
      config,
      clusterIdentifier,
      proxyName,
      tasks: this.maintenance.tasks,
      deadLetterQueue: this.maintenance.deadLetterQueue,
    });
    this.dashboard = new DatabaseDashboard(this, 'Dashboard', {
      config,
      clusterIdentifier,
      proxyName,
      tasks: this.maintenance.tasks,
      alarms: this.alarms,
    });

    const output = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description, exportName: `dbops-${config.envName}-${name}` });
    output('ProxyWriterEndpoint', this.proxy.proxy.endpoint, 'RDS Proxy read/write endpoint (IAM auth, TLS)');
    output('ProxyReaderEndpoint', this.proxy.readerEndpoint.endpoint, 'RDS Proxy read-only endpoint, routed to the readers');
    output('ProxyArn', this.proxy.proxy.dbProxyArn, 'For rds-db:connect grants: arn:aws:rds-db:<region>:<account>:dbuser:<proxy id>/<user>');
    output('ApplicationSecurityGroupId', this.network.applicationSecurityGroup.securityGroupId, 'Attach to the application tier to reach the proxy');
    output('VpcId', vpc.vpcId, 'VPC of the database tier');
    output('ComputeSubnetIds', vpc.selectSubnets(computeSubnets).subnetIds.join(','), 'Isolated subnets for the application tier and Lambdas');
    output('ClusterIdentifier', clusterIdentifier, 'Aurora cluster identifier');
    output('ClusterWriterEndpoint', cluster.clusterEndpoint.hostname, 'Aurora writer endpoint (migrations and emergencies only)');
    output('MasterSecretArn', this.database.masterSecret.secretArn, 'Master user secret (rotated)');
    if (this.database.maintenanceSecret) {
      output('MaintenanceSecretArn', this.database.maintenanceSecret.secretArn, 'Data API driver: dbops_maintenance password secret (README "Deploy", step 4)');
    }
    output('AlarmTopicArn', this.alarms.topic.topicArn, 'SNS topic of every dbops alarm');
    output('DashboardName', `dbops-${config.envName}`, 'CloudWatch dashboard');
  }

  /** Given explicitly so synth performs no availability-zone lookup and works offline. */
  override get availabilityZones(): string[] {
    return [...this.config.availabilityZones];
  }
}
