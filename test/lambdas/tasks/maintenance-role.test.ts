import { PgExecutor } from '../../../lambdas/db/pg-executor';
import { tableBloat } from '../../../lambdas/checks/table-bloat';
import { MemorySink } from '../../../lambdas/metrics/sink';
import { runTask } from '../../../lambdas/tasks/runner';
import { TASK_NAMES } from '../../../lambdas/tasks/types';
import { createTestDatabase, TestDatabase } from '../../support/database';

/**
 * The scheduled tasks log in as dbops_maintenance (060_maintenance_privileges.sql): pg_maintain,
 * pg_monitor and the two partition entry points, nothing more. Every task must work with exactly
 * that, and the role must not be able to read or change platform data.
 */
describe('least-privilege maintenance role', () => {
  let db: TestDatabase;
  let maintenanceUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    // The role is created by the migration; a password lets this test log in without IAM.
    await db.query(`ALTER ROLE dbops_maintenance PASSWORD 'maintenance-test'`);
    const url = new URL(db.url);
    url.username = 'dbops_maintenance';
    url.password = 'maintenance-test';
    maintenanceUrl = url.toString();
    await db.query(`
      INSERT INTO workspaces (name, slug) VALUES ('Acme', 'acme');
      INSERT INTO users (email, password_hash) VALUES ('a@acme.test', repeat('x', 60));
      INSERT INTO posts (workspace_id, author_id, content) SELECT 1, 1, 'post ' || g FROM generate_series(1, 500) g;
      DELETE FROM posts WHERE id % 2 = 0;
      INSERT INTO security_audit_logs (action, occurred_at) VALUES ('user.login', now() - interval '40 months');`);
    // A partition far beyond retention, for drop-old-partitions to remove.
    await db.query(`SELECT * FROM dbops.create_monthly_partitions(p_table => 'public.security_audit_logs', p_include_default_months => true)`);
    const old = await db.query(`SELECT count(*)::int AS n FROM dbops.partition_bounds('public.security_audit_logs') WHERE range_end < now() - interval '30 months'`);
    expect(old).toEqual([{ n: 1 }]);
  });
  afterAll(async () => {
    await db.drop();
  });

  it('cannot read or change platform data', async () => {
    const pool = db.newPool({ connectionString: maintenanceUrl, max: 1 });
    await expect(pool.query('SELECT count(*) FROM public.posts')).rejects.toThrow(/permission denied/);
    await expect(pool.query(`DELETE FROM public.workspaces`)).rejects.toThrow(/permission denied/);
    await expect(pool.query(`DROP TABLE public.security_audit_logs_default`)).rejects.toThrow(/must be owner/);
    // The internal helper runs with the caller's rights, so calling it directly is no way around the entry points.
    await expect(pool.query(`SELECT dbops.create_month_partition('public.listening_mentions', now() + interval '2 years')`)).rejects.toThrow(
      /must be owner|permission denied/,
    );
  });

  it('sees the same bloat estimates as the tables\' owner, without reading their data', async () => {
    await db.query('ANALYZE');
    const estimateAs = (url: string) => new PgExecutor(db.newPool({ connectionString: url, max: 1 }), false).withSession((session) => tableBloat(session));
    const asMaintenance = await estimateAs(maintenanceUrl);
    const asOwner = await estimateAs(db.url);
    expect(asMaintenance.map((t) => t.table)).toContain('public.posts');
    expect(asMaintenance).toEqual(asOwner);
  });

  it.each(TASK_NAMES)('runs %s', async (task) => {
    const executor = new PgExecutor(db.newPool({ connectionString: maintenanceUrl, max: 3 }), false);
    const options = task === 'reindex' ? { all: true } : {};
    const result = await runTask(
      { task, ...options },
      { executor, sink: new MemorySink(), settings: { environment: 'test', lockTimeoutMs: 2000 }, log: () => undefined },
    );
    if (process.env.SHOW) console.log(JSON.stringify(result));
    expect({ task, status: result.status, error: result.error, failures: result.failures }).toEqual({
      task,
      status: 'succeeded',
      error: undefined,
      failures: [],
    });
    if (task === 'reindex') {
      const rebuilt = (result.summary.rebuilt as { index: string }[]).map((r) => r.index);
      expect(rebuilt).toEqual(expect.arrayContaining(['public.posts_pkey', 'public.workspaces_pkey']));
    }
    if (task === 'drop-old-partitions') {
      const old = await db.query(`SELECT count(*)::int AS n FROM dbops.partition_bounds('public.security_audit_logs') WHERE range_end < now() - interval '30 months'`);
      expect(old).toEqual([{ n: 0 }]);
    }
  });

  it('runs a repair of the analytics (refresh-materialized-views full=true: the request, then the rebuild steps)', async () => {
    const executor = new PgExecutor(db.newPool({ connectionString: maintenanceUrl, max: 3 }), false);
    const result = await runTask(
      { task: 'refresh-materialized-views', full: true },
      { executor, sink: new MemorySink(), settings: { environment: 'test', lockTimeoutMs: 2000 }, log: () => undefined },
    );
    expect({ status: result.status, error: result.error, failures: result.failures, remaining: result.remaining }).toEqual({
      status: 'succeeded',
      error: undefined,
      failures: [],
      remaining: [],
    });
    expect((result.summary.refreshed as { mode: string }[]).every((r) => r.mode === 'full')).toBe(true);
  });
});
