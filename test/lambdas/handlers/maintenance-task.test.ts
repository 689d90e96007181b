import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { Pool } from 'pg';
import { PgExecutor } from '../../../lambdas/db/pg-executor';
import { poolConfigFor } from '../../../lambdas/db/pool-from-env';
import { withFlushedStats } from '../tasks/helpers';
import type { Executor } from '../../../lambdas/db/executor';
import { createHandler, TaskFailedError } from '../../../lambdas/handlers/maintenance-task';
import type { TaskResult } from '../../../lambdas/tasks/types';
import { createTestDatabase, TestDatabase } from '../../support/database';

const cw = mockClient(CloudWatchClient);
const sm = mockClient(SecretsManagerClient);

function published(): { name: string; value: number; dims: Record<string, string> }[] {
  return cw.commandCalls(PutMetricDataCommand).flatMap((c) =>
    (c.args[0].input.MetricData ?? []).map((d) => ({
      name: d.MetricName as string,
      value: d.Value as number,
      dims: Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value])),
    })),
  );
}

/** An executor that records whether anything tried to reach the database. */
function spyExecutor(): Executor & { sessions: number } {
  const spy = {
    driver: 'pg' as const,
    limits: { sessionState: true },
    sessions: 0,
    async withSession() {
      spy.sessions += 1;
      throw new Error('no SQL expected');
    },
    async close() {},
  };
  return spy;
}

const lambdaContext = { getRemainingTimeInMillis: () => 300_000 };

describe('maintenance-task handler', () => {
  let db: TestDatabase;
  const handlers: { dispose(): Promise<void> }[] = [];
  const make = (deps: Parameters<typeof createHandler>[0]) => {
    const handler = createHandler(deps);
    handlers.push(handler);
    return handler;
  };
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(handlers.map((h) => h.dispose()));
    await db.drop();
    cw.restore();
    sm.restore();
  });
  beforeEach(() => {
    cw.reset();
    sm.reset();
    cw.on(PutMetricDataCommand).resolves({});
  });

  const env = () => ({ DATABASE_URL: db.url, DBOPS_ENV: 'staging', METRICS_NAMESPACE: 'AuroraDbops' });

  it('runs a task and publishes its metrics with the environment dimension', async () => {
    const handler = make({ env: env() });
    const result = (await handler({ task: 'health-check' }, lambdaContext)) as TaskResult;
    expect(result.status).toBe('succeeded');
    expect(result.metrics?.error).toBeUndefined();
    expect(cw.commandCalls(PutMetricDataCommand)[0].args[0].input.Namespace).toBe('AuroraDbops');
    const data = published();
    expect(data).toContainEqual({ name: 'TaskSuccess', value: 1, dims: { Environment: 'staging', Task: 'health-check' } });
    expect(data.find((d) => d.name === 'ConnectionUtilization')?.dims).toEqual({ Environment: 'staging' });
    expect(JSON.parse(JSON.stringify(result)).task).toBe('health-check');
  });

  it('opens the instances DBOPS_INSTANCE_URLS names for the per-server tasks only, and publishes each one', async () => {
    const handler = make({ env: { ...env(), DBOPS_INSTANCE_URLS: `first=${db.url},second=${db.url}` } });
    const result = (await handler({ task: 'long-query-check' }, lambdaContext)) as TaskResult;
    expect(result.status).toBe('succeeded');
    const perInstance = published().filter((d) => d.name === 'LongRunningQueryCount' && d.dims.DBInstanceIdentifier);
    expect(perInstance.map((d) => d.dims)).toEqual([
      { Environment: 'staging', DBInstanceIdentifier: 'first' },
      { Environment: 'staging', DBInstanceIdentifier: 'second' },
    ]);
    // Closed after the run: no dbops:instances session is left on the server.
    expect(await db.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'dbops:instances' AND datname = current_database()`)).toEqual([]);

    cw.reset();
    cw.on(PutMetricDataCommand).resolves({});
    const bad = make({ env: { ...env(), DBOPS_INSTANCE_URLS: 'not-a-pair' } });
    // Only the per-server tasks read the list, so a task that does not need it is not held up by it.
    expect(((await bad({ task: 'release-stuck-claims' }, lambdaContext)) as TaskResult).status).toBe('succeeded');
    await expect(bad({ task: 'health-check' }, lambdaContext)).rejects.toThrow(/DBOPS_INSTANCE_URLS entries must be id=postgres/);
  });

  it('on failure publishes TaskFailure, then throws with the reason', async () => {
    // A managed view that cannot be refreshed concurrently (no unique index): a real failed run.
    await db.query(`CREATE MATERIALIZED VIEW public.mv_no_unique AS SELECT 1 AS x;
                    INSERT INTO dbops.materialized_views (view_name, refresh_order) VALUES ('public.mv_no_unique', 99)`);
    try {
      const handler = make({ env: env() });
      const error = await handler({ task: 'refresh-materialized-views', view: 'public.mv_no_unique' }, lambdaContext).catch((e: Error) => e);
      expect(error).toBeInstanceOf(TaskFailedError);
      expect((error as Error).message).toMatch(/refresh-materialized-views failed: .*mv_no_unique/i);
      expect(published()).toContainEqual({ name: 'TaskFailure', value: 1, dims: { Environment: 'staging', Task: 'refresh-materialized-views' } });
    } finally {
      await db.query(`DELETE FROM dbops.materialized_views WHERE view_name = 'public.mv_no_unique'; DROP MATERIALIZED VIEW public.mv_no_unique`);
    }
  });

  it.each([
    ['an unmanaged view', { task: 'refresh-materialized-views', view: 'public.not_managed' }, /option view=public\.not_managed: no materialized view public\.not_managed exists/],
    ['a missing index', { task: 'reindex', index: 'public.no_such_index' }, /option index=public\.no_such_index: no index public\.no_such_index exists/],
  ])('returns %s as rejected: TaskRejected, no TaskFailure, nothing thrown for Lambda to retry', async (_what, event, message) => {
    const handler = make({ env: env() });
    const result = await handler(event, lambdaContext);
    expect(result).toEqual({ task: event.task, status: 'rejected', error: { name: 'ValidationError', message: expect.stringMatching(message) } });
    expect(published()).toEqual([{ name: 'TaskRejected', value: 1, dims: { Environment: 'staging', Task: event.task } }]);
  });

  it('a CloudWatch outage is reported in the result; the task work stands', async () => {
    cw.on(PutMetricDataCommand).rejects(Object.assign(new Error('service unavailable'), { name: 'InternalServiceFault', $metadata: {} }));
    await withFlushedStats(db.pool(), `CREATE TABLE public.to_analyze AS SELECT g AS id FROM generate_series(1, 5000) g`);
    const handler = make({ env: env() });
    const result = (await handler({ task: 'update-statistics', table: 'public.to_analyze', minModifiedRows: 1 }, lambdaContext)) as TaskResult;
    expect(result.status).toBe('succeeded');
    expect(result.summary.analyzed).toEqual([expect.objectContaining({ table: 'public.to_analyze' })]);
    expect(result.metrics?.error).toMatch(/InternalServiceFault/);
    expect(result.warnings.join(' ')).toMatch(/metrics not published/);
    const [row] = await db.query<{ last_analyze: Date | null }>(`SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'to_analyze'`);
    expect(row.last_analyze).not.toBeNull();
  });

  it.each([
    ['null', null, /must be a JSON object/],
    ['an array', [{ task: 'health-check' }], /must be a JSON object/],
    ['a string', 'health-check', /must be a JSON object/],
    ['a number', 42, /must be a JSON object/],
    ['no task', {}, /no "task" field/],
    ['a numeric task', { task: 7 }, /unknown task 7/],
    ['an unknown task', { task: 'drop-database' }, /unknown task "drop-database"/],
    ['an EventBridge envelope', { 'detail-type': 'Scheduled Event', detail: { task: 'health-check' } }, /no "task" field/],
    ['an extra field', { task: 'vacuum-analyze', force: true }, /unknown option "force"/],
    ['options nested', { task: 'health-check', options: {} }, /unknown option "options"/],
    ['dryRun as a string', { task: 'vacuum-analyze', dryRun: 'yes' }, /"dryRun" must be a boolean, got string/],
    ['a fractional month count', { task: 'create-partitions', monthsAhead: 1.5 }, /"monthsAhead" must be a whole number/],
    ['a retention of 0', { task: 'drop-old-partitions', retentionMonths: 0 }, /"retentionMonths" must be between 1 and 1200/],
    ['a bloat share over 100', { task: 'reindex', minBloatPercent: 200 }, /"minBloatPercent" must be between 0 and 100/],
    ['a null option', { task: 'long-query-check', thresholdSeconds: null }, /"thresholdSeconds" must be a number, got null/],
    ['an injection attempt', { task: 'refresh-materialized-views', view: 'mv; DROP TABLE posts' }, /"view" must match/],
    ['an empty table name', { task: 'vacuum-analyze', table: '' }, /"table" must match/],
    ['a lock timeout as text', { task: 'vacuum-analyze', lockTimeoutMs: '5000' }, /"lockTimeoutMs" must be a number, got string/],
  ])('rejects %s before any SQL, as a validation error (not a failure)', async (_what, event, message) => {
    const executor = spyExecutor();
    const factory = jest.fn(async () => executor);
    const handler = make({ env: env(), createExecutor: factory });
    const result = await handler(event, lambdaContext);
    expect(result).toMatchObject({ status: 'rejected', error: { name: 'ValidationError' } });
    expect((result as { error: { message: string } }).error.message).toMatch(message);
    expect(factory).not.toHaveBeenCalled();
    expect(executor.sessions).toBe(0);
    expect(published().find((d) => d.name === 'TaskFailure')).toBeUndefined();
    expect(published().find((d) => d.name === 'TaskRejected')?.value).toBe(1);
  });

  it('reads the database secret from Secrets Manager once per container', async () => {
    const url = new URL(db.url);
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ username: decodeURIComponent(url.username), password: decodeURIComponent(url.password), host: url.hostname, port: Number(url.port), dbname: url.pathname.slice(1) }),
    });
    const handler = make({
      env: { DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf', DBOPS_ENV: 'staging' },
      // The embedded server has no TLS; production keeps rejectUnauthorized: true (see the pool tests).
      connection: { secretsManager: new SecretsManagerClient({}) },
      createExecutor: async (config) => {
        if (config.connection.kind !== 'secret') throw new Error('expected a secret connection');
        const pgConfig = await poolConfigFor(config.connection, { secretsManager: new SecretsManagerClient({}) });
        expect(pgConfig.ssl).toEqual({ rejectUnauthorized: true });
        const pool = new Pool({ ...pgConfig, ssl: false });
        pool.on('error', () => undefined);
        return new PgExecutor(pool);
      },
    });
    expect((await handler({ task: 'long-query-check' }, lambdaContext)).status).toBe('succeeded');
    expect((await handler({ task: 'long-query-check' }, lambdaContext)).status).toBe('succeeded');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('an authentication failure (rotated secret) drops the cached pool so the next invocation reconnects', async () => {
    let built = 0;
    const handler = make({
      env: env(),
      createExecutor: async () => {
        built += 1;
        const failing: Executor = {
          driver: 'pg',
          limits: { sessionState: true },
          withSession: async () => {
            throw Object.assign(new Error('password authentication failed for user "dbops"'), { code: '28P01' });
          },
          close: async () => undefined,
        };
        return failing;
      },
    });
    await expect(handler({ task: 'health-check' }, lambdaContext)).rejects.toThrow(/password authentication failed/);
    await expect(handler({ task: 'health-check' }, lambdaContext)).rejects.toThrow(TaskFailedError);
    expect(built).toBe(2);
  });

  it('a configuration error names the variable', async () => {
    const handler = make({ env: { DATABASE_URL: db.url, PARTITION_RETENTION_MONTHS: 'forever' } });
    await expect(handler({ task: 'health-check' }, lambdaContext)).rejects.toThrow(/^PARTITION_RETENTION_MONTHS must be a whole number/);
  });
});
