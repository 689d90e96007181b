import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AppConfigError, CONFIG_VARIABLES, loadPlatformDbConfig } from '../../platform-db/config';
import { poolOptions } from '../../platform-db/pools';

const URL = 'postgresql://app:secret@db.internal:5432/platform';

function issuesOf(env: Record<string, string>, environment?: string): { variable: string; problem: string }[] {
  try {
    loadPlatformDbConfig(env, environment);
  } catch (error) {
    expect(error).toBeInstanceOf(AppConfigError);
    return (error as AppConfigError).issues;
  }
  throw new Error('loadPlatformDbConfig accepted the environment');
}

describe('loadPlatformDbConfig', () => {
  it('gives the spec production pool defaults', () => {
    const config = loadPlatformDbConfig({ DATABASE_URL: URL, NODE_ENV: 'production' });
    expect(config.environment).toBe('production');
    expect(config.pool).toMatchObject({
      min: 10,
      max: 100,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30000,
      statementTimeoutMillis: 30000,
      queryTimeoutMillis: 30000,
    });
    expect(config.query).toEqual({ enableQueryLogging: true, slowQueryThresholdMillis: 1000, cacheEnabled: true, cacheTtlSeconds: 300 });
    expect(config.readReplicaUrl).toBeUndefined();
  });

  it('chooses defaults by NODE_ENV, and an explicit environment argument wins', () => {
    const dev = loadPlatformDbConfig({ DATABASE_URL: URL, NODE_ENV: 'development' });
    const test = loadPlatformDbConfig({ DATABASE_URL: URL, NODE_ENV: 'test' });
    const staging = loadPlatformDbConfig({ DATABASE_URL: URL, NODE_ENV: 'test' }, 'staging');
    expect(dev.pool.max).toBeLessThan(100);
    expect(test.pool.max).toBeLessThan(dev.pool.max + 1);
    expect(staging.environment).toBe('staging');
    expect(staging.pool.max).toBe(50);
    expect(loadPlatformDbConfig({ DATABASE_URL: URL }).environment).toBe('development');
  });

  it('reads every variable the spec lists', () => {
    const config = loadPlatformDbConfig({
      NODE_ENV: 'production',
      DATABASE_URL: URL,
      DATABASE_READ_REPLICA_URL: 'postgres://app:secret@replica.internal:5432/platform',
      DATABASE_POOL_MIN: '3',
      DATABASE_POOL_MAX: '7',
      DATABASE_CONNECTION_TIMEOUT: '1500',
      DATABASE_IDLE_TIMEOUT: '2500',
      DATABASE_STATEMENT_TIMEOUT: '4000',
      DATABASE_QUERY_TIMEOUT: '4500',
      DATABASE_MAX_CONNECTION_LIFETIME: '600',
      ENABLE_QUERY_LOGGING: 'false',
      SLOW_QUERY_THRESHOLD: '250',
      ENABLE_QUERY_CACHE: '0',
      QUERY_CACHE_TTL: '60',
    });
    expect(config.readReplicaUrl).toBe('postgres://app:secret@replica.internal:5432/platform');
    expect(config.pool).toMatchObject({ min: 3, max: 7, connectionTimeoutMillis: 1500, idleTimeoutMillis: 2500, statementTimeoutMillis: 4000, queryTimeoutMillis: 4500, maxLifetimeSeconds: 600 });
    expect(config.query).toEqual({ enableQueryLogging: false, slowQueryThresholdMillis: 250, cacheEnabled: false, cacheTtlSeconds: 60 });
  });

  it('reads the replica lag bound and its check interval, with defaults, and 0 turns the bound off', () => {
    expect(loadPlatformDbConfig({ DATABASE_URL: URL, NODE_ENV: 'production' }).replica).toMatchObject({ maxLagMillis: 5000, lagCheckIntervalMillis: 1000 });
    const set = loadPlatformDbConfig({ DATABASE_URL: URL, NODE_ENV: 'production', DATABASE_REPLICA_MAX_LAG: '0', DATABASE_REPLICA_LAG_CHECK_INTERVAL: '250' });
    expect(set.replica).toMatchObject({ maxLagMillis: 0, lagCheckIntervalMillis: 250 });
  });

  it('treats empty values as unset', () => {
    const config = loadPlatformDbConfig({ DATABASE_URL: URL, NODE_ENV: 'production', DATABASE_POOL_MAX: '', ENABLE_QUERY_CACHE: '  ' });
    expect(config.pool.max).toBe(100);
    expect(config.query.cacheEnabled).toBe(true);
  });

  it("uses Prisma's connection_limit and pool_timeout only as fallbacks, and strips them from the URL", () => {
    const withParams = `${URL}?connection_limit=20&pool_timeout=5&sslmode=require`;
    const fallback = loadPlatformDbConfig({ DATABASE_URL: withParams, NODE_ENV: 'production' });
    expect(fallback.pool.max).toBe(20);
    expect(fallback.pool.connectionTimeoutMillis).toBe(5000);
    expect(fallback.databaseUrl).toBe(`${URL}?sslmode=require`);
    const explicit = loadPlatformDbConfig({ DATABASE_URL: withParams, NODE_ENV: 'production', DATABASE_POOL_MAX: '100', DATABASE_CONNECTION_TIMEOUT: '3000' });
    expect(explicit.pool.max).toBe(100);
    expect(explicit.pool.connectionTimeoutMillis).toBe(3000);
  });

  it.each([
    [{ DATABASE_POOL_MAX: 'lots' }, 'DATABASE_POOL_MAX', /whole number.*"lots"/],
    [{ DATABASE_POOL_MIN: '-1' }, 'DATABASE_POOL_MIN', /between 0 and/],
    [{ DATABASE_CONNECTION_TIMEOUT: '2.5' }, 'DATABASE_CONNECTION_TIMEOUT', /whole number/],
    [{ DATABASE_IDLE_TIMEOUT: '0' }, 'DATABASE_IDLE_TIMEOUT', /between 1 and/],
    [{ SLOW_QUERY_THRESHOLD: '1e3' }, 'SLOW_QUERY_THRESHOLD', /whole number/],
    [{ QUERY_CACHE_TTL: '-300' }, 'QUERY_CACHE_TTL', /between 1 and/],
    [{ ENABLE_QUERY_LOGGING: 'yes please' }, 'ENABLE_QUERY_LOGGING', /true, false, 1 or 0/],
    [{ ENABLE_QUERY_CACHE: 'on' }, 'ENABLE_QUERY_CACHE', /true, false, 1 or 0/],
    [{ DATABASE_POOL_MIN: '20', DATABASE_POOL_MAX: '10' }, 'DATABASE_POOL_MIN', /\(20\) must not be above DATABASE_POOL_MAX \(10\)/],
    [{ DATABASE_READ_REPLICA_URL: 'not a url' }, 'DATABASE_READ_REPLICA_URL', /not a valid URL/],
    [{ DATABASE_READ_REPLICA_URL: 'mysql://h:3306/db' }, 'DATABASE_READ_REPLICA_URL', /postgres:\/\/ or postgresql:\/\//],
    [{ DATABASE_READ_REPLICA_URL: 'postgresql://replica:5432/' }, 'DATABASE_READ_REPLICA_URL', /names no database/],
    [{ DATABASE_URL: 'postgresql://db:5432/platform?connection_limit=many' }, 'DATABASE_URL', /connection_limit/],
    [{ DATABASE_REPLICA_MAX_LAG: '-5' }, 'DATABASE_REPLICA_MAX_LAG', /between 0 and/],
    [{ DATABASE_REPLICA_MAX_LAG: '5s' }, 'DATABASE_REPLICA_MAX_LAG', /whole number.*"5s"/],
    [{ DATABASE_REPLICA_LAG_CHECK_INTERVAL: '0' }, 'DATABASE_REPLICA_LAG_CHECK_INTERVAL', /between 10 and/],
    [{ PAGINATION_CURSOR_SECRET: 'short' }, 'PAGINATION_CURSOR_SECRET', /at least 16/],
  ])('rejects %j naming %s', (bad, variable, problem) => {
    const issues = issuesOf({ DATABASE_URL: URL, NODE_ENV: 'production', ...bad } as Record<string, string>);
    const issue = issues.find((i) => i.variable === variable);
    expect(issue).toBeDefined();
    expect(issue!.problem).toMatch(problem);
    expect(() => loadPlatformDbConfig({ DATABASE_URL: URL, NODE_ENV: 'production', ...bad } as Record<string, string>)).toThrow(variable);
  });

  it('requires DATABASE_URL, rejects an unknown environment, and reports every problem at once', () => {
    const issues = issuesOf({ NODE_ENV: 'qa', DATABASE_POOL_MAX: 'x', ENABLE_QUERY_CACHE: 'maybe' });
    expect(issues.map((i) => i.variable).sort()).toEqual(['DATABASE_POOL_MAX', 'DATABASE_URL', 'ENABLE_QUERY_CACHE', 'NODE_ENV']);
    expect(issuesOf({ DATABASE_URL: URL }, 'preprod')).toEqual([{ variable: 'environment', problem: expect.stringMatching(/development, test, staging, production/) }]);
  });

  it('turns the configuration into pg pool options for writer and reader', () => {
    const config = loadPlatformDbConfig({ NODE_ENV: 'production', DATABASE_URL: URL, DATABASE_READ_REPLICA_URL: 'postgresql://replica:5432/platform', DATABASE_APPLICATION_NAME: 'api' });
    const writer = poolOptions(config, 'writer');
    expect(writer).toMatchObject({
      connectionString: URL,
      min: 10,
      max: 100,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30000,
      statement_timeout: 30000,
      query_timeout: 30000,
      maxLifetimeSeconds: 1800,
      application_name: 'api:writer',
    });
    expect(poolOptions(config, 'reader')).toMatchObject({ connectionString: 'postgresql://replica:5432/platform', application_name: 'api:reader' });
    const noReplica = loadPlatformDbConfig({ NODE_ENV: 'production', DATABASE_URL: URL });
    expect(() => poolOptions(noReplica, 'reader')).toThrow(/no connection string for the reader pool/);
  });

  it('.env.example lists every variable and parses to the production defaults', () => {
    const text = readFileSync(path.join(__dirname, '../../.env.example'), 'utf8');
    const env: Record<string, string> = {};
    for (const line of text.split('\n')) {
      const match = /^([A-Z_]+)=(.*)$/.exec(line);
      if (match) env[match[1]] = match[2];
    }
    expect(Object.keys(env).sort()).toEqual([...CONFIG_VARIABLES].sort());
    const config = loadPlatformDbConfig(env);
    expect(config.pool).toMatchObject({ min: 10, max: 100, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30000, statementTimeoutMillis: 30000, queryTimeoutMillis: 30000 });
  });
});
