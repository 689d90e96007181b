import { Pool } from 'pg';
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
});
