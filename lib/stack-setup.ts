import { App, Validations } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { EnvironmentConfig, environmentConfig } from './config/environments';
import { DbopsStack } from './dbops-stack';

/** Adds the stack of one environment; `envName` is validated (unknown names throw UnknownEnvironmentError). */
export function addDbopsStack(app: App, envName: unknown, overrides: Partial<EnvironmentConfig> = {}): DbopsStack {
  const config = environmentConfig(envName, overrides);
  return new DbopsStack(app, `Dbops-${config.envName}`, { config });
}

/**
 * Policy checks on every synth: cdk-nag's AwsSolutions and Serverless packs, and the AWS Control Tower
 * proactive controls (the AWS-written cfn-guard rules, run by a bundled cfn-guard binary, offline).
 * Any unacknowledged finding of any of them makes synth fail.
 */
export function applyPolicyChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app), new CfnGuardValidator({ controlTowerRulesEnabled: true }));
}
