import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { ENVIRONMENT_NAMES, EnvironmentName, environmentConfig } from '../../lib/config/environments';
import { Synthesized, resourcesOfType, synthesize } from './synth';

/**
 * What a real `cdk deploy` would do, checked on the synthesized templates of every environment:
 * alarm notifications can be delivered, proxy metrics are addressed by the name RDS stores, no tag
 * lands on a type whose schema has none, and the AWS Control Tower proactive controls find nothing.
 */
const synths = {} as Record<EnvironmentName, Synthesized>;

beforeAll(() => {
  for (const envName of ENVIRONMENT_NAMES) synths[envName] = synthesize(envName);
});

const resources = (envName: EnvironmentName, type: string) => Object.entries(resourcesOfType(synths[envName].template, type));
const statementsOf = (document: { Statement: Record<string, any>[] }) => document.Statement;

describe.each(ENVIRONMENT_NAMES)('%s', (envName) => {
  const config = environmentConfig(envName);
  const alarmArns = `arn:aws:cloudwatch:${config.region}:${config.account}:alarm:dbops-${envName}-*`;
  const scoped = { StringEquals: { 'aws:SourceAccount': config.account }, ArnLike: { 'aws:SourceArn': alarmArns } };

  it('lets CloudWatch publish to the alarm topic, only for this environment\'s alarms', () => {
    const policies = resources(envName, 'AWS::SNS::TopicPolicy');
    expect(policies).toHaveLength(1);
    const statements = statementsOf(policies[0][1].Properties!.PolicyDocument);
    const allow = statements.filter((s) => s.Effect === 'Allow');
    expect(allow).toEqual([
      expect.objectContaining({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish', Condition: scoped }),
    ]);
    // The TLS-only Deny stays.
    expect(statements.some((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false')).toBe(true);
    // Every alarm is named under the prefix the condition admits.
    for (const [, alarm] of resources(envName, 'AWS::CloudWatch::Alarm')) {
      expect(alarm.Properties!.AlarmName.startsWith(`dbops-${envName}-`)).toBe(true);
      expect(alarm.Properties!.AlarmActions).toHaveLength(1);
    }
  });

  it('scopes the topic key\'s CloudWatch grant by the same conditions', () => {
    const topic = resources(envName, 'AWS::SNS::Topic')[0][1].Properties!;
    const keyId = topic.KmsMasterKeyId['Fn::GetAtt'][0];
    const key = synths[envName].template.toJSON().Resources[keyId];
    const cloudwatch = statementsOf(key.Properties.KeyPolicy).filter((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(cloudwatch).toEqual([expect.objectContaining({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Condition: scoped })]);
  });

  it('names the proxy in lower case, and every ProxyName dimension carries that literal name', () => {
    const proxies = resources(envName, 'AWS::RDS::DBProxy');
    expect(proxies).toHaveLength(1);
    const name = proxies[0][1].Properties!.DBProxyName;
    expect(name).toBe(`dbops-${envName}-proxy`);
    const text = JSON.stringify(synths[envName].template.toJSON());
    const dimensions = [...text.matchAll(/\{"Name":"ProxyName","Value":(.*?)\}/g)].map((m) => m[1]);
    const dashboardDimensions = [...text.matchAll(/\\"ProxyName\\",(.*?)[,\]]/g)].map((m) => m[1]);
    expect(dimensions.length).toBeGreaterThanOrEqual(3); // pool utilization (2 metrics) and response latency
    expect(new Set(dimensions)).toEqual(new Set([JSON.stringify(name)]));
    expect(dashboardDimensions.length).toBeGreaterThan(0);
    for (const value of dashboardDimensions) expect(value).toBe(`\\"${name}\\"`);
  });

  it('puts no tags on the proxy target group or the scalable target, and keeps them on the rest', () => {
    for (const type of ['AWS::RDS::DBProxyTargetGroup', 'AWS::ApplicationAutoScaling::ScalableTarget']) {
      const found = resources(envName, type);
      expect(found).toHaveLength(1);
      expect(found[0][1].Properties!.Tags).toBeUndefined();
    }
    const cluster = resources(envName, 'AWS::RDS::DBCluster')[0][1].Properties!;
    expect(cluster.Tags).toEqual(expect.arrayContaining([{ Key: 'environment', Value: envName }, { Key: 'project', Value: 'aurora-dbops' }]));
  });

  it('passes every AWS Control Tower proactive control, with the one listed exception', () => {
    // The rules straight on the synthesized template: acknowledgements do not apply here.
    const { app, stack } = synths[envName];
    const direct = new CfnGuardValidator({ controlTowerRulesEnabled: true }).validate({ appConstruct: app, templatePaths: [path.join(app.outdir, stack.templateFile)] });
    const found = direct.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.resourceLogicalId}`));
    const clusterId = stack.getLogicalId(stack.database.cluster.node.defaultChild as never);
    // Only dev's cluster runs without deletion protection, on purpose (README "Control Tower").
    const exception = `rds_cluster_deletion_protection_enabled_check @ ${clusterId}`;
    expect(found).toEqual(envName === 'dev' ? [exception] : []);

    // The same plugin runs on every synth; the exception is acknowledged on that one resource.
    const report: { pluginReports: { pluginName: string; violations: unknown[]; suppressedViolations?: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[] } =
      JSON.parse(readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8'));
    const guard = report.pluginReports.filter((p) => p.pluginName === 'cdk-validator-cfnguard');
    const suppressed = guard.flatMap((p) => (p.suppressedViolations ?? []).flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} @ ${c.constructPath}`)));
    expect(guard.flatMap((p) => p.violations)).toEqual([]);
    expect(suppressed).toEqual(envName === 'dev' ? ['rds_cluster_deletion_protection_enabled_check @ Dbops-dev/Database/Cluster/Resource'] : []);
  });

  it('encrypts every log group with KMS, keeps it a year, and owns the exported postgresql log', () => {
    const groups = resources(envName, 'AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(12);
    for (const [, group] of groups) {
      expect(group.Properties!.KmsKeyId).toBeDefined();
      expect(group.Properties!.RetentionInDays).toBeGreaterThanOrEqual(365);
    }
    const cluster = resources(envName, 'AWS::RDS::DBCluster')[0];
    expect(cluster[1].Properties!.DBClusterIdentifier).toBe(`dbops-${envName}`);
    const postgresql = groups.find(([, g]) => g.Properties!.LogGroupName === `/aws/rds/cluster/dbops-${envName}/postgresql`);
    expect(postgresql).toBeDefined();
    // Created before the cluster, or RDS would create it first (unencrypted, kept forever).
    expect(cluster[1].DependsOn).toContain(postgresql![0]);
    expect(resources(envName, 'Custom::LogRetention')).toEqual([]);
  });

  it('runs every Lambda function inside the VPC', () => {
    const functions = resources(envName, 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(10);
    for (const [logical, fn] of functions) {
      expect([logical, fn.Properties!.VpcConfig?.SubnetIds?.length ?? 0]).toEqual([logical, config.availabilityZones.length]);
      expect(fn.Properties!.VpcConfig.SecurityGroupIds).toHaveLength(1);
    }
  });

  it('lets only AWS services create grants on any key', () => {
    for (const [, key] of resources(envName, 'AWS::KMS::Key')) {
      expect(statementsOf(key.Properties!.KeyPolicy)).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 'kms:CreateGrant',
          Principal: { AWS: '*' },
          Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
        }),
      );
    }
  });

  it('alarms on the fullest sequence above 80% and publishes it from health-check', () => {
    const alarm = Object.values(resourcesOfType(synths[envName].template, 'AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties!)
      .find((a) => a.AlarmName === `dbops-${envName}-SequenceNearOverflow`);
    expect(alarm).toMatchObject({ MetricName: 'MaxSequenceUsedPercent', Namespace: 'AuroraDbops', Threshold: 80, ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarm!.Dimensions).toEqual([{ Name: 'Environment', Value: envName }]);
  });

  it('declares the dead-letter queue as one', () => {
    const queues = resources(envName, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(1);
    expect(queues[0][1].Properties!.RedriveAllowPolicy).toEqual({ redrivePermission: 'allowAll' });
  });
});

describe('the Control Tower plugin', () => {
  it('fails synthesis on a finding nobody acknowledged', () => {
    const app = new App();
    const stack = new Stack(app, 'Bad');
    new logs.LogGroup(stack, 'Plain', { retention: logs.RetentionDays.ONE_YEAR });
    Validations.of(app).addPlugins(new CfnGuardValidator({ controlTowerRulesEnabled: true }));
    expect(() => app.synth()).toThrow(/CT\.CLOUDWATCH\.PR\.3/);
  });
});
