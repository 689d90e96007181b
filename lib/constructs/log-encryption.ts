import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { restrictGrantsToAwsServices } from './key-policy';

const KEY_ID = 'LogsKey';

/**
 * The one customer-managed key of every log group in the stack (Control Tower CT.CLOUDWATCH.PR.3).
 * The long-query check logs query text and the postgresql log holds statements, both of which can
 * carry user content. Created once per stack on first use.
 */
export function logsKey(scope: Construct): kms.Key {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(KEY_ID);
  if (existing) return existing as kms.Key;
  const key = new kms.Key(stack, KEY_ID, {
    description: `${stack.stackName}: CloudWatch Logs log groups`,
    enableKeyRotation: true,
    // Destroyed with the stack after the pending window; log groups are DESTROY too.
    removalPolicy: RemovalPolicy.DESTROY,
    pendingWindow: Duration.days(7),
  });
  // CloudWatch Logs encrypts for log groups of this account and region only.
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchLogsOfThisAccount',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
      },
    }),
  );
  restrictGrantsToAwsServices(key);
  return key;
}

/** A log group encrypted with the stack's logs key. */
export function encryptedLogGroup(scope: Construct, id: string, props: Omit<logs.LogGroupProps, 'encryptionKey'>): logs.LogGroup {
  return new logs.LogGroup(scope, id, { ...props, encryptionKey: logsKey(scope) });
}
