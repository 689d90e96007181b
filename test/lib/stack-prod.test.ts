import { Match } from 'aws-cdk-lib/assertions';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { METRICS, METRIC_NAMESPACE } from '../../lambdas/metrics/catalog';
import { environmentConfig, taskTimeBudgetMs } from '../../lib/config/environments';
import { PER_INSTANCE_TASKS, TASK_NAMES } from '../../lambdas/tasks/task-names';
import { MAINTENANCE_DB_USER, MANAGED_MATERIALIZED_VIEWS, MANAGED_PARTITIONED_TABLES } from '../../lib/config/managed-objects';
import { migrationsHash } from '../../lib/constructs/schema-migration';
import { Synthesized, alarmsByName, logicalId, resourcesOfType, synthesize } from './synth';

const config = environmentConfig('prod');
let synth: Synthesized;

beforeAll(() => {
  synth = synthesize('prod');
});

const template = () => synth.template;
const id = (construct: { node: { defaultChild?: unknown } }) => logicalId(synth.stack, construct);
const json = (value: unknown) => JSON.stringify(value);

describe('prod: cdk-nag', () => {
  it('synthesizes with the AwsSolutions and Serverless packs and no unacknowledged finding', () => {
    // synthesize() already ran app.synth(), which throws on findings; check the packs directly too.
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      const report = pack.validateScope(synth.app);
      expect(report.violations.map((v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    }
  });

  it('gives every acknowledgement a specific reason', () => {
    const acknowledgements: { path: string; id: string; reason: string }[] = [];
    const walk = (construct: IConstruct) => {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [ruleId, reason] of Object.entries(entry.data as Record<string, string>)) {
          // Validations stores ids without a known prefix as annotation ids, as cdk-nag reads them.
          acknowledgements.push({ path: construct.node.path, id: ruleId.replace(/^annotation::/i, ''), reason });
        }
      }
      construct.node.children.forEach(walk);
    };
    walk(synth.app);
    // aws-cdk-lib acknowledges some of its own CloudFormation-Validate rules; ours are the nag packs'.
    const nag = acknowledgements.filter((ack) => /^(AwsSolutions|Serverless)-/.test(ack.id));
    expect(nag.length).toBeGreaterThan(5);
    for (const ack of nag) {
      expect(ack.reason.length).toBeGreaterThanOrEqual(40);
      expect(ack.reason).not.toMatch(/^(ok|fine|n\/a|todo|suppress(ed)?|not needed)\.?$/i);
      // One named rule (and finding) of the two packs, never a rule family.
      expect(ack.id).toMatch(/^(AwsSolutions|Serverless)-[A-Za-z0-9]+(\[.+\])?$/);
    }
  });

  it('leaves no unacknowledged finding of any plugin in the validation report', () => {
    const { existsSync, readFileSync } = jest.requireActual<typeof import('node:fs')>('node:fs');
    const path = jest.requireActual<typeof import('node:path')>('node:path');
    const reportFile = path.join(synth.app.outdir, 'validation-report.json');
    // Written on every synth with plugins; the hard-coded-zone warning (W3010) used to be listed here.
    expect(existsSync(reportFile)).toBe(true);
    const report: { pluginReports: { violations: { ruleName: string }[]; suppressedViolations?: { ruleName: string }[] }[] } = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report.pluginReports.flatMap((p) => p.violations.map((v) => v.ruleName))).toEqual([]);
    expect(report.pluginReports.flatMap((p) => (p.suppressedViolations ?? []).map((v) => v.ruleName))).toContain('W3010');
  });

  it('fails synthesis when a finding is not acknowledged', () => {
    const { App, Stack } = jest.requireActual<typeof import('aws-cdk-lib')>('aws-cdk-lib');
    const sqs = jest.requireActual<typeof import('aws-cdk-lib/aws-sqs')>('aws-cdk-lib/aws-sqs');
    const app = new App();
    const stack = new Stack(app, 'Bad');
    new sqs.Queue(stack, 'PlainQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow();
  });
});

describe('prod: network', () => {
  it('has isolated database and compute subnets in three zones and no NAT or internet gateway', () => {
    const subnets = Object.values(resourcesOfType(template(), 'AWS::EC2::Subnet'));
    expect(subnets).toHaveLength(6);
    expect(new Set(subnets.map((s) => s.Properties!.AvailabilityZone))).toEqual(new Set(config.availabilityZones));
    expect(subnets.every((s) => s.Properties!.MapPublicIpOnLaunch === false)).toBe(true);
    template().resourceCountIs('AWS::EC2::NatGateway', 0);
    template().resourceCountIs('AWS::EC2::InternetGateway', 0);
  });

  it('reaches Secrets Manager and CloudWatch through interface endpoints open to the VPC only', () => {
    const endpoints = Object.values(resourcesOfType(template(), 'AWS::EC2::VPCEndpoint'));
    const services = endpoints.map((e) => json(e.Properties!.ServiceName));
    expect(services.some((s) => s.includes('secretsmanager'))).toBe(true);
    expect(services.some((s) => s.includes('monitoring'))).toBe(true);
    expect(services.some((s) => s.includes('rds-data'))).toBe(false); // pg driver
    template().hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('SecretsManager'),
      SecurityGroupIngress: [Match.objectLike({ CidrIp: config.vpcCidr, FromPort: 443, ToPort: 443 })],
    });
  });

  it('logs VPC flows', () => {
    template().hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
  });
});

describe('prod: Aurora cluster', () => {
  it('runs Aurora PostgreSQL 17 encrypted with a rotating customer key, IAM auth, 35-day backups, protected and retained', () => {
    const keyId = id(synth.stack.database.key);
    template().hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template().hasResource('AWS::KMS::Key', { Properties: Match.objectLike({ Description: Match.stringLikeRegexp('Aurora storage') }), DeletionPolicy: 'Retain' });
    template().hasResource('AWS::RDS::DBCluster', {
      Properties: Match.objectLike({
        Engine: 'aurora-postgresql',
        EngineVersion: Match.stringLikeRegexp('^17\\.'),
        StorageEncrypted: true,
        KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
        EnableIAMDatabaseAuthentication: true,
        DeletionProtection: true,
        BackupRetentionPeriod: 35,
        EnableCloudwatchLogsExports: ['postgresql'],
        PerformanceInsightsEnabled: true,
        PerformanceInsightsRetentionPeriod: 465,
        DatabaseInsightsMode: 'advanced',
        EnableHttpEndpoint: false,
        DatabaseName: 'platform',
      }),
      DeletionPolicy: 'Retain',
    });
  });

  it('sets a retention on the exported postgresql log', () => {
    template().hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/rds/cluster/dbops-prod/postgresql',
      RetentionInDays: 365,
      KmsKeyId: Match.anyValue(),
    });
  });

  it('tracks statements and forces TLS through the cluster parameter group', () => {
    template().hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
      Family: 'aurora-postgresql17',
      Parameters: Match.objectLike({
        shared_preload_libraries: Match.stringLikeRegexp('pg_stat_statements'),
        'pg_stat_statements.track': 'all',
        log_min_duration_statement: '1000',
        idle_in_transaction_session_timeout: String(config.database.idleInTransactionSessionTimeoutMs),
        'rds.force_ssl': '1',
      }),
    });
  });

  it('places the writer and two tier-1 readers in three different zones with enhanced monitoring', () => {
    const instances = Object.values(resourcesOfType(template(), 'AWS::RDS::DBInstance')).map((r) => r.Properties!);
    expect(instances).toHaveLength(3);
    const writer = instances.filter((i) => i.PromotionTier === 0);
    const readers = instances.filter((i) => i.PromotionTier === 1);
    expect(writer).toHaveLength(1);
    expect(readers).toHaveLength(2);
    expect(new Set(instances.map((i) => i.AvailabilityZone)).size).toBe(3);
    for (const instance of instances) {
      expect(instance).toMatchObject({ DBInstanceClass: 'db.r7g.xlarge', MonitoringInterval: 10, PubliclyAccessible: false, EnablePerformanceInsights: true });
    }
  });

  it('rotates the master secret from inside the VPC', () => {
    template().hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: `rate(${config.database.secretRotationDays} days)` },
    });
    template().hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: { 'Fn::GetAtt': [id(synth.stack.database.key), 'Arn'] } });
  });

  it('admits only the proxy, the migration function, the rotation function and the per-instance checks to the cluster', () => {
    const clusterSg = id(synth.stack.database.securityGroup);
    const ingress = Object.values(resourcesOfType(template(), 'AWS::EC2::SecurityGroupIngress'))
      .map((r) => r.Properties!)
      .filter((p) => json(p.GroupId).includes(clusterSg));
    const sources = ingress.map((p) => json(p.SourceSecurityGroupId)).sort();
    expect(sources).toHaveLength(4);
    expect(sources.some((s) => s.includes(id(synth.stack.proxy.securityGroup)))).toBe(true);
    // health-check and long-query-check read each instance's own statistics (lambdas/db/instances.ts).
    expect(ingress.find((p) => json(p.SourceSecurityGroupId).includes(id(synth.stack.maintenance.securityGroup)))).toMatchObject({ FromPort: 5432, ToPort: 5432 });
    expect(sources.some((s) => s.includes(id(synth.stack.migration.securityGroup)))).toBe(true);
    expect(sources.some((s) => s.includes('RotationSingleUserSecurityGroup'))).toBe(true);
    expect(sources.some((s) => s.includes(id(synth.stack.network.applicationSecurityGroup)))).toBe(false);
  });
});

describe('prod: RDS Proxy', () => {
  it('requires TLS and IAM end to end, with the pool limits from config', () => {
    template().hasResourceProperties('AWS::RDS::DBProxy', { RequireTLS: true, DefaultAuthScheme: 'IAM_AUTH', EngineFamily: 'POSTGRESQL' });
    template().hasResourceProperties('AWS::RDS::DBProxyTargetGroup', {
      ConnectionPoolConfigurationInfo: {
        MaxConnectionsPercent: config.proxy.maxConnectionsPercent,
        MaxIdleConnectionsPercent: config.proxy.maxIdleConnectionsPercent,
        ConnectionBorrowTimeout: config.proxy.borrowTimeout.toSeconds(),
      },
    });
  });

  it('has a read-only endpoint for the readers, and outputs both endpoints', () => {
    template().hasResourceProperties('AWS::RDS::DBProxyEndpoint', { TargetRole: 'READ_ONLY' });
    template().hasOutput('ProxyWriterEndpoint', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Proxy'), 'Endpoint'] } });
    template().hasOutput('ProxyReaderEndpoint', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('ReaderEndpoint'), 'Endpoint'] } });
    template().hasOutput('ApplicationSecurityGroupId', { Export: { Name: 'dbops-prod-ApplicationSecurityGroupId' } });
  });

  it('admits only the application and maintenance security groups', () => {
    const proxySg = id(synth.stack.proxy.securityGroup);
    const ingress = Object.values(resourcesOfType(template(), 'AWS::EC2::SecurityGroupIngress'))
      .map((r) => r.Properties!)
      .filter((p) => json(p.GroupId).includes(proxySg));
    expect(ingress.map((p) => json(p.SourceSecurityGroupId)).sort()).toEqual(
      [
        json({ 'Fn::GetAtt': [id(synth.stack.network.applicationSecurityGroup), 'GroupId'] }),
        json({ 'Fn::GetAtt': [id(synth.stack.maintenance.securityGroup), 'GroupId'] }),
      ].sort(),
    );
    expect(ingress.every((p) => p.FromPort === 5432 && p.ToPort === 5432)).toBe(true);
  });

  it('lets the proxy out only to the database subnets on the Postgres port, never through the EC2 default egress', () => {
    const group = template().toJSON().Resources[id(synth.stack.proxy.securityGroup)].Properties;
    const databaseCidrs = synth.stack.network.vpc.selectSubnets(synth.stack.network.databaseSubnets).subnets.map((s) => s.ipv4CidrBlock);
    expect(databaseCidrs).toHaveLength(3);
    // Inline rules present: without them EC2 keeps its allow-all default beside the separate rule.
    expect(group.SecurityGroupEgress).toEqual(
      expect.arrayContaining(databaseCidrs.map((cidr) => expect.objectContaining({ CidrIp: cidr, IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432 }))),
    );
    expect(group.SecurityGroupEgress).toHaveLength(databaseCidrs.length);
  });

  it('gives every security group inline egress rules, so none falls back to the EC2 allow-all default', () => {
    for (const [logical, group] of Object.entries(resourcesOfType(template(), 'AWS::EC2::SecurityGroup'))) {
      const egress = group.Properties!.SecurityGroupEgress;
      expect({ logical, inline: Array.isArray(egress) && egress.length > 0 }).toEqual({ logical, inline: true });
    }
  });

  it('lets the proxy log in to the cluster as the maintenance and application users only', () => {
    const policies = Object.values(resourcesOfType(template(), 'AWS::IAM::Policy'));
    const proxyPolicy = policies.find((p) => json(p.Properties!.Roles).includes(id(synth.stack.proxy.role)));
    const statements = proxyPolicy!.Properties!.PolicyDocument.Statement;
    expect(statements).toHaveLength(1);
    expect(statements[0].Action).toBe('rds-db:connect');
    const resources = json(statements[0].Resource);
    expect(resources).toContain(`/${MAINTENANCE_DB_USER}`);
    expect(resources).toContain('/platform_app');
    expect(resources).toContain('DBClusterResourceId');
    expect(resources).not.toContain('*');
  });
});

describe('prod: replica auto scaling', () => {
  it('scales rds:cluster:ReadReplicaCount between the configured bounds after the cluster exists', () => {
    const targets = resourcesOfType(template(), 'AWS::ApplicationAutoScaling::ScalableTarget');
    const [targetId, target] = Object.entries(targets)[0];
    expect(Object.keys(targets)).toHaveLength(1);
    expect(target.Properties).toMatchObject({
      ServiceNamespace: 'rds',
      ScalableDimension: 'rds:cluster:ReadReplicaCount',
      MinCapacity: config.replicaAutoScaling.minReaders,
      MaxCapacity: config.replicaAutoScaling.maxReaders,
      ResourceId: { 'Fn::Join': ['', ['cluster:', { Ref: id(synth.stack.database.cluster) }]] },
    });
    expect(target.Properties!.RoleARN).toContain('AWSServiceRoleForApplicationAutoScaling_RDSCluster');
    const instances = Object.keys(resourcesOfType(template(), 'AWS::RDS::DBInstance'));
    expect(target.DependsOn).toEqual(expect.arrayContaining([id(synth.stack.database.cluster), ...instances]));

    const policies = Object.values(resourcesOfType(template(), 'AWS::ApplicationAutoScaling::ScalingPolicy')).map((p) => p.Properties!);
    const byMetric = Object.fromEntries(
      policies.map((p) => [p.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType, p]),
    );
    expect(byMetric.RDSReaderAverageCPUUtilization.TargetTrackingScalingPolicyConfiguration.TargetValue).toBe(config.replicaAutoScaling.targetReaderCpuPercent);
    expect(byMetric.RDSReaderAverageDatabaseConnections.TargetTrackingScalingPolicyConfiguration.TargetValue).toBe(
      config.replicaAutoScaling.targetReaderConnections,
    );
    for (const policy of policies) expect(policy.ScalingTargetId).toEqual({ Ref: targetId });
  });
});

describe('prod: maintenance functions', () => {
  it.each(TASK_NAMES)('%s: own function, schedule, retry policy, log group and environment contract', (task) => {
    const settings = config.maintenance.tasks[task];
    const { function: fn, rule, logGroup } = synth.stack.maintenance.tasks[task];
    const functionId = id(fn);
    const resource = template().toJSON().Resources[functionId];
    expect(resource.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      Timeout: settings.timeout.toSeconds(),
      MemorySize: settings.memoryMb,
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [id(synth.stack.maintenance.deadLetterQueue), 'Arn'] } },
      LoggingConfig: { LogGroup: { Ref: id(logGroup) } },
      VpcConfig: { SecurityGroupIds: [{ 'Fn::GetAtt': [id(synth.stack.maintenance.securityGroup), 'GroupId'] }] },
      Environment: {
        Variables: {
          DBOPS_ENV: 'prod',
          DBOPS_DRIVER: 'pg',
          DB_HOST: { 'Fn::GetAtt': [id(synth.stack.proxy.proxy), 'Endpoint'] },
          DB_PORT: '5432',
          DB_NAME: 'platform',
          DB_USER: MAINTENANCE_DB_USER,
          DB_IAM_AUTH: 'true',
          DB_CLUSTER_ARN: { 'Fn::Join': ['', [expect.stringContaining(':cluster:'), { Ref: id(synth.stack.database.cluster) }]] },
          METRICS_NAMESPACE: METRIC_NAMESPACE,
          PARTITION_RETENTION_MONTHS: String(config.maintenance.partitionRetentionMonths),
          DBOPS_LOCK_TIMEOUT_MS: String(config.maintenance.lockTimeoutMs),
          DBOPS_TIME_BUDGET_MS: String(taskTimeBudgetMs(settings)),
        },
      },
    });
    expect(resource.Properties.Environment.Variables.DB_SECRET_ARN).toBeUndefined(); // IAM auth: no secret in pg mode
    // Only the per-server tasks discover the cluster's instances.
    expect(resource.Properties.Environment.Variables.DB_CLUSTER_IDENTIFIER).toEqual(PER_INSTANCE_TASKS.includes(task) ? { Ref: id(synth.stack.database.cluster) } : undefined);
    expect(Number(resource.Properties.Environment.Variables.DBOPS_TIME_BUDGET_MS)).toBeLessThan(settings.timeout.toMilliseconds());

    template().hasResourceProperties('AWS::Logs::LogGroup', Match.objectLike({ RetentionInDays: 365 }));
    expect(template().toJSON().Resources[id(logGroup)].Properties.RetentionInDays).toBe(365);

    const ruleProps = template().toJSON().Resources[id(rule)].Properties;
    expect(ruleProps.ScheduleExpression).toBe(settings.schedule);
    expect(ruleProps.Targets).toHaveLength(1);
    // long-query-check also carries the threshold its alarm watches (see stack-environments.test.ts).
    expect(JSON.parse(ruleProps.Targets[0].Input)).toEqual(task === 'long-query-check' ? { task, thresholdSeconds: config.alarms.longQuerySeconds } : { task });
    expect(ruleProps.Targets[0].Arn).toEqual({ 'Fn::GetAtt': [functionId, 'Arn'] });
    expect(ruleProps.Targets[0].RetryPolicy).toEqual({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: settings.maxEventAge.toSeconds() });
    expect(ruleProps.Targets[0].DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [id(synth.stack.maintenance.deadLetterQueue), 'Arn'] } });
    expect(template().toJSON().Resources[id(rule)].DependsOn).toContain(id(synth.stack.migration.resource));

    template().hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionId },
      MaximumRetryAttempts: settings.retryAttempts,
      MaximumEventAgeInSeconds: settings.maxEventAge.toSeconds(),
    });
  });

  it('lets the functions out only to the proxy, the cluster\'s instances and the VPC endpoints', () => {
    const sgId = id(synth.stack.maintenance.securityGroup);
    const group = template().toJSON().Resources[sgId].Properties;
    const inline = group.SecurityGroupEgress ?? [];
    const separate = Object.values(resourcesOfType(template(), 'AWS::EC2::SecurityGroupEgress'))
      .map((r) => r.Properties!)
      .filter((p) => json(p.GroupId).includes(sgId));
    const egress = [...inline, ...separate];
    expect(egress.some((rule: Record<string, unknown>) => rule.CidrIp === '0.0.0.0/0')).toBe(false);
    expect(egress).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ CidrIp: config.vpcCidr, FromPort: 443, ToPort: 443 }),
        expect.objectContaining({ DestinationSecurityGroupId: { 'Fn::GetAtt': [id(synth.stack.proxy.securityGroup), 'GroupId'] }, FromPort: 5432 }),
        expect.objectContaining({ DestinationSecurityGroupId: { 'Fn::GetAtt': [id(synth.stack.database.securityGroup), 'GroupId'] }, FromPort: 5432, ToPort: 5432 }),
      ]),
    );
    expect(egress).toHaveLength(3);
  });

  it('grants the shared role only what the tasks need', () => {
    const roleId = id(synth.stack.maintenance.role);
    const policy = Object.values(resourcesOfType(template(), 'AWS::IAM::Policy')).find((p) => json(p.Properties!.Roles) === json([{ Ref: roleId }]));
    const statements: Record<string, any>[] = policy!.Properties!.PolicyDocument.Statement;
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions).not.toContain('secretsmanager:GetSecretValue');
    expect(actions.some((a) => a.startsWith('rds-data:'))).toBe(false);

    const metrics = statements.find((s) => s.Action === 'cloudwatch:PutMetricData')!;
    expect(metrics.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'AuroraDbops' } });

    const connect = statements.find((s) => s.Action === 'rds-db:connect')!;
    const connectArn = json(connect.Resource);
    expect(connectArn).toContain(':dbuser:');
    expect(connectArn).toContain(`/${MAINTENANCE_DB_USER}`);
    expect(connectArn).toContain(id(synth.stack.proxy.proxy)); // the proxy's resource id, not a wildcard
    // The per-instance checks log in to each instance endpoint: the cluster's resource id, same user.
    expect(connectArn).toContain('ClusterResourceId');

    // Instance discovery: read-only, the cluster by ARN, instances of this account and region.
    expect(statements.find((s) => s.Action === 'rds:DescribeDBClusters')!.Resource).toEqual(expect.objectContaining({ 'Fn::Join': expect.anything() }));
    expect(json(statements.find((s) => s.Action === 'rds:DescribeDBClusters')!.Resource)).toContain(id(synth.stack.database.cluster));
    expect(json(statements.find((s) => s.Action === 'rds:DescribeDBInstances')!.Resource)).toMatch(/:rds:.*:db:\*/);
    expect(actions.filter((a) => a.startsWith('rds:')).sort()).toEqual(['rds:DescribeDBClusters', 'rds:DescribeDBInstances']);

    // Writes to the eight task log groups, by ARN, and nowhere else.
    const logs = statements.filter((s) => [s.Action].flat().includes('logs:PutLogEvents'));
    const logResources = logs.flatMap((s) => [s.Resource].flat());
    expect(logResources.map((r) => r['Fn::GetAtt'][0]).sort()).toEqual(TASK_NAMES.map((task) => id(synth.stack.maintenance.tasks[task].logGroup)).sort());
  });

  it('keeps the dead-letter queue encrypted and TLS-only', () => {
    template().hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    template().hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });
});

describe('prod: deploy-time schema migration', () => {
  it('runs the migration handler with the bundled SQL, TLS and the cluster secret, keyed by a hash of the migrations', () => {
    const fnId = id(synth.stack.migration.function);
    const fn = template().toJSON().Resources[fnId].Properties;
    expect(fn.Runtime).toBe('nodejs24.x');
    expect(fn.Environment.Variables).toMatchObject({
      DBOPS_MIGRATIONS_DIR: '/var/task/migrations',
      DB_SSLMODE: 'verify-full',
      DB_SECRET_ARN: { Ref: expect.stringMatching(/SecretAttachment/) },
      DB_HOST: { 'Fn::GetAtt': [id(synth.stack.database.cluster), 'Endpoint.Address'] },
    });
    const [crId, cr] = Object.entries(resourcesOfType(template(), 'Custom::DbopsSchemaMigrations'))[0];
    expect(cr.Properties!.MigrationsHash).toBe(migrationsHash());
    expect(cr.Properties!.MigrationsHash).toMatch(/^[0-9a-f]{64}$/);
    expect(cr.DependsOn).toEqual(expect.arrayContaining([id(synth.stack.database.cluster), ...Object.keys(resourcesOfType(template(), 'AWS::RDS::DBInstance'))]));
    expect(crId).toMatch(/^SchemaMigration/);
  });

  it('copies sql/migrations into the function package', () => {
    const { readdirSync, existsSync } = jest.requireActual<typeof import('node:fs')>('node:fs');
    const path = jest.requireActual<typeof import('node:path')>('node:path');
    const fn = template().toJSON().Resources[id(synth.stack.migration.function)].Properties;
    const assetHash = String(fn.Code.S3Key).replace(/\.zip$/, '');
    const assetDir = path.join(synth.app.outdir, `asset.${assetHash}`);
    expect(existsSync(path.join(assetDir, 'index.js'))).toBe(true);
    const bundled = readdirSync(path.join(assetDir, 'migrations')).filter((name) => name.endsWith('.sql')).sort();
    const source = readdirSync(path.join(__dirname, '..', '..', 'sql', 'migrations')).filter((name) => name.endsWith('.sql')).sort();
    expect(bundled).toEqual(source);
    expect(bundled.length).toBeGreaterThan(0);
  });
});

describe('prod: alarms', () => {
  const env = [{ Name: 'Environment', Value: 'prod' }];

  it('notify an encrypted topic with the configured e-mail', () => {
    template().hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template().hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: config.alarms.email });
    const alarms = Object.values(alarmsByName(template()));
    const topicId = id(synth.stack.alarms.topic);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
  });

  // Thresholds are read from the config (the one place to change them); config.test.ts pins prod's to the spec.
  it('cover the spec thresholds', () => {
    const alarms = alarmsByName(template());
    const pool = alarms['dbops-prod-ProxyPoolUtilization'];
    expect(pool).toMatchObject({ Threshold: config.alarms.poolUtilizationPercent, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
    const expression = pool.Metrics.find((m: any) => m.Expression);
    expect(expression.Expression).toContain('used / allowed');
    const used = pool.Metrics.find((m: any) => m.Id === 'used').MetricStat.Metric;
    expect(used).toMatchObject({ Namespace: 'AWS/RDS', MetricName: 'DatabaseConnections', Dimensions: [{ Name: 'ProxyName', Value: 'dbops-prod-proxy' }] });
    expect(pool.Metrics.find((m: any) => m.Id === 'allowed').MetricStat.Metric.MetricName).toBe('MaxDatabaseConnectionsAllowed');

    // The spec's own pool: every application pool, under the NODE_ENV the application library stamps.
    const appPool = alarms['dbops-prod-ApplicationPoolUtilization'];
    expect(appPool).toMatchObject({ Threshold: config.alarms.poolUtilizationPercent, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
    expect(appPool.Metrics).toHaveLength(1);
    expect(appPool.Metrics[0]).toMatchObject({
      Expression: "SELECT MAX(PoolUtilization) FROM SCHEMA(AuroraDbops, Environment, Pool) WHERE Environment = 'production' OR Environment = 'prod'",
      Period: 60,
      ReturnData: true,
    });
    expect(alarms['dbops-prod-ConnectionUtilization']).toMatchObject({ MetricName: 'ConnectionUtilization', Namespace: 'AuroraDbops', Threshold: config.alarms.poolUtilizationPercent, Dimensions: env });
    expect(alarms['dbops-prod-SlowestStatementMeanTime']).toMatchObject({ MetricName: 'SlowestStatementMeanTime', Threshold: config.alarms.queryTimeMs, ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarms['dbops-prod-ProxyQueryResponseLatency']).toMatchObject({ MetricName: 'QueryDatabaseResponseLatency', Threshold: config.alarms.queryTimeMs * 1000 }); // microseconds
    expect(alarms['dbops-prod-CacheHitRatio']).toMatchObject({ MetricName: 'CacheHitRatio', Threshold: config.alarms.cacheHitRatioPercent, ComparisonOperator: 'LessThanThreshold' });
    expect(alarms['dbops-prod-DeadTuplePercent']).toMatchObject({ MetricName: 'MaxDeadTuplePercent', Threshold: config.alarms.deadTuplePercent, ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarms['dbops-prod-LongRunningQuery']).toMatchObject({ MetricName: 'LongestQueryDuration', Threshold: config.alarms.longQuerySeconds, Period: 60 });
  });

  it('cover the cluster, the schema health and the tasks', () => {
    const alarms = alarmsByName(template());
    const cluster = [{ Name: 'DBClusterIdentifier', Value: { Ref: id(synth.stack.database.cluster) } }];
    // The writer alone: the cluster-wide series would average it with idle readers.
    expect(alarms['dbops-prod-WriterCpu']).toMatchObject({ Namespace: 'AWS/RDS', MetricName: 'CPUUtilization', Threshold: config.alarms.cpuPercent, TreatMissingData: 'missing' });
    expect(alarms['dbops-prod-WriterCpu'].Dimensions).toEqual(expect.arrayContaining([...cluster, { Name: 'Role', Value: 'WRITER' }]));
    expect(alarms['dbops-prod-WriterCpu'].Dimensions).toHaveLength(2);
    expect(alarms['dbops-prod-FreeableMemory']).toMatchObject({ MetricName: 'FreeableMemory', ComparisonOperator: 'LessThanThreshold' });
    expect(alarms['dbops-prod-AuroraReplicaLag']).toMatchObject({ MetricName: 'AuroraReplicaLagMaximum', Dimensions: cluster, Threshold: config.alarms.replicaLagMs });
    expect(alarms['dbops-prod-ReplicaLag']).toMatchObject({ MetricName: 'ReplicaLagMaximum', Namespace: 'AuroraDbops' });
    expect(alarms['dbops-prod-VolumeBytesUsed']).toMatchObject({ MetricName: 'VolumeBytesUsed' });
    expect(alarms['dbops-prod-FreeLocalStorage']).toMatchObject({ MetricName: 'FreeLocalStorage', ComparisonOperator: 'LessThanThreshold' });
    expect(alarms['dbops-prod-MaterializedViewStaleness']).toMatchObject({ MetricName: 'MaxMaterializedViewStaleness', Threshold: config.alarms.materializedViewStalenessSeconds });
    expect(alarms['dbops-prod-PartitionHeadroom']).toMatchObject({ MetricName: 'MinPartitionHeadroomMonths', Threshold: config.alarms.partitionHeadroomMonths, ComparisonOperator: 'LessThanThreshold' });
    expect(alarms['dbops-prod-DefaultPartitionRows']).toMatchObject({ MetricName: 'TotalDefaultPartitionRows', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarms['dbops-prod-TransactionIdAge']).toMatchObject({ MetricName: 'TransactionIdAge', Threshold: config.alarms.transactionIdAge });
    // The publishing queue (release-stuck-claims): spec 31.2's 99.9%, the lag, stuck claims and retries.
    expect(alarms['dbops-prod-PublishSuccessRate']).toMatchObject({ MetricName: 'PublishSuccessRate', Threshold: config.alarms.publishSuccessPercent, ComparisonOperator: 'LessThanThreshold', Period: 60 });
    expect(alarms['dbops-prod-PublishQueueLag']).toMatchObject({ MetricName: 'PublishQueueLagSeconds', Threshold: config.alarms.publishQueueLagSeconds, ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarms['dbops-prod-StuckClaims']).toMatchObject({ MetricName: 'StuckClaims', Statistic: 'Sum', Period: 900 });
    expect(alarms['dbops-prod-PublishRetryBacklog']).toMatchObject({ MetricName: 'PublishRetryBacklog' });
    expect(alarms['dbops-prod-ReleaseStuckClaimsHeartbeat']).toMatchObject({ MetricName: 'TaskSuccess', Dimensions: [...env, { Name: 'Task', Value: 'release-stuck-claims' }], TreatMissingData: 'breaching' });
    expect(alarms['dbops-prod-DeadLetterQueueDepth']).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1 });

    for (const task of TASK_NAMES) {
      const name = task.split('-').map((p) => p[0].toUpperCase() + p.slice(1)).join('');
      expect(alarms[`dbops-prod-${name}Failures`]).toMatchObject({
        MetricName: 'TaskFailure',
        Dimensions: [...env, { Name: 'Task', Value: task }],
        TreatMissingData: 'notBreaching',
      });
      expect(alarms[`dbops-prod-${name}LambdaErrors`]).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(synth.stack.maintenance.tasks[task].function) } }],
      });
    }
  });

  it('treat missing heartbeat data as breaching and missing failure counts as not breaching', () => {
    const alarms = alarmsByName(template());
    expect(alarms['dbops-prod-HealthCheckHeartbeat']).toMatchObject({
      MetricName: 'TaskSuccess',
      Dimensions: [...env, { Name: 'Task', Value: 'health-check' }],
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    expect(alarms['dbops-prod-LongQueryCheckHeartbeat']).toMatchObject({ TreatMissingData: 'breaching' });
    for (const alarm of Object.values(alarms)) expect(['breaching', 'notBreaching', 'missing']).toContain(alarm.TreatMissingData);
  });

  it('read custom metrics only as the catalog defines them', () => {
    // A name may be catalogued cluster-wide and per instance; the alarms read the cluster-wide series.
    const catalog = new Map<string, readonly string[]>(
      Object.values(METRICS)
        .filter((m) => !(m.dimensions as readonly string[]).includes('DBInstanceIdentifier'))
        .map((m) => [m.name, m.dimensions]),
    );
    const custom = Object.values(alarmsByName(template())).filter((a) => a.Namespace === METRIC_NAMESPACE);
    expect(custom.length).toBeGreaterThan(15);
    for (const alarm of custom) {
      expect(catalog.has(alarm.MetricName)).toBe(true);
      expect(alarm.Dimensions.map((d: { Name: string }) => d.Name)).toEqual(catalog.get(alarm.MetricName));
      expect(alarm.Dimensions[0]).toEqual({ Name: 'Environment', Value: 'prod' });
    }
  });
});

describe('prod: dashboard', () => {
  it('shows every key metric of the spec next to the AWS metrics', () => {
    const dashboards = Object.values(resourcesOfType(template(), 'AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = json(dashboards[0].Properties!.DashboardBody);
    const required = [
      // Connection pool utilization
      'MaxDatabaseConnectionsAllowed', 'ConnectionUtilization', 'PoolUtilization',
      // Query execution time p50/p95/p99
      'QueryDuration', "'p50'", "'p95'", "'p99'", 'SlowestStatementMeanTime', 'QueryDatabaseResponseLatency',
      // Cache hit ratio
      'CacheHitRatio', 'IndexCacheHitRatio', 'BufferCacheHitRatio',
      // Table bloat
      'MaxDeadTuplePercent', 'DeadTuplePercent', 'EstimatedTableBloatBytes',
      // Index usage
      'UnusedIndexCount', 'InvalidIndexCount',
      // Materialized view freshness
      'MaterializedViewStaleness', 'MaterializedViewRefreshDuration',
      // Partition count and size
      'PartitionCount', 'PartitionedTableSizeBytes', 'PartitionHeadroomMonths', 'DefaultPartitionRows',
      // Publishing queue (spec 31.2)
      'PublishSuccessRate', 'PublishTargetSuccessRate', 'PublishQueueLagSeconds', 'PublishQueueDuePosts', 'StuckClaims', 'AbandonedPosts', 'PublishRetryBacklog',
      // AWS
      'CPUUtilization', 'FreeableMemory', 'AuroraReplicaLagMaximum', 'VolumeBytesUsed', 'FreeLocalStorage',
      'TaskFailure', 'TaskDuration',
    ];
    for (const item of required) expect(body).toContain(item);
    for (const view of MANAGED_MATERIALIZED_VIEWS) expect(body).toContain(view);
    for (const table of MANAGED_PARTITIONED_TABLES) expect(body).toContain(table);
    expect(body).toMatch(/SEARCH\(.*Environment=\\+"prod\\+"/); // SEARCH scoped to the environment
  });

  it('searches application-library metrics under the NODE_ENV the application stamps as Environment', () => {
    const body = json(Object.values(resourcesOfType(template(), 'AWS::CloudWatch::Dashboard'))[0].Properties!.DashboardBody);
    const searches = (metric: string) => body.match(new RegExp(`SEARCH\\(.{0,200}?MetricName=\\\\+"${metric}\\\\+".{0,120}?\\)`, 'g')) ?? [];
    expect(config.applicationEnvironment).toBe('production');
    for (const metric of ['PoolUtilization', 'QueryDuration', 'SlowQueryCount']) {
      const found = searches(metric);
      expect(found.length).toBeGreaterThan(0);
      for (const search of found) expect(search).toMatch(/Environment=\\+"production\\+"/);
    }
    // The maintenance tasks' own per-table series stay under the stack's envName.
    for (const search of searches('DeadTuplePercent')) {
      expect(search).toMatch(/Environment=\\+"prod\\+"/);
      expect(search).not.toContain('production');
    }
    expect(searches('DeadTuplePercent').length).toBeGreaterThan(0);
  });
});
