import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { MigrateResult, migrate } from '../migrate/migrator';

/**
 * onEvent handler of the deploy-time schema migration (custom_resources.Provider). Create and
 * Update apply every pending file of sql/migrations (bundled beside the handler, found through
 * DBOPS_MIGRATIONS_DIR) to the cluster's writer as the master user; Delete leaves the schema
 * alone, because removing a stack must never drop data.
 *
 * Environment: DB_SECRET_ARN (the cluster's generated secret), DB_HOST / DB_PORT / DB_NAME (override
 * the secret's fields), DB_SSLMODE (verify-full unless told otherwise), DBOPS_LOCK_TIMEOUT_MS;
 * DATABASE_URL replaces all of them, for tests and manual runs.
 */

/** Constant, so an Update never makes CloudFormation delete the "old" resource. */
export const PHYSICAL_RESOURCE_ID = 'dbops-schema-migrations';

export interface OnEventResponse {
  PhysicalResourceId: string;
  Data?: Record<string, string | number>;
}

interface DatabaseSecret {
  username: string;
  password: string;
  host?: string;
  port?: number | string;
  dbname?: string;
}

const SSL_MODES = ['verify-full', 'require', 'disable'] as const;

let secretsClient: SecretsManagerClient | undefined;

/** 28P01 invalid_password. */
const INVALID_PASSWORD = '28P01';

/**
 * The first deploy creates the master secret's RotationSchedule, and Secrets Manager rotates at
 * once. Single-user rotation sets the new password on the database before it marks the new value
 * AWSCURRENT, so a login in that window fails with 28P01: read the secret again and retry.
 */
export const AUTH_RETRY_DELAYS_MS: readonly number[] = [5_000, 15_000, 30_000];

export interface MigrateHandlerOptions {
  authRetryDelaysMs?: readonly number[];
  sleep?: (ms: number) => Promise<void>;
}

export function createHandler(options: MigrateHandlerOptions = {}) {
  const delays = options.authRetryDelaysMs ?? AUTH_RETRY_DELAYS_MS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  async function migrateWithFreshCredentials(): Promise<MigrateResult> {
    for (let attempt = 0; ; attempt += 1) {
      const databaseUrl = await resolveDatabaseUrl(process.env);
      try {
        return await migrate({
          databaseUrl,
          dir: process.env.DBOPS_MIGRATIONS_DIR,
          waitForLock: true,
          lockTimeoutMs: numberFromEnv('DBOPS_LOCK_TIMEOUT_MS', 5000),
          log: (message) => log(message),
        });
      } catch (error) {
        const fromSecret = !process.env.DATABASE_URL;
        if (!fromSecret || (error as { code?: unknown }).code !== INVALID_PASSWORD || attempt >= delays.length) throw error;
        log('login refused (secret rotating?): reading the secret again', { attempt: attempt + 1, delayMs: delays[attempt] });
        await sleep(delays[attempt]);
      }
    }
  }

  return async function handler(event: CloudFormationCustomResourceEvent): Promise<OnEventResponse> {
    switch (event.RequestType) {
      case 'Delete':
        log('delete: schema left in place', { physicalResourceId: event.PhysicalResourceId });
        return { PhysicalResourceId: event.PhysicalResourceId };
      case 'Create':
      case 'Update': {
        const result = await migrateWithFreshCredentials();
        log('migrations done', { applied: result.applied, alreadyApplied: result.alreadyApplied.length, missingGrants: result.missingGrants, durationMs: result.durationMs });
        return {
          PhysicalResourceId: PHYSICAL_RESOURCE_ID,
          // The response body is capped at 4 KB, so counts and the last file rather than the full list.
          Data: {
            AppliedCount: result.applied.length,
            AlreadyAppliedCount: result.alreadyApplied.length,
            LatestMigration: [...result.alreadyApplied, ...result.applied].sort().at(-1) ?? '',
            // Refused role grants do not fail the deploy; they are named here and published by health-check.
            MissingGrants: result.missingGrants.map((gap) => `${gap.grantedRole} to ${gap.member}`).join(', '),
            MigrationsHash: String(event.ResourceProperties.MigrationsHash ?? ''),
          },
        };
      }
      default:
        throw new Error(`unsupported RequestType ${JSON.stringify((event as { RequestType?: unknown }).RequestType)}`);
    }
  };
}

export const handler = createHandler();

/** DATABASE_URL if given; otherwise a URL built from the secret, with TLS verified by default. */
export async function resolveDatabaseUrl(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  const secretArn = env.DB_SECRET_ARN;
  if (!secretArn) throw new Error('no database: set DB_SECRET_ARN (the cluster secret) or DATABASE_URL');
  const sslMode = env.DB_SSLMODE ?? 'verify-full';
  if (!(SSL_MODES as readonly string[]).includes(sslMode)) {
    throw new Error(`DB_SSLMODE must be one of ${SSL_MODES.join(', ')}, got "${sslMode}"`);
  }
  const secret = await readSecret(secretArn);
  const host = env.DB_HOST ?? secret.host;
  const port = env.DB_PORT ?? secret.port ?? 5432;
  const database = env.DB_NAME ?? secret.dbname;
  if (!host) throw new Error(`secret ${secretArn} has no host and DB_HOST is not set`);
  if (!database) throw new Error(`secret ${secretArn} has no dbname and DB_NAME is not set`);
  const url = new URL('postgresql://localhost');
  url.username = encodeURIComponent(secret.username);
  url.password = encodeURIComponent(secret.password);
  url.hostname = host;
  url.port = String(port);
  url.pathname = `/${encodeURIComponent(database)}`;
  url.searchParams.set('sslmode', sslMode);
  url.searchParams.set('application_name', 'dbops:migrate-custom-resource');
  return url.toString();
}

async function readSecret(secretArn: string): Promise<DatabaseSecret> {
  secretsClient ??= new SecretsManagerClient({});
  const response = await secretsClient.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (!response.SecretString) throw new Error(`secret ${secretArn} has no SecretString`);
  let parsed: Partial<DatabaseSecret>;
  try {
    parsed = JSON.parse(response.SecretString) as Partial<DatabaseSecret>;
  } catch {
    throw new Error(`secret ${secretArn} is not JSON`);
  }
  if (typeof parsed.username !== 'string' || typeof parsed.password !== 'string') {
    throw new Error(`secret ${secretArn} lacks a username or password`);
  }
  return parsed as DatabaseSecret;
}

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

function log(message: string, details: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ message, ...details }));
}
