import { Pool } from 'pg';
import { PgExecutor } from '../../lambdas/db/pg-executor';
import { MemorySink } from '../../lambdas/metrics/sink';
import { runTask } from '../../lambdas/tasks/runner';
import { PublishingQueue } from '../../platform-db/publishing-queue';
import { QueryFile, loadQueryFiles } from '../../sql/query-files';
import { TestDatabase, createTestDatabase } from '../support/database';

/**
 * platform_app (065_application_role.sql): the application's least-privilege role. It must run
 * every query pattern of sql/queries, and must not change the dbops bookkeeping or the schema.
 */
const SAMPLE: Record<string, unknown> = {
  bigint: 1,
  integer: 10,
  'double precision': 30,
  numeric: 'Infinity',
  'timestamptz': new Date(),
  date: new Date().toISOString().slice(0, 10),
  text: 'summer',
  'text[]': ['summer'],
  campaign_status: 'active',
  conversation_status: 'open',
  'priority_level[]': ['high'],
};

function sampleParams(query: QueryFile): unknown[] {
  return query.params.map((param) => {
    if (!(param.type in SAMPLE)) throw new Error(`${query.fileName}: no sample value for type ${param.type}; add one to SAMPLE`);
    return SAMPLE[param.type];
  });
}

describe('application role platform_app', () => {
  let db: TestDatabase;
  let app: Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    // Created by the migration without a password (IAM on Aurora); one lets this test log in.
    await db.query(`ALTER ROLE platform_app PASSWORD 'platform-app-test'`);
    const url = new URL(db.url);
    url.username = 'platform_app';
    url.password = 'platform-app-test';
    app = db.newPool({ connectionString: url.toString(), max: 1 });
    // One tenant's worth of rows so the patterns touch real rows; views filled as the refresh task would.
    await db.query(`
      INSERT INTO workspaces (name, slug) VALUES ('Acme', 'acme');
      INSERT INTO users (email, password_hash) VALUES ('a@acme.test', repeat('x', 60));
      INSERT INTO posts (workspace_id, author_id, content, status, scheduled_at)
        SELECT 1, 1, 'post ' || g, 'SCHEDULED', now() - interval '1 minute' FROM generate_series(1, 5) g;`);
    const views = `SELECT view_name FROM dbops.materialized_views m JOIN pg_class c ON c.oid = to_regclass(m.view_name) AND c.relkind = 'm' ORDER BY refresh_order`;
    for (const row of await db.query<{ view_name: string }>(views)) {
      await db.query(`REFRESH MATERIALIZED VIEW ${row.view_name}`);
    }
  });
  afterAll(async () => {
    await db.drop();
  });

  it('is a plain login role that owns nothing', async () => {
    const [role] = await db.query(`SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = 'platform_app'`);
    expect(role).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false, rolcanlogin: true });
    const owned = await db.query(`SELECT count(*)::int AS n FROM pg_class WHERE relowner = 'platform_app'::regrole`);
    expect(owned).toEqual([{ n: 0 }]);
  });

  const queries = loadQueryFiles();
  it.each(queries.map((q) => [q.name, q] as const))('runs %s', async (_name, query) => {
    const client = await app.connect();
    try {
      await client.query('BEGIN');
      await client.query(query.sql, sampleParams(query));
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('writes the platform tables, partitioned ones included, and reads the views', async () => {
    await expect(app.query(`INSERT INTO security_audit_logs (action, occurred_at) VALUES ('user.login', now()) RETURNING id`)).resolves.toMatchObject({ rowCount: 1 });
    await expect(app.query(`UPDATE posts SET content = content WHERE workspace_id = 1`)).resolves.toMatchObject({ rowCount: 5 });
    await expect(app.query(`DELETE FROM security_audit_logs WHERE action = 'user.login'`)).resolves.toMatchObject({ rowCount: 1 });
    await expect(app.query(`SELECT count(*) FROM mv_daily_post_metrics`)).resolves.toBeDefined();
  });

  it('is covered on tables and partitions the migration user creates later', async () => {
    const master = db.newPool({ connectionString: db.masterUrl, max: 1 });
    await master.query(`CREATE TABLE public.later_feature (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text)`);
    await master.query(`SELECT * FROM dbops.create_monthly_partitions(p_table => 'public.security_audit_logs', p_months_ahead => 6)`);
    await expect(app.query(`INSERT INTO later_feature (note) VALUES ('x') RETURNING id`)).resolves.toMatchObject({ rowCount: 1 });
    const partitions = await db.query<{ partition: string }>(
      `SELECT inhrelid::regclass::text AS partition FROM pg_inherits WHERE inhparent = 'public.security_audit_logs'::regclass`,
    );
    expect(partitions.length).toBeGreaterThan(2);
    for (const { partition } of partitions) await expect(app.query(`SELECT count(*) FROM ${partition}`)).resolves.toBeDefined();
  });

  it.each([
    ['record a migration', `INSERT INTO dbops.schema_migrations (version, checksum, duration_ms) VALUES ('999_x.sql', repeat('a', 64), 1)`],
    ['read the migrations', `SELECT version FROM dbops.schema_migrations`],
    ['change the partition registry', `UPDATE dbops.partitioned_tables SET retention_months = 1`],
    ['forge a refresh', `INSERT INTO dbops.mv_refresh_log (view_name) VALUES ('public.mv_daily_post_metrics')`],
    ['create partitions', `SELECT * FROM dbops.create_monthly_partitions()`],
    ['drop partitions', `SELECT * FROM dbops.drop_old_partitions()`],
    ['create a table', `CREATE TABLE public.app_made (id int)`],
    ['alter a table', `ALTER TABLE public.posts ADD COLUMN x int`],
    ['drop an index', `DROP INDEX public.posts_pkey`],
    ['truncate a table', `TRUNCATE public.posts`],
    ['add a trigger', `CREATE TRIGGER t BEFORE INSERT ON public.posts FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at()`],
    ['refresh a view', `REFRESH MATERIALIZED VIEW public.mv_daily_post_metrics`],
    // 092: the analytics relations are tables since 070, kept only by the refresh machinery.
    ['write an analytics relation', `DELETE FROM public.mv_daily_post_metrics`],
    ['forge a top-post total', `INSERT INTO public.analytics_post_engagement SELECT * FROM public.analytics_post_engagement LIMIT 1`],
  ])('cannot %s', async (_what, sql) => {
    const error = await app.query(sql).then(() => undefined, (e: Error & { code?: string }) => e);
    expect(error?.code).toBe('42501'); // insufficient_privilege, "permission denied" and "must be owner" alike
  });
  // Last: it moves the five scheduled posts through the publishing queue (080, 081).
  it('runs the publishing lifecycle through the library, and the queue task reads what it did as dbops_maintenance', async () => {
    await db.query(`
      INSERT INTO social_accounts (workspace_id, platform, external_account_id, handle)
        SELECT 1, p::social_platform, 'acct-' || p, '@' || p FROM unnest(ARRAY['twitter', 'linkedin', 'facebook']) p;
      INSERT INTO post_targets (post_id, social_account_id) SELECT p.id, a.id FROM posts p CROSS JOIN social_accounts a WHERE p.status = 'SCHEDULED';`);
    const queue = new PublishingQueue(app, { workerId: 'app-1', maxAttempts: 3, baseDelaySeconds: 600, maxDelaySeconds: 1200 });

    const [a, b] = await queue.claim(2);
    const report = await queue.report([
      ...a.targets.map((t) => ({ targetId: t.targetId, leaseToken: a.leaseToken, externalPostId: `ext-${t.targetId}` })),
      { targetId: b.targets[0].targetId, leaseToken: b.leaseToken, error: 'HTTP 503', retryable: true },
      ...b.targets.slice(1).map((t) => ({ targetId: t.targetId, leaseToken: b.leaseToken, externalPostId: `ext-${t.targetId}` })),
    ]);
    expect(report.map((r) => r.result)).toEqual(['post-published', 'post-published', 'post-published', 'retry-scheduled', 'retry-scheduled', 'retry-scheduled']);
    const [c, d] = await queue.claim(2);
    const single = [];
    for (const t of c.targets) single.push(await queue.complete(t.targetId, c.leaseToken, `ext-${t.targetId}`));
    for (const t of d.targets) single.push(await queue.fail(t.targetId, d.leaseToken, 'account suspended', { retryable: false }));
    expect(single).toEqual(['recorded', 'recorded', 'post-published', 'recorded', 'recorded', 'post-failed']);
    const [e] = await queue.claim(5);
    expect(await queue.release()).toBe(1);
    // A post with no target to publish is settled, not published.
    await app.query(`INSERT INTO posts (workspace_id, author_id, content, status, scheduled_at) VALUES (1, 1, 'empty', 'SCHEDULED', now() - interval '1 minute')`);
    const claimed = await queue.claim(5);
    expect(claimed.map((p) => p.postId)).toContain(e.postId);
    const empty = claimed.find((p) => p.targets.length === 0)!;
    expect(await queue.settle(empty.postId, empty.leaseToken)).toBe('post-failed');
    expect(await queue.release()).toBe(1);

    const statuses = await db.query<{ id: string; status: string }>(`SELECT id::text, status::text FROM posts WHERE id = ANY ($1::bigint[]) ORDER BY id`, [
      [a.postId, b.postId, c.postId, d.postId, e.postId, empty.postId],
    ]);
    expect(statuses.map((r) => r.status)).toEqual(['PUBLISHED', 'PUBLISHING', 'PUBLISHED', 'FAILED', 'SCHEDULED', 'FAILED']);
    // The application has no way into the queue's health: that is the maintenance role's.
    const refused = await app.query(`SELECT * FROM dbops.publish_queue_stats()`).then(() => undefined, (error: Error & { code?: string }) => error.code);
    expect(refused).toBe('42501');

    await db.query(`ALTER ROLE dbops_maintenance PASSWORD 'maintenance-test'`);
    const url = new URL(db.url);
    url.username = 'dbops_maintenance';
    url.password = 'maintenance-test';
    const executor = new PgExecutor(db.newPool({ connectionString: url.toString(), max: 2 }), false);
    const result = await runTask(
      { task: 'release-stuck-claims' },
      { executor, sink: new MemorySink(), settings: { environment: 'test', lockTimeoutMs: 2000 }, log: () => undefined },
    );
    expect(result.status).toBe('succeeded');
    expect(result.summary).toMatchObject({ requeued: 0, dueUnheld: 1, held: 0, retryBacklog: 1, windowPublished: 2, windowFailed: 2, successPercent: 50 });
  });
});
