import { environmentConfig } from '../../lib/config/environments';
import { TASK_NAMES } from '../../lambdas/tasks/task-names';
import { MAINTENANCE_DB_USER } from '../../lib/config/managed-objects';
import { Synthesized, alarmsByName, logicalId, resourcesOfType, synthesize } from './synth';

/**
 * What differs between environments: dev is small and disposable, staging is protected and
 * snapshotted, and the Data API driver swaps IAM-through-the-proxy for a secret and rds-data.
 * Each is synthesized once, with both nag packs.
 */
let dev: Synthesized;
let staging: Synthesized;
let dataApi: Synthesized;

beforeAll(() => {
  dev = synthesize('dev');
  staging = synthesize('staging');
  const base = environmentConfig('dev');
  dataApi = synthesize('dev', { database: { ...base.database, driver: 'data-api' } });
});

const clusterOf = (s: Synthesized) => Object.values(resourcesOfType(s.template, 'AWS::RDS::DBCluster'))[0];
const instancesOf = (s: Synthesized) => Object.values(resourcesOfType(s.template, 'AWS::RDS::DBInstance')).map((r) => r.Properties!);

describe('dev', () => {
  it('spans two zones with one reader, 7-day backups, no deletion protection, destroyed with the stack', () => {
    const subnets = Object.values(resourcesOfType(dev.template, 'AWS::EC2::Subnet'));
    expect(subnets).toHaveLength(4);
    expect(new Set(subnets.map((s) => s.Properties!.AvailabilityZone))).toEqual(new Set(['eu-west-1a', 'eu-west-1b']));
    const instances = instancesOf(dev);
    expect(instances).toHaveLength(2);
    expect(new Set(instances.map((i) => i.AvailabilityZone)).size).toBe(2);
    expect(instances.every((i) => i.DBInstanceClass === 'db.t4g.medium' && i.MonitoringInterval === 60)).toBe(true);
    const cluster = clusterOf(dev);
    expect(cluster.Properties).toMatchObject({ BackupRetentionPeriod: 7, DeletionProtection: false, DatabaseInsightsMode: 'standard', EnableHttpEndpoint: false });
    expect(cluster.DeletionPolicy).toBe('Delete');
  });

  it('auto-scales between one and two readers and keeps logs a year (Control Tower CT.CLOUDWATCH.PR.2)', () => {
    const target = Object.values(resourcesOfType(dev.template, 'AWS::ApplicationAutoScaling::ScalableTarget'))[0].Properties!;
    expect(target).toMatchObject({ MinCapacity: 1, MaxCapacity: 2 });
    dev.template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/rds/cluster/dbops-dev/postgresql', RetentionInDays: 365 });
  });

  it('sends alarms to the dev address and scopes custom metrics to dev', () => {
    dev.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'dbops-dev@example.com' });
    const alarm = alarmsByName(dev.template)['dbops-dev-CacheHitRatio'];
    expect(alarm.Dimensions).toEqual([{ Name: 'Environment', Value: 'dev' }]);
  });

  it('is not termination-protected, unlike staging', () => {
    expect(dev.stack.terminationProtection).toBe(false);
    expect(staging.stack.terminationProtection).toBe(true);
  });
});

describe('staging', () => {
  it('is deletion-protected, snapshotted on removal, with 14-day backups and one reader', () => {
    const cluster = clusterOf(staging);
    expect(cluster.Properties).toMatchObject({ BackupRetentionPeriod: 14, DeletionProtection: true });
    expect(cluster.DeletionPolicy).toBe('Snapshot');
    expect(instancesOf(staging)).toHaveLength(2);
    const key = Object.values(resourcesOfType(staging.template, 'AWS::KMS::Key')).find((k) => String(k.Properties!.Description).includes('Aurora storage'));
    expect(key!.DeletionPolicy).toBe('Retain');
  });
});

describe('data-api driver', () => {
  it('enables the Data API and an rds-data endpoint', () => {
    expect(clusterOf(dataApi).Properties!.EnableHttpEndpoint).toBe(true);
    const services = Object.values(resourcesOfType(dataApi.template, 'AWS::EC2::VPCEndpoint')).map((e) => JSON.stringify(e.Properties!.ServiceName));
    expect(services.some((s) => s.includes('rds-data'))).toBe(true);
  });

  it('gives the maintenance user its own rotated secret, and the functions that secret and the Data API on this cluster only', () => {
    const secret = dataApi.stack.database.maintenanceSecret!;
    expect(secret).toBeDefined();
    dataApi.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { SecretStringTemplate: JSON.stringify({ username: MAINTENANCE_DB_USER, dbname: 'platform' }) },
    });
    expect(Object.keys(resourcesOfType(dataApi.template, 'AWS::SecretsManager::RotationSchedule'))).toHaveLength(2);

    const roleId = logicalId(dataApi.stack, dataApi.stack.maintenance.role);
    const policy = Object.values(resourcesOfType(dataApi.template, 'AWS::IAM::Policy')).find((p) => JSON.stringify(p.Properties!.Roles) === JSON.stringify([{ Ref: roleId }]));
    const statements: Record<string, any>[] = policy!.Properties!.PolicyDocument.Statement;
    const getSecret = statements.filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    expect(getSecret).toHaveLength(1);
    const secretRef = JSON.stringify(getSecret[0].Resource);
    expect(secretRef).toContain('MaintenanceSecret');
    expect(secretRef).not.toContain('ClusterSecret'); // never the master secret
    const dataApiStatement = statements.find((s) => [s.Action].flat().includes('rds-data:ExecuteStatement'))!;
    expect(JSON.stringify(dataApiStatement.Resource)).toContain(logicalId(dataApi.stack, dataApi.stack.database.cluster));
    expect(statements.some((s) => s.Action === 'rds-db:connect')).toBe(false);

    for (const task of TASK_NAMES) {
      const fn = dataApi.template.toJSON().Resources[logicalId(dataApi.stack, dataApi.stack.maintenance.tasks[task].function)].Properties;
      expect(fn.Environment.Variables).toMatchObject({ DBOPS_DRIVER: 'data-api', DB_IAM_AUTH: 'false', DB_SECRET_ARN: expect.anything(), DB_CLUSTER_ARN: expect.anything() });
    }
  });
});

describe('the long-query threshold', () => {
  const longQueryInput = (s: Synthesized) =>
    Object.values(resourcesOfType(s.template, 'AWS::Events::Rule'))
      .map((rule) => JSON.parse(rule.Properties!.Targets[0].Input))
      .find((input) => input.task === 'long-query-check');

  it('reaches long-query-check in its scheduled event and its alarm from one setting, so they cannot disagree', () => {
    const base = environmentConfig('dev');
    expect(longQueryInput(dev)).toEqual({ task: 'long-query-check', thresholdSeconds: base.alarms.longQuerySeconds });
    expect(alarmsByName(dev.template)['dbops-dev-LongRunningQuery'].Threshold).toBe(base.alarms.longQuerySeconds);

    const changed = synthesize('dev', { alarms: { ...base.alarms, longQuerySeconds: 45 } });
    expect(longQueryInput(changed)).toEqual({ task: 'long-query-check', thresholdSeconds: 45 });
    expect(alarmsByName(changed.template)['dbops-dev-LongRunningQuery'].Threshold).toBe(45);
  });
});
