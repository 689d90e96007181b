import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addDbopsStack, applyPolicyChecks } from '../../lib/stack-setup';
import { EnvironmentConfig, EnvironmentName } from '../../lib/config/environments';
import { DbopsStack } from '../../lib/dbops-stack';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The feature flags of cdk.json, so the tests synthesize exactly what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context;
}

export interface Synthesized {
  app: App;
  stack: DbopsStack;
  template: Template;
}

/** One synthesis with both nag packs applied; app.synth() throws on any unacknowledged finding. */
export function synthesize(envName: EnvironmentName, overrides: Partial<EnvironmentConfig> = {}): Synthesized {
  const app = new App({ context: cdkJsonContext() });
  const stack = addDbopsStack(app, envName, overrides);
  applyPolicyChecks(app);
  app.synth();
  return { app, stack, template: Template.fromStack(stack) };
}

type Resources = Record<string, { Type: string; Properties?: Record<string, any>; DependsOn?: string[]; DeletionPolicy?: string }>;

export function resourcesOfType(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

export function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

/** Alarms keyed by AlarmName. */
export function alarmsByName(template: Template): Record<string, Record<string, any>> {
  const out: Record<string, Record<string, any>> = {};
  for (const alarm of Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm'))) {
    out[alarm.Properties!.AlarmName] = alarm.Properties!;
  }
  return out;
}
