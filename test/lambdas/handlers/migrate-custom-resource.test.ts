import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { AUTH_RETRY_DELAYS_MS, PHYSICAL_RESOURCE_ID, createHandler, handler, resolveDatabaseUrl } from '../../../lambdas/handlers/migrate-custom-resource';
import { migrationsHash } from '../../../lib/constructs/schema-migration';
import { TestDatabase, createEmptyDatabase } from '../../support/database';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:333333333333:secret:DatabaseClusterSecret-AbCdEf';
const secrets = mockClient(SecretsManagerClient);

let db: TestDatabase;
let migrationsDir: string;
const savedEnv = { ...process.env };

function event(requestType: 'Create' | 'Update' | 'Delete', hash = 'a'.repeat(64)): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:333333333333:function:provider',
    ResponseURL: 'https://cloudformation-custom-resource-response.example/',
    StackId: 'arn:aws:cloudformation:eu-west-1:333333333333:stack/Dbops-prod/1',
    RequestId: 'request-1',
    LogicalResourceId: 'SchemaMigrationMigrations3784C8B2',
    ResourceType: 'Custom::DbopsSchemaMigrations',
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:333333333333:function:provider', MigrationsHash: hash, Database: 'platform' },
  };
  if (requestType === 'Create') return { ...common, RequestType: 'Create' };
  if (requestType === 'Update') return { ...common, RequestType: 'Update', PhysicalResourceId: PHYSICAL_RESOURCE_ID, OldResourceProperties: common.ResourceProperties };
  return { ...common, RequestType: 'Delete', PhysicalResourceId: PHYSICAL_RESOURCE_ID };
}

/** The shape Secrets Manager returns for an RDS-generated secret (SecretTargetAttachment adds host, port, engine, dbname). */
function secretFor(url: string): string {
  const parsed = new URL(url);
  return JSON.stringify({
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    engine: 'postgres',
    host: parsed.hostname,
    port: Number(parsed.port),
    dbname: parsed.pathname.slice(1),
    dbClusterIdentifier: 'dbops-prod',
  });
}

beforeAll(async () => {
  db = await createEmptyDatabase();
  migrationsDir = mkdtempSync(path.join(tmpdir(), 'dbops-cr-migrations-'));
  writeFileSync(path.join(migrationsDir, '001_first.sql'), 'CREATE TABLE public.cr_probe (id bigint PRIMARY KEY);\n');
  writeFileSync(path.join(migrationsDir, '002_second.sql'), 'ALTER TABLE public.cr_probe ADD COLUMN note text;\n');
});

afterAll(async () => {
  process.env = savedEnv;
  rmSync(migrationsDir, { recursive: true, force: true });
  await db.drop();
});

beforeEach(() => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  secrets.reset();
  process.env = { ...savedEnv, DBOPS_MIGRATIONS_DIR: migrationsDir, DB_SECRET_ARN: SECRET_ARN, DB_SSLMODE: 'disable' };
  delete process.env.DATABASE_URL;
  delete process.env.DB_HOST;
  delete process.env.DB_PORT;
  delete process.env.DB_NAME;
});

describe('migrate custom resource', () => {
  it('on Create reads the secret and applies every migration of DBOPS_MIGRATIONS_DIR', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ ARN: SECRET_ARN, Name: 'DatabaseClusterSecret', SecretString: secretFor(db.url) });
    const response = await handler(event('Create', 'b'.repeat(64)));
    expect(response).toEqual({
      PhysicalResourceId: PHYSICAL_RESOURCE_ID,
      Data: { AppliedCount: 2, AlreadyAppliedCount: 0, LatestMigration: '002_second.sql', MigrationsHash: 'b'.repeat(64), MissingGrants: '' },
    });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    const applied = await db.query<{ version: string }>('SELECT version FROM dbops.schema_migrations ORDER BY version');
    expect(applied.map((row) => row.version)).toEqual(['001_first.sql', '002_second.sql']);
    const columns = await db.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'cr_probe' ORDER BY ordinal_position`,
    );
    expect(columns.map((row) => row.column_name)).toEqual(['id', 'note']);
  });

  it('on Update applies only what is new and keeps the same physical id', async () => {
    writeFileSync(path.join(migrationsDir, '003_third.sql'), 'CREATE INDEX cr_probe_note ON public.cr_probe (note);\n');
    secrets.on(GetSecretValueCommand).resolves({ SecretString: secretFor(db.url) });
    const response = await handler(event('Update'));
    expect(response.PhysicalResourceId).toBe(PHYSICAL_RESOURCE_ID);
    expect(response.Data).toMatchObject({ AppliedCount: 1, AlreadyAppliedCount: 2, LatestMigration: '003_third.sql' });
    const index = await db.query(`SELECT 1 FROM pg_indexes WHERE indexname = 'cr_probe_note'`);
    expect(index).toHaveLength(1);
  });

  it('on Delete leaves the schema and touches neither Secrets Manager nor the database', async () => {
    const response = await handler(event('Delete'));
    expect(response).toEqual({ PhysicalResourceId: PHYSICAL_RESOURCE_ID });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    const table = await db.query<{ present: boolean }>(`SELECT to_regclass('public.cr_probe') IS NOT NULL AS present`);
    expect(table[0].present).toBe(true);
  });

  it('uses DATABASE_URL without Secrets Manager when given', async () => {
    process.env.DATABASE_URL = db.url;
    const response = await handler(event('Update'));
    expect(response.Data).toMatchObject({ AppliedCount: 0, AlreadyAppliedCount: 3 });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('fails the deployment when a migration fails, naming the file', async () => {
    const brokenDir = mkdtempSync(path.join(tmpdir(), 'dbops-cr-broken-'));
    try {
      writeFileSync(path.join(brokenDir, '001_broken.sql'), 'CREATE TABLE public.cr_broken (id bigint REFERENCES public.no_such_table);\n');
      process.env.DBOPS_MIGRATIONS_DIR = brokenDir;
      process.env.DATABASE_URL = db.url;
      await expect(handler(event('Create'))).rejects.toThrow('migration 001_broken.sql failed');
    } finally {
      rmSync(brokenDir, { recursive: true, force: true });
    }
  });
});

describe('master secret rotating during the deploy', () => {
  /** The secret as it reads just before rotation finishes: the database already has another password. */
  const stale = () => {
    const url = new URL(db.url);
    url.password = 'rotated-away';
    return secretFor(url.toString());
  };

  it('reads the secret again and retries when the login is refused with 28P01', async () => {
    secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: stale() }).resolves({ SecretString: secretFor(db.url) });
    const waits: number[] = [];
    const retrying = createHandler({ authRetryDelaysMs: [7, 11], sleep: async (ms) => void waits.push(ms) });
    const response = await retrying(event('Update'));
    expect(response.PhysicalResourceId).toBe(PHYSICAL_RESOURCE_ID);
    expect(response.Data).toMatchObject({ AppliedCount: 0, AlreadyAppliedCount: 3 });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(waits).toEqual([7]);
  });

  it('gives up with the login error once every delay is spent', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: stale() });
    const waits: number[] = [];
    const retrying = createHandler({ authRetryDelaysMs: [7, 11], sleep: async (ms) => void waits.push(ms) });
    await expect(retrying(event('Update'))).rejects.toMatchObject({ code: '28P01' });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(3);
    expect(waits).toEqual([7, 11]);
  });

  it('does not retry a failing migration, nor a refused DATABASE_URL', async () => {
    const brokenDir = mkdtempSync(path.join(tmpdir(), 'dbops-cr-broken-'));
    const waits: number[] = [];
    const retrying = createHandler({ authRetryDelaysMs: [7], sleep: async (ms) => void waits.push(ms) });
    try {
      writeFileSync(path.join(brokenDir, '001_broken.sql'), 'CREATE TABLE public.cr_broken (id bigint REFERENCES public.no_such_table);\n');
      process.env.DBOPS_MIGRATIONS_DIR = brokenDir;
      secrets.on(GetSecretValueCommand).resolves({ SecretString: secretFor(db.url) });
      await expect(retrying(event('Create'))).rejects.toThrow('migration 001_broken.sql failed');
      expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);

      const refused = new URL(db.url);
      refused.password = 'wrong';
      process.env.DATABASE_URL = refused.toString();
      await expect(retrying(event('Create'))).rejects.toMatchObject({ code: '28P01' });
      expect(waits).toEqual([]);
    } finally {
      rmSync(brokenDir, { recursive: true, force: true });
    }
  });

  it('waits long enough by default for a single-user rotation to finish', () => {
    expect(AUTH_RETRY_DELAYS_MS.length).toBeGreaterThanOrEqual(2);
    expect(AUTH_RETRY_DELAYS_MS.reduce((sum, ms) => sum + ms, 0)).toBeGreaterThanOrEqual(30_000);
  });
});

describe('connection settings', () => {
  it('builds a verify-full TLS URL from the secret, with env overriding host, port and database', async () => {
    secrets.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ username: 'dbops_admin', password: 'p@ss:w/rd', host: 'cluster.example', port: 5432, dbname: 'platform' }),
    });
    const fromSecret = new URL(await resolveDatabaseUrl({ DB_SECRET_ARN: SECRET_ARN }));
    expect(fromSecret.hostname).toBe('cluster.example');
    expect(fromSecret.searchParams.get('sslmode')).toBe('verify-full');
    expect(decodeURIComponent(fromSecret.password)).toBe('p@ss:w/rd');
    const overridden = new URL(await resolveDatabaseUrl({ DB_SECRET_ARN: SECRET_ARN, DB_HOST: 'writer.example', DB_PORT: '6543', DB_NAME: 'other' }));
    expect([overridden.hostname, overridden.port, overridden.pathname]).toEqual(['writer.example', '6543', '/other']);
  });

  it('rejects missing configuration and malformed secrets before connecting', async () => {
    await expect(resolveDatabaseUrl({})).rejects.toThrow('set DB_SECRET_ARN');
    await expect(resolveDatabaseUrl({ DB_SECRET_ARN: SECRET_ARN, DB_SSLMODE: 'prefer' })).rejects.toThrow('DB_SSLMODE must be one of');
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'dbops_admin' }) });
    await expect(resolveDatabaseUrl({ DB_SECRET_ARN: SECRET_ARN })).rejects.toThrow('lacks a username or password');
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'u', password: 'p', dbname: 'platform' }) });
    await expect(resolveDatabaseUrl({ DB_SECRET_ARN: SECRET_ARN })).rejects.toThrow('has no host and DB_HOST is not set');
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'not json' });
    await expect(resolveDatabaseUrl({ DB_SECRET_ARN: SECRET_ARN })).rejects.toThrow('is not JSON');
  });
});

describe('migrations hash', () => {
  it('changes when a migration changes and not otherwise', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dbops-hash-'));
    try {
      writeFileSync(path.join(dir, '001_a.sql'), 'SELECT 1;\n');
      const first = migrationsHash(dir);
      expect(migrationsHash(dir)).toBe(first);
      writeFileSync(path.join(dir, '001_a.sql'), 'SELECT 2;\n');
      const edited = migrationsHash(dir);
      expect(edited).not.toBe(first);
      writeFileSync(path.join(dir, '002_b.sql'), 'SELECT 3;\n');
      expect(migrationsHash(dir)).not.toBe(edited);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
