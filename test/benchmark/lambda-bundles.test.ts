import path from 'node:path';
import { BUNDLE_CODE_GOAL_BYTES, BundlesResult, externalRequires, measureBundles } from '../../benchmark/sections/lambda-bundles';
import { TASK_NAMES } from '../../lambdas/tasks/types';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

describe('Lambda bundles as synthesized', () => {
  let result: BundlesResult;
  beforeAll(async () => {
    // No init runs: sizes only, tests never assert timings.
    result = await measureBundles(REPO_ROOT, 0);
  }, 120_000);

  it('one maintenance bundle for every task function, one for the migration custom resource', () => {
    expect(result.bundles.map((b) => b.handler)).toEqual(['maintenance-task', 'migrate-custom-resource']);
    expect(result.bundles[0].functions).toHaveLength(TASK_NAMES.length);
    expect(result.bundles[1].otherBytes).toBeGreaterThan(0); // the migrations ride along
  });

  it(`each function's code is at most ${BUNDLE_CODE_GOAL_BYTES} bytes, its source map counted apart`, () => {
    for (const bundle of result.bundles) {
      expect(bundle.bytes).toBeGreaterThan(10_000);
      expect(bundle.bytes).toBeLessThanOrEqual(BUNDLE_CODE_GOAL_BYTES);
      expect(bundle.sourceMapBytes).toBeGreaterThan(bundle.bytes);
    }
  });

  it('leaves to the runtime only the SDK clients and the credential chain (never loaded in Lambda), nothing else', () => {
    expect(result.bundles[0].externalRequires).toEqual([
      '@aws-sdk/client-cloudwatch',
      // Instance discovery for the per-server checks (DescribeDBClusters / DescribeDBInstances).
      '@aws-sdk/client-rds',
      '@aws-sdk/client-rds-data',
      '@aws-sdk/client-secrets-manager',
      '@aws-sdk/credential-provider-node',
      'pg-native', // pg requires it only for its native mode, which dbops never uses
    ]);
    expect(result.bundles[1].externalRequires).toEqual(['@aws-sdk/client-secrets-manager', 'pg-native']);
  });

  it('finds require() calls of packages, not of builtins or relative files', () => {
    expect(externalRequires('a=require("pg");b=require("node:fs");c=require("crypto");d=require("./x");e=require( \'@aws-sdk/client-s3\' )')).toEqual(['@aws-sdk/client-s3', 'pg']);
  });
});
