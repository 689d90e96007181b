import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { EnvironmentConfig } from '../config/environments';
import { MAINTENANCE_DB_USER } from '../config/managed-objects';
import { restrictGrantsToAwsServices } from './key-policy';
import { encryptedLogGroup } from './log-encryption';

export const AURORA_POSTGRES_VERSION = rds.AuroraPostgresEngineVersion.VER_17_9;
export const MASTER_USERNAME = 'dbops_admin';
export const DATABASE_PORT = 5432;

export interface DatabaseClusterProps {
  readonly config: EnvironmentConfig;
  readonly vpc: ec2.IVpc;
  readonly databaseSubnets: ec2.SubnetSelection;
  /** Where the rotation functions run; they reach Secrets Manager through `secretsManagerEndpoint`. */
  readonly computeSubnets: ec2.SubnetSelection;
  readonly secretsManagerEndpoint: ec2.IInterfaceVpcEndpoint;
}

/**
 * Aurora PostgreSQL 17: a writer and readers spread over the zones, storage and secrets under one
 * customer-managed key, IAM database authentication, exported logs with a set retention, Database
 * Insights and enhanced monitoring, and the parameters the maintenance tasks and alarms rely on.
 */
export class AuroraDatabase extends Construct {
  readonly cluster: rds.DatabaseCluster;
  readonly key: kms.Key;
  readonly securityGroup: ec2.SecurityGroup;
  readonly masterSecret: secretsmanager.ISecret;
  /** /aws/rds/cluster/<id>/postgresql, owned by the stack. */
  readonly postgresqlLogGroup: logs.LogGroup;
  /** Only with the Data API driver: the maintenance user's own password secret (the Data API cannot use IAM tokens). */
  readonly maintenanceSecret?: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: DatabaseClusterProps) {
    super(scope, id);
    const { config, vpc } = props;
    const db = config.database;
    const retain = db.removalPolicy !== RemovalPolicy.DESTROY;

    this.key = new kms.Key(this, 'Key', {
      description: `dbops ${config.envName}: Aurora storage, Performance Insights and database secrets`,
      enableKeyRotation: true,
      // Snapshots stay restorable only while their key exists.
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(retain ? 30 : 7),
    });
    restrictGrantsToAwsServices(this.key);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: `dbops ${config.envName}: Aurora cluster; admits the proxy, the migration and rotation functions`,
      allowAllOutbound: false,
    });

    const zones = config.availabilityZones;
    // Set on every instance as on the cluster, so no instance silently differs.
    const insights = {
      enablePerformanceInsights: true,
      performanceInsightRetention: db.performanceInsightRetention,
      performanceInsightEncryptionKey: this.key,
    };
    const readers = Array.from({ length: db.readers }, (_, index) =>
      rds.ClusterInstance.provisioned(`reader${index + 1}`, {
        instanceType: new ec2.InstanceType(db.readerInstanceClass),
        // Tier 1 keeps these ahead of auto-scaled readers (tier 15) as failover targets.
        promotionTier: 1,
        // Writer in the first zone, readers round-robin over the others.
        availabilityZone: zones[(index + 1) % zones.length],
        autoMinorVersionUpgrade: true,
        ...insights,
      }),
    );

    // Named, so the exported log's group is known before the cluster exists: RDS writes into this
    // stack-owned, encrypted group with its retention, and no LogRetention function (outside the VPC) is needed.
    const clusterIdentifier = `dbops-${config.envName}`;
    this.postgresqlLogGroup = encryptedLogGroup(this, 'PostgresqlLog', {
      logGroupName: `/aws/rds/cluster/${clusterIdentifier}/postgresql`,
      retention: db.logRetention,
      // As every log group of the stack: its key goes with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      clusterIdentifier,
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: AURORA_POSTGRES_VERSION }),
      credentials: rds.Credentials.fromGeneratedSecret(MASTER_USERNAME, {
        encryptionKey: this.key,
        excludeCharacters: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\',
      }),
      defaultDatabaseName: db.databaseName,
      writer: rds.ClusterInstance.provisioned('writer', {
        instanceType: new ec2.InstanceType(db.writerInstanceClass),
        promotionTier: 0,
        availabilityZone: zones[0],
        autoMinorVersionUpgrade: true,
        ...insights,
      }),
      readers,
      vpc,
      vpcSubnets: props.databaseSubnets,
      securityGroups: [this.securityGroup],
      port: DATABASE_PORT,
      storageEncrypted: true,
      storageEncryptionKey: this.key,
      iamAuthentication: true,
      enableDataApi: db.driver === 'data-api',
      deletionProtection: db.deletionProtection,
      removalPolicy: db.removalPolicy,
      copyTagsToSnapshot: true,
      backup: { retention: Duration.days(db.backupRetentionDays), preferredWindow: '01:00-01:30' },
      preferredMaintenanceWindow: 'sun:06:30-sun:07:30',
      cloudwatchLogsExports: ['postgresql'],
      monitoringInterval: Duration.seconds(db.monitoringIntervalSeconds),
      enablePerformanceInsights: true,
      performanceInsightRetention: db.performanceInsightRetention,
      performanceInsightEncryptionKey: this.key,
      databaseInsightsMode: db.databaseInsights,
      parameters: {
        shared_preload_libraries: 'pg_stat_statements',
        'pg_stat_statements.track': 'all',
        'pg_stat_statements.max': '10000',
        track_io_timing: '1',
        log_min_duration_statement: String(db.logMinDurationStatementMs),
        log_lock_waits: '1',
        log_autovacuum_min_duration: '10000',
        idle_in_transaction_session_timeout: String(db.idleInTransactionSessionTimeoutMs),
        'rds.force_ssl': '1',
      },
    });
    this.cluster.node.addDependency(this.postgresqlLogGroup);
    this.masterSecret = this.cluster.secret!;
    if (!db.deletionProtection) {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason: `${config.envName} is disposable and must tear down with its stack; staging and prod run with deletion protection on`,
      });
      // The one Control Tower exception, on this one resource and only where deletion protection is off on purpose.
      Validations.of(this.cluster).acknowledge({
        id: 'cdk-validator-cfnguard::rds_cluster_deletion_protection_enabled_check',
        reason: `Control Tower CT.RDS.PR.3: ${config.envName} is disposable and must tear down with its stack; staging and prod run with deletion protection on`,
      });
    }
    Validations.of(this.cluster).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
      reason: 'Enhanced monitoring role: AmazonRDSEnhancedMonitoringRole is the policy AWS documents for it and only allows writing to the RDSOSMetrics log group',
    });

    this.cluster.addRotationSingleUser({
      automaticallyAfter: Duration.days(db.secretRotationDays),
      endpoint: props.secretsManagerEndpoint,
      vpcSubnets: props.computeSubnets,
    });

    if (db.driver === 'data-api') {
      const secret = new rds.DatabaseSecret(this, 'MaintenanceSecret', {
        username: MAINTENANCE_DB_USER,
        dbname: db.databaseName,
        encryptionKey: this.key,
        excludeCharacters: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\',
      });
      const attached = secret.attach(this.cluster);
      new secretsmanager.SecretRotation(this, 'MaintenanceSecretRotation', {
        application: secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER,
        secret: attached,
        target: this.cluster,
        vpc,
        vpcSubnets: props.computeSubnets,
        endpoint: props.secretsManagerEndpoint,
        automaticallyAfter: Duration.days(db.secretRotationDays),
      });
      this.maintenanceSecret = attached;
    }
  }
}
