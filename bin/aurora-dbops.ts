#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { addDbopsStack, applyPolicyChecks } from '../lib/stack-setup';
import { UnknownEnvironmentError } from '../lib/config/environments';

// npx cdk synth -c env=dev|staging|prod   (dev when omitted)
const app = new App();
try {
  addDbopsStack(app, app.node.tryGetContext('env') ?? 'dev');
} catch (error) {
  if (error instanceof UnknownEnvironmentError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
applyPolicyChecks(app);
app.synth();
