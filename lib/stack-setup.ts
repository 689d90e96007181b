import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { EnvironmentConfig, environmentConfig } from './config/environments';
import { DbopsStack } from './dbops-stack';

/** Adds the stack of one environment; `envName` is validated (unknown names throw UnknownEnvironmentError). */
export function addDbopsStack(app: App, envName: unknown, overrides: Partial<EnvironmentConfig> = {}): DbopsStack {
  const config = environmentConfig(envName, overrides);
  return new DbopsStack(app, `Dbops-${config.envName}`, { config });
}

/** cdk-nag: any unacknowledged AwsSolutions or Serverless finding makes synth fail. */
export function applyNagPacks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
}
