/**
 * Every environment variable the maintenance Lambda and CLI read, validated in one place so a
 * misconfigured deploy fails on the first invocation with the variable's name in the message.
 */
export type Driver = 'pg' | 'data-api';

export type ConnectionConfig =
  | { kind: 'url'; url: string }
  | { kind: 'secret'; secretArn: string; host?: string; port?: number; database?: string; user?: string }
  | { kind: 'iam'; host: string; port: number; database: string; user: string; region?: string }
  | { kind: 'data-api'; clusterArn: string; secretArn: string; database: string };

export interface DbopsConfig {
  environment: string;
  driver: Driver;
  connection: ConnectionConfig;
  metricsNamespace: string;
  /**
   * PARTITION_RETENTION_MONTHS. Unset: each table's retention_months from dbops.partitioned_tables
   * (24 unless changed there), so one table can keep longer without a global override.
   */
  retentionMonths?: number;
  lockTimeoutMs: number;
  /** Caps an invocation's time budget; the Lambda's remaining time caps it as well. */
  timeBudgetMs?: number;
  /** Where the per-server checks find every instance (lambdas/db/instances.ts); unset: the session's server only. */
  instances?: InstanceDiscovery;
}

export type InstanceDiscovery =
  /** DB_CLUSTER_IDENTIFIER: the cluster's instances from the RDS API at run time. */
  | { kind: 'aurora'; clusterIdentifier: string }
  /** DBOPS_INSTANCE_URLS (local, tests): "id=postgres://...,id2=postgres://...". */
  | { kind: 'urls'; raw: string };

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_RETENTION_MONTHS = 24;
export const DEFAULT_LOCK_TIMEOUT_MS = 3000;
const MAX_LOCK_TIMEOUT_MS = 60_000;

type Env = Record<string, string | undefined>;

function text(env: Env, name: string): string | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function required(env: Env, name: string, why: string): string {
  const value = text(env, name);
  if (value === undefined) throw new ConfigError(name, `is required ${why}`);
  return value;
}

function integer(env: Env, name: string, min: number, max: number): number | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

const ARN = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+$/;

function arn(env: Env, name: string, service: string, why: string): string {
  const value = required(env, name, why);
  if (!ARN.test(value) || value.split(':')[2] !== service) throw new ConfigError(name, `must be an ${service} ARN, got "${value}"`);
  return value;
}

function connection(env: Env, driver: Driver): ConnectionConfig {
  if (driver === 'data-api') {
    return {
      kind: 'data-api',
      clusterArn: arn(env, 'DB_CLUSTER_ARN', 'rds', 'when DBOPS_DRIVER=data-api'),
      secretArn: arn(env, 'DB_SECRET_ARN', 'secretsmanager', 'when DBOPS_DRIVER=data-api'),
      database: required(env, 'DB_NAME', 'when DBOPS_DRIVER=data-api'),
    };
  }
  const url = text(env, 'DATABASE_URL');
  if (url !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(url)) throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
    return { kind: 'url', url };
  }
  const iam = text(env, 'DB_IAM_AUTH');
  if (iam !== undefined && iam !== 'true' && iam !== 'false') throw new ConfigError('DB_IAM_AUTH', `must be "true" or "false", got "${iam}"`);
  const port = integer(env, 'DB_PORT', 1, 65535);
  if (iam === 'true') {
    const why = 'when DB_IAM_AUTH=true';
    return {
      kind: 'iam',
      host: required(env, 'DB_HOST', why),
      port: port ?? 5432,
      database: required(env, 'DB_NAME', why),
      user: required(env, 'DB_USER', why),
      region: text(env, 'AWS_REGION'),
    };
  }
  if (text(env, 'DB_SECRET_ARN') !== undefined) {
    return {
      kind: 'secret',
      secretArn: arn(env, 'DB_SECRET_ARN', 'secretsmanager', ''),
      host: text(env, 'DB_HOST'),
      port,
      database: text(env, 'DB_NAME'),
      user: text(env, 'DB_USER'),
    };
  }
  throw new ConfigError('DATABASE_URL', 'is not set, and neither DB_SECRET_ARN nor DB_IAM_AUTH=true names another way to connect');
}

function instanceDiscovery(env: Env): InstanceDiscovery | undefined {
  const urls = text(env, 'DBOPS_INSTANCE_URLS');
  if (urls !== undefined) return { kind: 'urls', raw: urls };
  const cluster = text(env, 'DB_CLUSTER_IDENTIFIER');
  if (cluster === undefined) return undefined;
  // RDS: 1-63 letters, digits or hyphens, starting with a letter.
  if (!/^[A-Za-z][A-Za-z0-9-]{0,62}$/.test(cluster)) throw new ConfigError('DB_CLUSTER_IDENTIFIER', `is not a DB cluster identifier: "${cluster}"`);
  return { kind: 'aurora', clusterIdentifier: cluster };
}

/** The maintenance runtime's settings (Lambda, CLI, demo); the application library's are platform-db's loadPlatformDbConfig. */
export function loadRuntimeConfig(env: Env = process.env): DbopsConfig {
  const driverRaw = text(env, 'DBOPS_DRIVER') ?? 'pg';
  if (driverRaw !== 'pg' && driverRaw !== 'data-api') throw new ConfigError('DBOPS_DRIVER', `must be "pg" or "data-api", got "${driverRaw}"`);
  const environment = text(env, 'DBOPS_ENV') ?? 'local';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(environment)) throw new ConfigError('DBOPS_ENV', `must be 1-64 letters, digits, "_", "." or "-", got "${environment}"`);
  const namespace = text(env, 'METRICS_NAMESPACE') ?? 'AuroraDbops';
  // CloudWatch namespaces: up to 255 characters, no leading "AWS/".
  if (namespace.length > 255 || namespace.startsWith('AWS/') || !/^[A-Za-z0-9.\-_/#:]+$/.test(namespace)) {
    throw new ConfigError('METRICS_NAMESPACE', `is not a valid custom CloudWatch namespace: "${namespace}"`);
  }
  return {
    environment,
    driver: driverRaw,
    connection: connection(env, driverRaw),
    metricsNamespace: namespace,
    retentionMonths: integer(env, 'PARTITION_RETENTION_MONTHS', 1, 1200),
    lockTimeoutMs: integer(env, 'DBOPS_LOCK_TIMEOUT_MS', 1, MAX_LOCK_TIMEOUT_MS) ?? DEFAULT_LOCK_TIMEOUT_MS,
    timeBudgetMs: integer(env, 'DBOPS_TIME_BUDGET_MS', 1000, 24 * 3600 * 1000),
    instances: instanceDiscovery(env),
  };
}
