import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { ConfigError, loadRuntimeConfig } from '../../../lambdas/db/env-config';
import type { IamTokenRequest } from '../../../lambdas/db/iam-auth-token';
import { poolConfigFor } from '../../../lambdas/db/pool-from-env';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:platform-db-AbCdEf';
const CLUSTER_ARN = 'arn:aws:rds:eu-west-1:123456789012:cluster:platform';

describe('environment', () => {
  it('defaults for a local run', () => {
    const config = loadRuntimeConfig({ DATABASE_URL: 'postgresql://u:p@localhost:5432/db' });
    expect(config).toMatchObject({
      environment: 'local',
      driver: 'pg',
      connection: { kind: 'url' },
      metricsNamespace: 'AuroraDbops',
      lockTimeoutMs: 3000,
    });
    expect(config.retentionMonths).toBeUndefined();
    expect(config.timeBudgetMs).toBeUndefined();
  });

  it('reads every variable', () => {
    const config = loadRuntimeConfig({
      DBOPS_ENV: 'prod',
      DB_HOST: 'cluster.example',
      DB_PORT: '6432',
      DB_NAME: 'platform',
      DB_USER: 'dbops',
      DB_SECRET_ARN: SECRET_ARN,
      METRICS_NAMESPACE: 'Platform/Db',
      PARTITION_RETENTION_MONTHS: '36',
      DBOPS_LOCK_TIMEOUT_MS: '1500',
      DBOPS_TIME_BUDGET_MS: '600000',
    });
    expect(config).toMatchObject({
      environment: 'prod',
      connection: { kind: 'secret', secretArn: SECRET_ARN, host: 'cluster.example', port: 6432, database: 'platform', user: 'dbops' },
      metricsNamespace: 'Platform/Db',
      retentionMonths: 36,
      lockTimeoutMs: 1500,
      timeBudgetMs: 600000,
    });
    expect(loadRuntimeConfig({ DBOPS_DRIVER: 'data-api', DB_CLUSTER_ARN: CLUSTER_ARN, DB_SECRET_ARN: SECRET_ARN, DB_NAME: 'platform' }).connection).toEqual({
      kind: 'data-api',
      clusterArn: CLUSTER_ARN,
      secretArn: SECRET_ARN,
      database: 'platform',
    });
    expect(loadRuntimeConfig({ DB_IAM_AUTH: 'true', DB_HOST: 'h', DB_NAME: 'd', DB_USER: 'u' }).connection).toMatchObject({ kind: 'iam', port: 5432 });
  });

  it.each([
    [{}, 'DATABASE_URL'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgresql://x', DBOPS_DRIVER: 'jdbc' }, 'DBOPS_DRIVER'],
    [{ DATABASE_URL: 'postgresql://x', DBOPS_ENV: 'has spaces' }, 'DBOPS_ENV'],
    [{ DATABASE_URL: 'postgresql://x', PARTITION_RETENTION_MONTHS: 'two' }, 'PARTITION_RETENTION_MONTHS'],
    [{ DATABASE_URL: 'postgresql://x', PARTITION_RETENTION_MONTHS: '0' }, 'PARTITION_RETENTION_MONTHS'],
    [{ DATABASE_URL: 'postgresql://x', PARTITION_RETENTION_MONTHS: '-3' }, 'PARTITION_RETENTION_MONTHS'],
    [{ DATABASE_URL: 'postgresql://x', DBOPS_LOCK_TIMEOUT_MS: '0' }, 'DBOPS_LOCK_TIMEOUT_MS'],
    [{ DATABASE_URL: 'postgresql://x', DBOPS_LOCK_TIMEOUT_MS: '3s' }, 'DBOPS_LOCK_TIMEOUT_MS'],
    [{ DATABASE_URL: 'postgresql://x', DBOPS_TIME_BUDGET_MS: '10' }, 'DBOPS_TIME_BUDGET_MS'],
    [{ DATABASE_URL: 'postgresql://x', METRICS_NAMESPACE: 'AWS/RDS' }, 'METRICS_NAMESPACE'],
    [{ DB_SECRET_ARN: 'not-an-arn' }, 'DB_SECRET_ARN'],
    [{ DB_IAM_AUTH: 'yes', DB_HOST: 'h' }, 'DB_IAM_AUTH'],
    [{ DB_IAM_AUTH: 'true', DB_NAME: 'd', DB_USER: 'u' }, 'DB_HOST'],
    [{ DB_IAM_AUTH: 'true', DB_HOST: 'h', DB_NAME: 'd', DB_USER: 'u', DB_PORT: '70000' }, 'DB_PORT'],
    [{ DBOPS_DRIVER: 'data-api', DB_SECRET_ARN: SECRET_ARN, DB_NAME: 'd' }, 'DB_CLUSTER_ARN'],
    [{ DBOPS_DRIVER: 'data-api', DB_CLUSTER_ARN: SECRET_ARN, DB_SECRET_ARN: SECRET_ARN, DB_NAME: 'd' }, 'DB_CLUSTER_ARN'],
    [{ DBOPS_DRIVER: 'data-api', DB_CLUSTER_ARN: CLUSTER_ARN, DB_SECRET_ARN: SECRET_ARN }, 'DB_NAME'],
  ])('rejects %j naming %s', (env, variable) => {
    let error: unknown;
    try {
      loadRuntimeConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as Error).message.startsWith(variable)).toBe(true);
  });
});

describe('pool configuration', () => {
  const sm = mockClient(SecretsManagerClient);
  beforeEach(() => sm.reset());
  afterAll(() => sm.restore());

  it('reads the password from Secrets Manager and verifies TLS', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({
      ARN: SECRET_ARN,
      Name: 'platform-db',
      SecretString: JSON.stringify({ username: 'app', password: 's3cret', engine: 'postgres', host: 'writer.example', port: 5432, dbname: 'platform' }),
    });
    const config = await poolConfigFor({ kind: 'secret', secretArn: SECRET_ARN }, { secretsManager: new SecretsManagerClient({}) });
    expect(config).toMatchObject({ host: 'writer.example', port: 5432, database: 'platform', user: 'app', password: 's3cret', ssl: { rejectUnauthorized: true } });
    // DB_HOST/DB_PORT/DB_NAME/DB_USER win over the secret (e.g. a proxy endpoint).
    const viaProxy = await poolConfigFor({ kind: 'secret', secretArn: SECRET_ARN, host: 'proxy.example', port: 6432, database: 'other', user: 'dbops' }, { secretsManager: new SecretsManagerClient({}) });
    expect(viaProxy).toMatchObject({ host: 'proxy.example', port: 6432, database: 'other', user: 'dbops', password: 's3cret' });
  });

  it.each([
    [{ SecretString: 'not json' }, /is not JSON/],
    [{ SecretString: JSON.stringify({ username: 'a' }) }, /lacks a username or password/],
    [{ SecretBinary: new Uint8Array([1]) }, /has no SecretString/],
  ])('rejects an unusable secret %#', async (response, message) => {
    sm.on(GetSecretValueCommand).resolves(response);
    await expect(poolConfigFor({ kind: 'secret', secretArn: SECRET_ARN, host: 'h', database: 'd' }, { secretsManager: new SecretsManagerClient({}) })).rejects.toThrow(message);
  });

  it('uses a fresh IAM auth token per connection, over verified TLS', async () => {
    const getAuthToken = jest.fn<Promise<string>, []>().mockResolvedValueOnce('token-1').mockResolvedValueOnce('token-2');
    const signer = jest.fn((_request: IamTokenRequest) => ({ getAuthToken }));
    const config = await poolConfigFor({ kind: 'iam', host: 'writer.example', port: 5432, database: 'platform', user: 'dbops', region: 'eu-west-1' }, { signer });
    expect(signer).toHaveBeenCalledWith({ hostname: 'writer.example', port: 5432, username: 'dbops', region: 'eu-west-1' });
    expect(config.ssl).toEqual({ rejectUnauthorized: true });
    expect(config.user).toBe('dbops');
    const password = config.password as () => Promise<string>;
    expect(await password()).toBe('token-1');
    expect(await password()).toBe('token-2');
  });

  it('refuses IAM auth without a region to sign for', async () => {
    await expect(poolConfigFor({ kind: 'iam', host: 'writer.example', port: 5432, database: 'platform', user: 'dbops' })).rejects.toThrow('DB_IAM_AUTH=true needs AWS_REGION');
  });
});
