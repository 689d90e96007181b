import path from 'node:path';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';

/** Repository root: entries, the lock file and sql/migrations are resolved from here. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * Left out of every bundle:
 * - `@aws-sdk/client-*`: the Node.js runtimes include the AWS SDK for JavaScript v3 ("Building
 *   Lambda functions with Node.js", Runtime-included SDK versions), which is its clients.
 * - `@aws-sdk/credential-provider-node`: loaded only where the credentials are not in the
 *   environment (lambdas/db/iam-auth-token.ts); Lambda always sets AWS_ACCESS_KEY_ID,
 *   AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN for the execution role ("Defined runtime
 *   environment variables"), so a function never loads it. Every SDK client depends on it anyway.
 * - `pg-native`: pg's optional native binding, never used.
 * Nothing else of the SDK or Smithy is imported, so no bundled copy mixes with the runtime's.
 */
const EXTERNAL_MODULES = ['@aws-sdk/client-*', '@aws-sdk/credential-provider-node', 'pg-native'];

/** Shared esbuild settings; benchmark section 6 measures the bundles that `cdk synth` builds with them. */
export function bundlingOptions(extra: Partial<nodejs.BundlingOptions> = {}): nodejs.BundlingOptions {
  return {
    minify: true,
    sourceMap: true,
    target: 'node24',
    format: nodejs.OutputFormat.CJS,
    externalModules: EXTERNAL_MODULES,
    ...extra,
  };
}

/** Function settings every dbops Lambda shares. */
export function functionDefaults(): Pick<
  nodejs.NodejsFunctionProps,
  'runtime' | 'architecture' | 'depsLockFilePath' | 'projectRoot' | 'loggingFormat'
> & { environment: Record<string, string> } {
  return {
    runtime: LAMBDA_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
    loggingFormat: lambda.LoggingFormat.JSON,
    environment: {
      NODE_OPTIONS: '--enable-source-maps',
      // Node 20+ runtimes no longer trust the Amazon RDS CAs unless told to; TLS to the proxy and
      // the cluster is verified against this bundle.
      NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
    },
  };
}

/** What a function in a VPC needs to manage its network interfaces; EC2 offers no resource scoping for these. */
export function vpcNetworkInterfaceStatement(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'VpcNetworkInterfaces',
    actions: [
      'ec2:CreateNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:DeleteNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:UnassignPrivateIpAddresses',
    ],
    resources: ['*'],
  });
}
