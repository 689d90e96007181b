import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { restrictGrantsToAwsServices } from './key-policy';

/** Every alarm of the environment is named with this prefix; the topic admits only their notifications. */
export function alarmNamePrefix(envName: string): string {
  return `dbops-${envName}-`;
}

/**
 * The KMS-encrypted, TLS-only alarm topic. `enforceSSL` writes a topic policy, and a topic policy
 * replaces the default one, so without an explicit Allow CloudWatch could not publish and no alarm
 * would ever be delivered. The Allow, and the key grant CloudWatch encrypts with, are scoped by
 * aws:SourceAccount and aws:SourceArn to this environment's alarms (confused-deputy protection).
 */
export function createAlarmTopic(scope: Construct, envName: string): { topic: sns.Topic; key: kms.Key } {
  const stack = Stack.of(scope);
  const alarmArns = stack.formatArn({
    service: 'cloudwatch',
    resource: 'alarm',
    resourceName: `${alarmNamePrefix(envName)}*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  const conditions = {
    StringEquals: { 'aws:SourceAccount': stack.account },
    ArnLike: { 'aws:SourceArn': alarmArns },
  };
  const cloudwatch = new iam.PrincipalWithConditions(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), conditions);

  const key = new kms.Key(scope, 'TopicKey', {
    description: `dbops ${envName}: alarm topic`,
    enableKeyRotation: true,
  });
  restrictGrantsToAwsServices(key);
  key.grant(cloudwatch, 'kms:Decrypt', 'kms:GenerateDataKey*');

  const topic = new sns.Topic(scope, 'Topic', { displayName: `dbops ${envName} alarms`, masterKey: key, enforceSSL: true });
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsOfThisEnvironment',
      principals: [cloudwatch],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
    }),
  );
  return { topic, key };
}
