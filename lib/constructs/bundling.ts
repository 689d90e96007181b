import path from 'node:path';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';

/** Repository root: entries, the lock file and sql/migrations are resolved from here. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * Shared esbuild settings. The SDK clients come from the runtime; @aws-sdk/rds-signer is a
 * utility the runtime does not promise to carry, so it is bundled (hence `client-*`, not `*`).
 * pg's optional native binding is never used.
 */
export function bundlingOptions(extra: Partial<nodejs.BundlingOptions> = {}): nodejs.BundlingOptions {
  return {
    minify: true,
    sourceMap: true,
    target: 'node24',
    format: nodejs.OutputFormat.CJS,
    externalModules: ['@aws-sdk/client-*', 'pg-native'],
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
