import { createHash } from 'node:crypto';
import path from 'node:path';
import { CfnElement, CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IDependable } from 'constructs';
import { loadMigrationFiles } from '../../lambdas/migrate/migration-files';
import { EnvironmentConfig } from '../config/environments';
import { PROJECT_ROOT, bundlingOptions, functionDefaults, vpcNetworkInterfaceStatement } from './bundling';
import { DATABASE_PORT } from './database-cluster';
import { encryptedLogGroup } from './log-encryption';

export const MIGRATIONS_SOURCE_DIR = path.join(PROJECT_ROOT, 'sql', 'migrations');
/** Where afterBundling puts the SQL inside the function package. */
export const BUNDLED_MIGRATIONS_DIR = '/var/task/migrations';

/** One digest over every migration's name and content: a changed set changes the resource's properties, hence an Update. */
export function migrationsHash(dir: string = MIGRATIONS_SOURCE_DIR): string {
  const digest = createHash('sha256');
  for (const file of loadMigrationFiles(dir)) digest.update(`${file.name}\0${file.checksum}\n`);
  return digest.digest('hex');
}

export interface SchemaMigrationProps {
  readonly config: EnvironmentConfig;
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly cluster: rds.DatabaseCluster;
  /** Things the function needs before it can run: the cluster's instances, the Secrets Manager endpoint. */
  readonly dependsOn: IDependable[];
  /** Where the provider framework runs: it reaches Lambda and S3 (the CloudFormation response) through VPC endpoints. */
  readonly frameworkSecurityGroup: ec2.ISecurityGroup;
  readonly frameworkEndpoints: IDependable[];
}

/**
 * Applies sql/migrations at deploy time. Runs against the writer directly, not through the
 * proxy: the runner holds a session advisory lock and CREATE INDEX CONCURRENTLY may take minutes,
 * and the master user has no IAM login through the proxy.
 */
export class SchemaMigration extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly resource: CustomResource;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: SchemaMigrationProps) {
    super(scope, id);
    const { config, vpc, cluster } = props;
    const secret = cluster.secret;
    if (!secret) throw new Error('the cluster has no generated secret for the migration to log in with');
    const defaults = functionDefaults();

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: `dbops ${config.envName}: deploy-time schema migration`,
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.ipv4(config.vpcCidr), ec2.Port.tcp(443), 'Secrets Manager endpoint');
    cluster.connections.allowDefaultPortFrom(this.securityGroup, 'schema migration at deploy time');

    const logGroup = encryptedLogGroup(this, 'Logs', { retention: config.database.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `dbops ${config.envName}: deploy-time schema migration`,
    });
    role.addToPolicy(
      vpcNetworkInterfaceStatement(),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Lambda VPC network-interface actions have no resource-level permissions',
    });
    logGroup.grantWrite(role);
    secret.grantRead(role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      ...defaults,
      entry: path.join(PROJECT_ROOT, 'lambdas', 'handlers', 'migrate-custom-resource.ts'),
      handler: 'handler',
      description: `dbops ${config.envName}: apply sql/migrations at deploy time`,
      timeout: Duration.minutes(15),
      memorySize: 512,
      role,
      logGroup,
      vpc,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      environment: {
        ...defaults.environment,
        DB_SECRET_ARN: secret.secretArn,
        DB_HOST: cluster.clusterEndpoint.hostname,
        DB_PORT: String(DATABASE_PORT),
        DB_NAME: config.database.databaseName,
        DB_SSLMODE: 'verify-full',
        DBOPS_MIGRATIONS_DIR: BUNDLED_MIGRATIONS_DIR,
        DBOPS_LOCK_TIMEOUT_MS: String(config.maintenance.lockTimeoutMs),
      },
      bundling: bundlingOptions({
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => [`cp -r "${inputDir}/sql/migrations" "${outputDir}/migrations"`],
        },
      }),
    });

    const providerLogs = encryptedLogGroup(this, 'ProviderLogs', { retention: config.database.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function,
      logGroup: providerLogs,
      // Control Tower CT.LAMBDA.PR.3: every function runs in the VPC, the framework's too.
      vpc,
      vpcSubnets: props.subnets,
      securityGroups: [props.frameworkSecurityGroup],
    });

    this.resource = new CustomResource(this, 'Migrations', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::DbopsSchemaMigrations',
      properties: {
        MigrationsHash: migrationsHash(),
        Database: config.database.databaseName,
      },
    });
    for (const dependency of props.dependsOn) this.resource.node.addDependency(dependency);

    Validations.of(this.function).acknowledge(
      {
        id: 'Serverless-LambdaDLQ',
        reason: 'Invoked synchronously by the custom-resource provider; a failure fails the CloudFormation deployment, there is no event to keep',
      },
      {
        id: 'Serverless-LambdaTracing',
        reason: 'Runs once per deployment in a VPC without NAT or X-Ray endpoint; its JSON logs record every applied migration',
      },
    );
    const framework = provider.node.findChild('framework-onEvent');
    framework.node.addDependency(...props.frameworkEndpoints);
    Validations.of(framework).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'CDK custom-resource provider framework function (aws-cdk-lib owned); it only writes its own logs',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason: 'CDK custom-resource provider framework function, placed in the VPC for Control Tower CT.LAMBDA.PR.3; the AWS policy only manages its network interfaces',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.function.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason: 'CDK provider framework may invoke any version or alias of the one migration function, and nothing else',
      },
      { id: 'Serverless-LambdaDLQ', reason: 'CDK provider framework: invoked synchronously by CloudFormation, which records the failure' },
      { id: 'Serverless-LambdaDefaultMemorySize', reason: 'CDK provider framework function; its memory is set by aws-cdk-lib and it only relays the event' },
      { id: 'Serverless-LambdaTracing', reason: 'CDK provider framework function; it only relays the CloudFormation event to the migration function' },
    );
    this.function.node.addDependency(...props.dependsOn);
  }
}
