import { ValidationError } from '../../../lambdas/tasks/options';
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
    const error = await h.run({ task: 'refresh-materialized-views', view: 'public.mv_rogue' }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/option view=public\.mv_rogue: public\.mv_rogue is not managed \(not listed in dbops\.materialized_views\)/);
    // A managed name that is not a materialized view, and a missing one, are refused by name too.
    await expect(h.run({ task: 'refresh-materialized-views', view: 'public.posts' })).rejects.toThrow(/option view=public\.posts: public\.posts is not managed/);
    await expect(h.run({ task: 'refresh-materialized-views', view: 'public.posts_pkey' })).rejects.toThrow(/option view=public\.posts_pkey: public\.posts_pkey is an index, not a materialized view/);
    await expect(h.run({ task: 'refresh-materialized-views', view: 'public.mv_nope' })).rejects.toThrow(/option view=public\.mv_nope: no materialized view public\.mv_nope exists/);
    const [{ ispopulated }] = await db.query<{ ispopulated: boolean }>(`SELECT ispopulated FROM pg_matviews WHERE matviewname = 'mv_rogue'`);
    expect(ispopulated).toBe(false);
    expect(await db.query(`SELECT 1 FROM dbops.mv_refresh_log`)).toHaveLength(0);
  });

  it('fills never-built relations with a full rebuild, in refresh_order, and logs each with its buckets and rows', async () => {
    expect((await freshness('public.mv_daily_workspace_activity')).populated).toBe(false);
    const result = await h.run({ task: 'refresh-materialized-views', batchBuckets: 50 });
    expect(result.status).toBe('succeeded');
    const refreshed = result.summary.refreshed as { view: string; mode: string; batches: number; buckets: number; rowsChanged: number; complete: boolean }[];
    const registry = await db.query<{ view_name: string }>(`SELECT view_name FROM dbops.materialized_views ORDER BY refresh_order`);
    expect(refreshed.map((r) => r.view)).toEqual(registry.map((r) => r.view_name));
    expect(new Set(refreshed.map((r) => r.mode))).toEqual(new Set(['full']));
    expect(refreshed.every((r) => r.complete && r.buckets > 0 && r.rowsChanged > 0)).toBe(true);
    // Short transactions: the biggest relation took several batches of at most 50 buckets.
    expect(Math.max(...refreshed.map((r) => r.batches))).toBeGreaterThan(1);
    expect(result.summary.bucketsRecomputed).toBe(refreshed.reduce((s, r) => s + r.buckets, 0));
    const log = await db.query<{ view_name: string; mode: string; succeeded: boolean; duration_ms: number; buckets: string; rows_changed: string }>(
      `SELECT * FROM dbops.mv_refresh_log ORDER BY id`,
    );
    expect(log.map((l) => l.view_name)).toEqual(registry.map((r) => r.view_name));
    expect(log.every((l) => l.succeeded && l.mode === 'full' && l.duration_ms >= 0 && Number(l.buckets) > 0)).toBe(true);
    expect((await freshness('public.mv_daily_workspace_activity')).populated).toBe(true);
    expect(h.sink.values('MaterializedViewRefreshDuration', { View: 'public.mv_daily_workspace_activity' })).toHaveLength(1);
  });

  it('recomputes only what changed: new data appears, staleness (the oldest unapplied change) drops to 0', async () => {
    expect((await freshness('public.mv_daily_workspace_activity')).staleness_seconds).toBe(0);
    const [ws] = await db.query<{ id: string }>(`INSERT INTO public.workspaces (name, slug) VALUES ('Fresh', 'fresh-ws') RETURNING id`);
    await db.query(`INSERT INTO public.posts (workspace_id, author_id, content) VALUES ($1, 1, 'brand new')`, [ws.id]);
    await db.query(`UPDATE dbops.analytics_changes SET changed_at = changed_at - interval '90 seconds'`);
    const missing = await db.query(`SELECT 1 FROM public.mv_daily_workspace_activity WHERE workspace_id = $1`, [ws.id]);
    expect(missing).toHaveLength(0);
    const staleBefore = (await freshness('public.mv_daily_workspace_activity')).staleness_seconds as number;
    expect(staleBefore).toBeGreaterThan(89);

    const result = await h.run({ task: 'refresh-materialized-views', view: 'mv_daily_workspace_activity' });
    expect(result.status).toBe('succeeded');
    expect(result.summary.refreshed).toEqual([
      expect.objectContaining({ view: 'public.mv_daily_workspace_activity', mode: 'incremental', buckets: 1, rowsChanged: 1, complete: true }),
    ]);
    expect(await db.query(`SELECT 1 FROM public.mv_daily_workspace_activity WHERE workspace_id = $1`, [ws.id])).not.toHaveLength(0);
    expect((await freshness('public.mv_daily_workspace_activity')).staleness_seconds).toBe(0);
    const published = h.sink.values('MaterializedViewStaleness', { View: 'public.mv_daily_workspace_activity' }).at(-1);
    expect(published).toBe(0);
  });

  it('full=true rebuilds every bucket and, when nothing drifted, changes no row', async () => {
    const result = await h.run({ task: 'refresh-materialized-views', view: 'public.mv_listening_sentiment_trends', full: true });
    expect(result.status).toBe('succeeded');
    expect(result.summary.refreshed).toEqual([expect.objectContaining({ mode: 'full', rowsChanged: 0, complete: true })]);
    expect((result.summary.refreshed as { buckets: number }[])[0].buckets).toBeGreaterThan(1);
  });

  it('logs a failed refresh with its error and reports the failure', async () => {
    // Without its unique key the upsert of recomputed rows has nothing to resolve conflicts on.
    await db.query(`DROP INDEX public.mv_influencer_metrics_key`);
    await db.query(`UPDATE public.influencers SET name = name || ' (renamed)' WHERE id = (SELECT min(id) FROM public.influencers)`);
    const result = await h.run({ task: 'refresh-materialized-views', view: 'public.mv_influencer_metrics' });
    expect(result.status).toBe('failed');
    expect(result.failures[0].item).toBe('public.mv_influencer_metrics');
    const [last] = await db.query<{ succeeded: boolean; error: string; mode: string }>(
      `SELECT succeeded, error, mode FROM dbops.mv_refresh_log WHERE view_name = 'public.mv_influencer_metrics' ORDER BY id DESC LIMIT 1`,
    );
    expect(last.succeeded).toBe(false);
    expect(last.mode).toBe('incremental');
    expect(last.error).toMatch(/no unique or exclusion constraint matching the ON CONFLICT/);
    expect(h.sink.values('TaskFailure', { Task: 'refresh-materialized-views' }).at(-1)).toBe(1);
    // The failed batch rolled back: its buckets are still logged for the next run.
    expect(await db.query(`SELECT 1 FROM dbops.analytics_changes WHERE view_id = 5`)).not.toHaveLength(0);
  });
});
