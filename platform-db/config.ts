/**
 * Every environment variable the application library reads, parsed and validated in one pure
 * function. All problems are collected and reported together, each naming its variable, so a bad
 * deploy shows the whole list on the first start rather than one error per redeploy.
 */
export const ENVIRONMENTS = ['development', 'test', 'staging', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export interface PoolSettings {
  min: number;
  max: number;
  connectionTimeoutMillis: number;
  idleTimeoutMillis: number;
  /** Server-side limit (SET statement_timeout at connect): the backend cancels the statement. */
  statementTimeoutMillis: number;
  /** Client-side limit: pg gives up waiting for the reply even if the server never answers. */
  queryTimeoutMillis: number;
  /** Connections are closed after this age, so failovers and DNS changes are picked up. 0 = never. */
  maxLifetimeSeconds: number;
  applicationName: string;
}

export interface ReplicaSettings {
  /** Reads by a session within this window after its own write go to the writer. */
  readAfterWriteWindowMillis: number;
  /** After a reader connection error, reads use the writer for this long before retrying it. */
  retryCooldownMillis: number;
  /** Reads avoid a reader lagging further behind than this (milliseconds); 0 turns the check off. */
  maxLagMillis: number;
  /** The reader's lag is measured at most this often (milliseconds), on the reader, by a read's side query. */
  lagCheckIntervalMillis: number;
}

export interface QuerySettings {
  enableQueryLogging: boolean;
  slowQueryThresholdMillis: number;
  cacheEnabled: boolean;
  cacheTtlSeconds: number;
}

export interface AppDatabaseConfig {
  environment: Environment;
  /** Writer connection string, with Prisma-only parameters removed. */
  databaseUrl: string;
  readReplicaUrl?: string;
  pool: PoolSettings;
  replica: ReplicaSettings;
  query: QuerySettings;
  /** Signs pagination cursors when set; without it cursors are only checked for shape. */
  cursorSecret?: string;
}

export interface ConfigIssue {
  variable: string;
  problem: string;
}

export class AppConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(`invalid database configuration: ${issues.map((i) => `${i.variable} ${i.problem}`).join('; ')}`);
    this.name = 'AppConfigError';
  }
}

interface EnvironmentDefaults {
  pool: Omit<PoolSettings, 'applicationName'>;
  replica: ReplicaSettings;
  query: QuerySettings;
}

// Aurora readers lag by tens of milliseconds; seconds of lag means replay is stuck or overloaded.
const SHARED_REPLICA: ReplicaSettings = { readAfterWriteWindowMillis: 2000, retryCooldownMillis: 30_000, maxLagMillis: 5000, lagCheckIntervalMillis: 1000 };

/** Production values are the spec's; the others scale the pool down for smaller machines. */
export const DEFAULTS: Record<Environment, EnvironmentDefaults> = {
  development: {
    pool: { min: 1, max: 10, connectionTimeoutMillis: 5000, idleTimeoutMillis: 10_000, statementTimeoutMillis: 30_000, queryTimeoutMillis: 30_000, maxLifetimeSeconds: 1800 },
    replica: SHARED_REPLICA,
    query: { enableQueryLogging: true, slowQueryThresholdMillis: 1000, cacheEnabled: false, cacheTtlSeconds: 300 },
  },
  test: {
    pool: { min: 0, max: 5, connectionTimeoutMillis: 5000, idleTimeoutMillis: 1000, statementTimeoutMillis: 10_000, queryTimeoutMillis: 10_000, maxLifetimeSeconds: 0 },
    replica: SHARED_REPLICA,
    query: { enableQueryLogging: false, slowQueryThresholdMillis: 1000, cacheEnabled: false, cacheTtlSeconds: 300 },
  },
  staging: {
    pool: { min: 5, max: 50, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000, statementTimeoutMillis: 30_000, queryTimeoutMillis: 30_000, maxLifetimeSeconds: 1800 },
    replica: SHARED_REPLICA,
    query: { enableQueryLogging: true, slowQueryThresholdMillis: 1000, cacheEnabled: true, cacheTtlSeconds: 300 },
  },
  production: {
    pool: { min: 10, max: 100, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000, statementTimeoutMillis: 30_000, queryTimeoutMillis: 30_000, maxLifetimeSeconds: 1800 },
    replica: SHARED_REPLICA,
    query: { enableQueryLogging: true, slowQueryThresholdMillis: 1000, cacheEnabled: true, cacheTtlSeconds: 300 },
  },
};

/** Every variable loadPlatformDbConfig reads, for .env.example and documentation. */
export const CONFIG_VARIABLES = [
  'NODE_ENV',
  'DATABASE_URL',
  'DATABASE_READ_REPLICA_URL',
  'DATABASE_POOL_MIN',
  'DATABASE_POOL_MAX',
  'DATABASE_CONNECTION_TIMEOUT',
  'DATABASE_IDLE_TIMEOUT',
  'DATABASE_STATEMENT_TIMEOUT',
  'DATABASE_QUERY_TIMEOUT',
  'DATABASE_MAX_CONNECTION_LIFETIME',
  'DATABASE_APPLICATION_NAME',
  'DATABASE_READ_AFTER_WRITE_WINDOW',
  'DATABASE_REPLICA_RETRY_COOLDOWN',
  'DATABASE_REPLICA_MAX_LAG',
  'DATABASE_REPLICA_LAG_CHECK_INTERVAL',
  'ENABLE_QUERY_LOGGING',
  'SLOW_QUERY_THRESHOLD',
  'ENABLE_QUERY_CACHE',
  'QUERY_CACHE_TTL',
  'PAGINATION_CURSOR_SECRET',
] as const;

type Env = Record<string, string | undefined>;

/** Prisma reads these from the URL; pg would pass them to the server as unknown parameters. */
const PRISMA_URL_PARAMETERS = ['connection_limit', 'pool_timeout', 'connect_timeout', 'schema', 'pgbouncer', 'statement_cache_size', 'socket_timeout'];

const DAY_MS = 24 * 3600 * 1000;

class Reader {
  readonly issues: ConfigIssue[] = [];
  constructor(private readonly env: Env) {}

  /** Empty strings count as unset: `FOO=` in an .env file means "use the default". */
  text(name: string): string | undefined {
    const value = this.env[name];
    if (value === undefined) return undefined;
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  }

  fail(variable: string, problem: string): undefined {
    this.issues.push({ variable, problem });
    return undefined;
  }

  integer(name: string, min: number, max: number): number | undefined {
    const raw = this.text(name);
    if (raw === undefined) return undefined;
    if (!/^-?\d+$/.test(raw)) return this.fail(name, `must be a whole number, got "${raw}"`);
    const value = Number(raw);
    if (value < min || value > max) return this.fail(name, `must be between ${min} and ${max}, got ${value}`);
    return value;
  }

  boolean(name: string): boolean | undefined {
    const raw = this.text(name);
    if (raw === undefined) return undefined;
    const lower = raw.toLowerCase();
    if (lower === 'true' || lower === '1') return true;
    if (lower === 'false' || lower === '0') return false;
    return this.fail(name, `must be true, false, 1 or 0, got "${raw}"`);
  }

  url(name: string): URL | undefined {
    const raw = this.text(name);
    if (raw === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return this.fail(name, 'is not a valid URL');
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
      return this.fail(name, `must start with postgres:// or postgresql://, got "${url.protocol}//"`);
    }
    if (url.hostname === '') return this.fail(name, 'has no host');
    if (url.pathname.replace(/^\//, '') === '') return this.fail(name, 'names no database (postgresql://user:pass@host:5432/DATABASE)');
    return url;
  }
}

function resolveEnvironment(reader: Reader, explicit: string | undefined): Environment {
  const raw = explicit ?? reader.text('NODE_ENV') ?? 'development';
  const name = raw === 'prod' ? 'production' : raw === 'dev' ? 'development' : raw;
  if ((ENVIRONMENTS as readonly string[]).includes(name)) return name as Environment;
  reader.fail(explicit === undefined ? 'NODE_ENV' : 'environment', `must be one of ${ENVIRONMENTS.join(', ')}, got "${raw}"`);
  return 'development';
}

/** Reads Prisma's pool parameters as fallbacks and strips them so pg never sees them. */
function stripPrismaParameters(url: URL): { url: string; connectionLimit?: string; poolTimeoutSeconds?: string } {
  const connectionLimit = url.searchParams.get('connection_limit') ?? undefined;
  const poolTimeoutSeconds = url.searchParams.get('pool_timeout') ?? undefined;
  for (const name of PRISMA_URL_PARAMETERS) url.searchParams.delete(name);
  return { url: url.toString(), connectionLimit, poolTimeoutSeconds };
}

/**
 * Parses the environment. Precedence: explicit variable, then (for the pool size and connect
 * timeout only) Prisma's connection_limit / pool_timeout in DATABASE_URL, then the environment's default.
 */
export function loadPlatformDbConfig(env: Env = process.env, environment?: Environment | string): AppDatabaseConfig {
  const read = new Reader(env);
  const name = resolveEnvironment(read, environment);
  const defaults = DEFAULTS[name];

  const writerUrl = read.url('DATABASE_URL');
  if (read.text('DATABASE_URL') === undefined) read.fail('DATABASE_URL', 'is required');
  const readerUrl = read.url('DATABASE_READ_REPLICA_URL');
  const writer = writerUrl ? stripPrismaParameters(writerUrl) : undefined;

  let urlMax: number | undefined;
  if (writer?.connectionLimit !== undefined) {
    urlMax = /^\d+$/.test(writer.connectionLimit) && Number(writer.connectionLimit) >= 1 ? Number(writer.connectionLimit) : read.fail('DATABASE_URL', `connection_limit must be a positive whole number, got "${writer.connectionLimit}"`);
  }
  let urlConnectMs: number | undefined;
  if (writer?.poolTimeoutSeconds !== undefined) {
    urlConnectMs = /^\d+$/.test(writer.poolTimeoutSeconds) && Number(writer.poolTimeoutSeconds) >= 1 ? Number(writer.poolTimeoutSeconds) * 1000 : read.fail('DATABASE_URL', `pool_timeout must be a positive whole number of seconds, got "${writer.poolTimeoutSeconds}"`);
  }

  const min = read.integer('DATABASE_POOL_MIN', 0, 10_000) ?? defaults.pool.min;
  const max = read.integer('DATABASE_POOL_MAX', 1, 10_000) ?? urlMax ?? defaults.pool.max;
  if (min > max) read.fail('DATABASE_POOL_MIN', `(${min}) must not be above DATABASE_POOL_MAX (${max})`);

  const applicationName = read.text('DATABASE_APPLICATION_NAME') ?? `aurora-dbops-app-${name}`;
  // PostgreSQL truncates application_name at 63 bytes and only keeps printable ASCII.
  if (!/^[\x20-\x7e]{1,63}$/.test(applicationName)) read.fail('DATABASE_APPLICATION_NAME', 'must be 1-63 printable ASCII characters');

  const cursorSecret = read.text('PAGINATION_CURSOR_SECRET');
  if (cursorSecret !== undefined && cursorSecret.length < 16) read.fail('PAGINATION_CURSOR_SECRET', 'must be at least 16 characters');

  const config: AppDatabaseConfig = {
    environment: name,
    databaseUrl: writer?.url ?? '',
    readReplicaUrl: readerUrl ? stripPrismaParameters(readerUrl).url : undefined,
    pool: {
      min,
      max,
      connectionTimeoutMillis: read.integer('DATABASE_CONNECTION_TIMEOUT', 1, 10 * 60_000) ?? urlConnectMs ?? defaults.pool.connectionTimeoutMillis,
      idleTimeoutMillis: read.integer('DATABASE_IDLE_TIMEOUT', 1, DAY_MS) ?? defaults.pool.idleTimeoutMillis,
      statementTimeoutMillis: read.integer('DATABASE_STATEMENT_TIMEOUT', 1, DAY_MS) ?? defaults.pool.statementTimeoutMillis,
      queryTimeoutMillis: read.integer('DATABASE_QUERY_TIMEOUT', 1, DAY_MS) ?? defaults.pool.queryTimeoutMillis,
      maxLifetimeSeconds: read.integer('DATABASE_MAX_CONNECTION_LIFETIME', 0, 7 * 24 * 3600) ?? defaults.pool.maxLifetimeSeconds,
      applicationName,
    },
    replica: {
      readAfterWriteWindowMillis: read.integer('DATABASE_READ_AFTER_WRITE_WINDOW', 0, 3600_000) ?? defaults.replica.readAfterWriteWindowMillis,
      retryCooldownMillis: read.integer('DATABASE_REPLICA_RETRY_COOLDOWN', 0, 3600_000) ?? defaults.replica.retryCooldownMillis,
      maxLagMillis: read.integer('DATABASE_REPLICA_MAX_LAG', 0, 3600_000) ?? defaults.replica.maxLagMillis,
      lagCheckIntervalMillis: read.integer('DATABASE_REPLICA_LAG_CHECK_INTERVAL', 10, 3600_000) ?? defaults.replica.lagCheckIntervalMillis,
    },
    query: {
      enableQueryLogging: read.boolean('ENABLE_QUERY_LOGGING') ?? defaults.query.enableQueryLogging,
      slowQueryThresholdMillis: read.integer('SLOW_QUERY_THRESHOLD', 1, DAY_MS) ?? defaults.query.slowQueryThresholdMillis,
      cacheEnabled: read.boolean('ENABLE_QUERY_CACHE') ?? defaults.query.cacheEnabled,
      cacheTtlSeconds: read.integer('QUERY_CACHE_TTL', 1, 7 * 24 * 3600) ?? defaults.query.cacheTtlSeconds,
    },
    cursorSecret,
  };
  if (read.issues.length > 0) throw new AppConfigError(read.issues);
  return config;
}
