import { seedDemo } from '../../../local/demo-seed';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { harness, TaskHarness } from './helpers';

describe('refresh-materialized-views', () => {
  let db: TestDatabase;
  let h: TaskHarness;

  beforeAll(async () => {
    db = await createTestDatabase();
    h = harness(db);
    await seedDemo({ query: (text) => db.query(text) }, { scale: 0.05 });
  });
  afterAll(() => db.drop());

  const freshness = async (view: string) =>
    (await db.query<{ populated: boolean; staleness_seconds: number | null }>(`SELECT populated, staleness_seconds FROM dbops.mv_freshness WHERE view_name = $1`, [view]))[0];

  it('rejects a view that is not managed before any DDL', async () => {
    await db.query(`CREATE MATERIALIZED VIEW public.mv_rogue AS SELECT 1 AS x WITH NO DATA`);
    const result = await h.run({ task: 'refresh-materialized-views', view: 'public.mv_rogue' });
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/public\.mv_rogue is not listed in dbops\.materialized_views/);
    const [{ ispopulated }] = await db.query<{ ispopulated: boolean }>(`SELECT ispopulated FROM pg_matviews WHERE matviewname = 'mv_rogue'`);
    expect(ispopulated).toBe(false);
    expect(await db.query(`SELECT 1 FROM dbops.mv_refresh_log`)).toHaveLength(0);
  });

  it('fills unpopulated views with a plain refresh, in refresh_order, and logs each', async () => {
    expect((await freshness('public.mv_daily_workspace_activity')).populated).toBe(false);
    const result = await h.run({ task: 'refresh-materialized-views' });
    expect(result.status).toBe('succeeded');
    const refreshed = result.summary.refreshed as { view: string; mode: string }[];
    const registry = await db.query<{ view_name: string }>(`SELECT view_name FROM dbops.materialized_views ORDER BY refresh_order`);
    expect(refreshed.map((r) => r.view)).toEqual(registry.map((r) => r.view_name));
    expect(new Set(refreshed.map((r) => r.mode))).toEqual(new Set(['complete']));
    const log = await db.query<{ view_name: string; mode: string; succeeded: boolean; duration_ms: number }>(`SELECT * FROM dbops.mv_refresh_log ORDER BY id`);
    expect(log.map((l) => l.view_name)).toEqual(registry.map((r) => r.view_name));
    expect(log.every((l) => l.succeeded && l.mode === 'complete' && l.duration_ms >= 0)).toBe(true);
    expect((await freshness('public.mv_daily_workspace_activity')).populated).toBe(true);
    expect(h.sink.values('MaterializedViewRefreshDuration', { View: 'public.mv_daily_workspace_activity' })).toHaveLength(1);
  });

  it('refreshes a stale view concurrently: new data appears and staleness drops', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const staleBefore = (await freshness('public.mv_daily_workspace_activity')).staleness_seconds as number;
    expect(staleBefore).toBeGreaterThan(1);
    const [ws] = await db.query<{ id: string }>(`INSERT INTO public.workspaces (name, slug) VALUES ('Fresh', 'fresh-ws') RETURNING id`);
    await db.query(`INSERT INTO public.posts (workspace_id, author_id, content) VALUES ($1, 1, 'brand new')`, [ws.id]);
    const missing = await db.query(`SELECT 1 FROM public.mv_daily_workspace_activity WHERE workspace_id = $1`, [ws.id]);
    expect(missing).toHaveLength(0);

    const result = await h.run({ task: 'refresh-materialized-views', view: 'mv_daily_workspace_activity' });
    expect(result.status).toBe('succeeded');
    expect(result.summary.refreshed).toEqual([expect.objectContaining({ view: 'public.mv_daily_workspace_activity', mode: 'concurrently' })]);
    expect(await db.query(`SELECT 1 FROM public.mv_daily_workspace_activity WHERE workspace_id = $1`, [ws.id])).not.toHaveLength(0);
    const staleAfter = (await freshness('public.mv_daily_workspace_activity')).staleness_seconds as number;
    expect(staleAfter).toBeLessThan(staleBefore);
    const published = h.sink.values('MaterializedViewStaleness', { View: 'public.mv_daily_workspace_activity' }).at(-1);
    expect(published).toBeLessThan(staleBefore);
  });

  it('logs a failed refresh with its error and reports the failure', async () => {
    // A view whose unique index was dropped can no longer be refreshed concurrently.
    await db.query(`DROP INDEX public.mv_influencer_metrics_key`);
    const result = await h.run({ task: 'refresh-materialized-views', view: 'public.mv_influencer_metrics' });
    expect(result.status).toBe('failed');
    expect(result.failures[0].item).toBe('public.mv_influencer_metrics');
    const [last] = await db.query<{ succeeded: boolean; error: string; mode: string }>(
      `SELECT succeeded, error, mode FROM dbops.mv_refresh_log WHERE view_name = 'public.mv_influencer_metrics' ORDER BY id DESC LIMIT 1`,
    );
    expect(last.succeeded).toBe(false);
    expect(last.mode).toBe('concurrently');
    expect(last.error).toMatch(/cannot refresh materialized view .* concurrently/);
    expect(h.sink.values('TaskFailure', { Task: 'refresh-materialized-views' }).at(-1)).toBe(1);
  });
});
