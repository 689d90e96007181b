import { PgExecutor } from '../../../lambdas/db/pg-executor';
import { ValidationError } from '../../../lambdas/tasks/options';
import { seedDemo } from '../../../local/demo-seed';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { directRows, viewRows, VIEWS } from '../../sql/analytics-direct';
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
    // One session: the log is in refresh order (two or more interleave; see the next case).
    const result = await h.run({ task: 'refresh-materialized-views', batchBuckets: 50, parallel: 1 });
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

  it('two sessions rebuild relations side by side, the rollup before what is summed from it, to the direct aggregates', async () => {
    const [{ last }] = await db.query<{ last: string }>(`SELECT coalesce(max(id), 0) AS last FROM dbops.mv_refresh_log`);
    // A stray row the rebuild must delete, so the run has something to repair.
    await db.query(`UPDATE public.mv_daily_workspace_activity SET posts_created = posts_created + 7 WHERE ctid = (SELECT min(ctid) FROM public.mv_daily_workspace_activity)`);
    const result = await h.run({ task: 'refresh-materialized-views', full: true, parallel: 2 });
    expect([result.status, result.failures, result.remaining]).toEqual(['succeeded', [], []]);
    const log = await db.query<{ view_name: string; started_at: Date; finished_at: Date }>(
      `SELECT view_name, started_at, finished_at FROM dbops.mv_refresh_log WHERE id > $1 ORDER BY id`,
      [last],
    );
    const entry = (view: string) => log.find((l) => l.view_name === view) as (typeof log)[number];
    expect(entry('public.mv_daily_post_metrics').started_at.getTime()).toBeGreaterThanOrEqual(entry('dbops.analytics_post_days').finished_at.getTime());
    // Two backends at once: some relation's refresh ran while another's did.
    const overlap = log.some((a) => log.some((b) => a !== b && a.started_at < b.finished_at && b.started_at < a.finished_at));
    expect(overlap).toBe(true);
    for (const view of VIEWS) expect([view, await viewRows(db, view)]).toEqual([view, await directRows(db, view)]);
  });

  it('on a pool of one connection it refreshes in one session instead of waiting for a second that never comes', async () => {
    const single = new PgExecutor(db.newPool({ max: 1 }), false);
    const result = await h.run({ task: 'refresh-materialized-views', parallel: 4 }, { executor: single });
    expect([result.status, result.failures, result.remaining]).toEqual(['succeeded', [], []]);
  });

  /** A budget clock that moves 100 ms per look: with timeBudgetMs 1000 a run is cut after a few of its checks. */
  const shortBudget = () => {
    let now = 0;
    return { clock: () => (now += 100) };
  };
  const relationState = async (viewId: number) =>
    (await db.query<{ needs_full: boolean; rebuild_from: string | null; rebuild_day: string | null; rebuild_started_at: Date | null }>(
      `SELECT needs_full, rebuild_from, rebuild_day::text, rebuild_started_at FROM dbops.analytics_relations WHERE view_id = $1`,
      [viewId],
    ))[0];

  it('a full rebuild that outlasts the budget resumes where it stopped, keeps writes made between runs, and deletes rows whose source is gone', async () => {
    const view = 'public.mv_listening_sentiment_trends';
    // Windows of a week, 20 buckets per step, so the rebuild needs many steps; drift of three kinds to repair.
    await db.query(`UPDATE dbops.analytics_relations SET rebuild_window_days = 7 WHERE view_id = 4`);
    await db.query(`DELETE FROM mv_listening_sentiment_trends WHERE extract(day FROM day)::int % 2 = 0`);
    await db.query(`UPDATE mv_listening_sentiment_trends SET mentions = mentions + 7 WHERE workspace_id = (SELECT max(workspace_id) FROM mv_listening_sentiment_trends)`);
    // A row for a day no mention is on: only the relation itself names that bucket.
    await db.query(
      `INSERT INTO mv_listening_sentiment_trends
       SELECT (jsonb_populate_record(NULL::mv_listening_sentiment_trends, to_jsonb(t) || '{"day": "2001-01-01"}')).*
         FROM mv_listening_sentiment_trends t ORDER BY workspace_id LIMIT 1`,
    );
    const orphan = `SELECT 1 FROM mv_listening_sentiment_trends WHERE day = DATE '2001-01-01'`;
    expect(await db.query(orphan)).toHaveLength(1);
    expect(await viewRows(db, view)).not.toEqual(await directRows(db, view));

    const first = await h.run({ task: 'refresh-materialized-views', view, full: true, timeBudgetMs: 1000, rebuildBuckets: 20 }, shortBudget());
    expect(first.summary.refreshed).toEqual([expect.objectContaining({ mode: 'full', complete: false })]);
    expect(first.remaining).toEqual([view]);
    const cut = await relationState(4);
    expect(cut.rebuild_from).not.toBeNull();
    // Its staleness counts from the start of the rebuild, not from the step that just succeeded.
    await db.query(`UPDATE dbops.analytics_relations SET rebuild_started_at = rebuild_started_at - interval '1 hour' WHERE view_id = 4`);
    expect((await freshness(view)).staleness_seconds).toBeGreaterThan(3599);

    // A mention written between runs for the first workspace, whose range is already rebuilt: logged, drained after.
    await db.query(
      `INSERT INTO listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, content, published_at)
       SELECT workspace_id, id, 'twitter', 'between-runs', '@late', 'text', now() - interval '2 days' FROM listening_queries ORDER BY workspace_id, id LIMIT 1`,
    );
    let runs = 1;
    for (; (await relationState(4)).rebuild_from !== null; runs += 1) {
      const next = await h.run({ task: 'refresh-materialized-views', view, timeBudgetMs: 1000, rebuildBuckets: 20 }, shortBudget());
      expect(next.status).toBe('succeeded');
      expect(next.summary.refreshed).toEqual([expect.objectContaining({ mode: 'full' })]);
      if (runs > 100) throw new Error('the rebuild does not advance');
    }
    expect(runs).toBeGreaterThan(2);
    // Resumed, not restarted: the cursor only moved forward across runs.
    const last = await h.run({ task: 'refresh-materialized-views', view });
    expect(last.summary.refreshed).toEqual([expect.objectContaining({ mode: 'incremental', complete: true })]);
    expect(await db.query(orphan)).toHaveLength(0);
    expect(await viewRows(db, view)).toEqual(await directRows(db, view));
    expect(await relationState(4)).toEqual({ needs_full: false, rebuild_from: null, rebuild_day: null, rebuild_started_at: null });
    await db.query(`UPDATE dbops.analytics_relations SET rebuild_window_days = 31 WHERE view_id = 4`);
  });

  it('while the rollup is rebuilt, mv_daily_post_metrics keeps its rows and waits (not a failure); then it is summed anew', async () => {
    await h.run({ task: 'refresh-materialized-views' });
    const before = await viewRows(db, 'public.mv_daily_post_metrics');
    expect(before).toEqual(await directRows(db, 'public.mv_daily_post_metrics'));
    // The rollup lost (TRUNCATE fires no delete trigger) and due for a rebuild, as after a failed first fill.
    await db.query(`TRUNCATE dbops.analytics_post_days`);
    await db.query(`UPDATE dbops.analytics_relations SET needs_full = true WHERE view_id = 8`);
    const [step] = await db.query<{ done: boolean; buckets: number }>(`SELECT * FROM dbops.analytics_rebuild_step('dbops.analytics_post_days', 10)`);
    expect(step).toEqual(expect.objectContaining({ done: false }));
    expect((await relationState(1)).needs_full).toBe(true);

    const waiting = await h.run({ task: 'refresh-materialized-views', view: 'public.mv_daily_post_metrics' });
    expect(waiting.status).toBe('succeeded');
    expect(waiting.failures).toEqual([]);
    expect(waiting.remaining).toEqual(['public.mv_daily_post_metrics']);
    expect(waiting.warnings).toEqual([expect.stringMatching(/public\.mv_daily_post_metrics: waiting, .*summed from dbops\.analytics_post_days, which is not built yet/)]);
    expect(await viewRows(db, 'public.mv_daily_post_metrics')).toEqual(before);

    // One run in refresh order: the rollup's rebuild finishes, then mv_daily_post_metrics is rebuilt from it.
    const run = await h.run({ task: 'refresh-materialized-views' });
    expect(run.status).toBe('succeeded');
    expect(run.remaining).toEqual([]);
    for (const view of ['dbops.analytics_post_days', 'public.mv_daily_post_metrics'] as const) {
      expect(await viewRows(db, view)).toEqual(await directRows(db, view));
    }
    expect(await db.query(`SELECT view_id, needs_full, rebuild_from FROM dbops.analytics_relations WHERE view_id IN (1, 8) ORDER BY 1`)).toEqual([
      { view_id: 1, needs_full: false, rebuild_from: null },
      { view_id: 8, needs_full: false, rebuild_from: null },
    ]);
  });

  const step = (view: string, batch: number, now?: Date) =>
    db.query<{ done: boolean; buckets: number }>(`SELECT * FROM dbops.analytics_rebuild_step($1, $2, $3)`, [view, batch, now ?? null]).then((r) => r[0]);
  const stepToEnd = async (view: string, batch: number, now?: Date) => {
    for (let i = 0; i < 100_000; i += 1) if ((await step(view, batch, now)).done) return;
    throw new Error(`${view}: the rebuild does not end`);
  };
  const settle = () => h.run({ task: 'refresh-materialized-views' });

  it('a full=true request outlives a run the budget cuts short: relations it did not reach are rebuilt by later runs', async () => {
    await settle();
    await db.query(`DELETE FROM mv_influencer_metrics WHERE influencer_id % 2 = 0`);
    const first = await h.run({ task: 'refresh-materialized-views', full: true, timeBudgetMs: 1000, rebuildBuckets: 20 }, shortBudget());
    expect(first.remaining).toContain('public.mv_influencer_metrics');
    // The next scheduled run (no full) does the rest.
    const next = await settle();
    expect(next.remaining).toEqual([]);
    expect(await db.query(`SELECT view_id FROM dbops.analytics_relations WHERE needs_full OR rebuild_from IS NOT NULL`)).toEqual([]);
    expect(await viewRows(db, 'public.mv_influencer_metrics')).toEqual(await directRows(db, 'public.mv_influencer_metrics'));
  });

  it('full=true over a rebuild in progress starts it over: rows lost behind its cursor are rebuilt too', async () => {
    const view = 'public.mv_listening_sentiment_trends';
    await settle();
    await db.query(`SELECT dbops.analytics_request_rebuild($1)`, [view]);
    await step(view, 300);
    const [{ rebuild_from: cursor }] = await db.query<{ rebuild_from: string }>(`SELECT rebuild_from FROM dbops.analytics_relations WHERE view_id = 4`);
    const lost = await db.query(`DELETE FROM mv_listening_sentiment_trends WHERE workspace_id < $1 RETURNING 1`, [cursor]);
    expect(lost.length).toBeGreaterThan(0);
    const repair = await h.run({ task: 'refresh-materialized-views', view, full: true });
    expect(repair.summary.refreshed).toEqual([expect.objectContaining({ mode: 'full', complete: true })]);
    expect(await viewRows(db, view)).toEqual(await directRows(db, view));
  });

  it('a rebuild of mv_daily_post_metrics in progress pauses when the rollup starts its own, and starts over after it', async () => {
    const view = 'public.mv_daily_post_metrics';
    await settle();
    await db.query(`SELECT dbops.analytics_request_rebuild($1)`, [view]);
    await step(view, 50);
    const before = await viewRows(db, view);
    await db.query(`TRUNCATE dbops.analytics_post_days`);
    await db.query(`SELECT dbops.analytics_request_rebuild('dbops.analytics_post_days')`);
    expect((await step('dbops.analytics_post_days', 10)).done).toBe(false);
    // Half the rollup is back: summing it now would show readers half the figures.
    await expect(step(view, 50)).rejects.toThrow(/public\.mv_daily_post_metrics is summed from dbops\.analytics_post_days, which is not built yet/);
    expect(await viewRows(db, view)).toEqual(before);
    await stepToEnd('dbops.analytics_post_days', 1000);
    await stepToEnd(view, 50);
    await settle();
    expect(await viewRows(db, view)).toEqual(await directRows(db, view));
  });

  it('rollup changes for windows of mv_daily_post_metrics already rebuilt are kept (its deltas run during its rebuild)', async () => {
    const view = 'public.mv_daily_post_metrics';
    await settle();
    await db.query(`UPDATE dbops.analytics_relations SET rebuild_window_days = 1 WHERE view_id = 1`);
    await db.query(`SELECT dbops.analytics_request_rebuild($1)`, [view]);
    await step(view, 1);
    const [done] = await db.query<{ workspace_id: string; day: string }>(
      `SELECT rebuild_from AS workspace_id, (rebuild_day - 1)::text AS day FROM dbops.analytics_relations WHERE view_id = 1`,
    );
    // A late metric row in the one bucket already rebuilt: carried by the rollup's deltas, or lost.
    const late = await db.query(
      `INSERT INTO post_metrics_daily (post_target_id, metric_date, impressions, likes)
       SELECT pt.id, $2::date, 5000, 500 FROM post_targets pt JOIN posts p ON p.id = pt.post_id
        WHERE p.workspace_id = $1 AND pt.status = 'published' ORDER BY pt.id LIMIT 1
       ON CONFLICT (post_target_id, metric_date) DO UPDATE SET likes = post_metrics_daily.likes + 500 RETURNING 1`,
      [done.workspace_id, done.day],
    );
    expect(late).toHaveLength(1);
    await db.query(`SELECT * FROM dbops.analytics_refresh_batch('dbops.analytics_post_days', 5000)`);
    await stepToEnd(view, 1000);
    await settle();
    expect(await viewRows(db, view)).toEqual(await directRows(db, view));
    await db.query(`UPDATE dbops.analytics_relations SET rebuild_window_days = 366 WHERE view_id = 1`);
  });

  it('an SLA deadline that passes during a rebuild, in a window already rebuilt, is counted afterwards (the clock moves to the start)', async () => {
    const view = 'public.mv_conversation_metrics';
    await settle();
    const [t0] = await db.query<{ now: Date }>(`SELECT now() AS now`);
    const later = new Date(t0.now.getTime() + 2 * 3_600_000);
    // The first conversation of the first window: unanswered, due an hour from now.
    const due = await db.query(
      `UPDATE conversations SET status = 'open', first_response_at = NULL, resolved_at = NULL, first_response_due_at = $1::timestamptz + interval '1 hour'
        WHERE id = (SELECT id FROM conversations ORDER BY workspace_id, created_at, id LIMIT 1) RETURNING 1`,
      [t0.now],
    );
    expect(due).toHaveLength(1);
    await settle();
    await db.query(`UPDATE dbops.analytics_relations SET rebuild_window_days = 1 WHERE view_id = 3`);
    await db.query(`SELECT dbops.analytics_request_rebuild($1)`, [view]);
    await step(view, 1, t0.now);
    await stepToEnd(view, 1000, later);
    await db.query(`SELECT * FROM dbops.analytics_refresh_batch($1, 5000, $2)`, [view, later]);
    expect(await viewRows(db, view)).toEqual(await directRows(db, view, later));
    await db.query(`UPDATE dbops.analytics_relations SET rebuild_window_days = 366 WHERE view_id = 3`);
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
