import { createTestDatabase, TestDatabase } from '../support/database';
import { loadQueryFile } from '../../sql/query-files';
import { createTenant, insertId, pgError } from './platform-fixtures';
import { VIEWS, directRows, onUtcDay, refreshAnalytics, viewRows } from './analytics-direct';

/**
 * What mv_daily_post_metrics_read returned when the view had no campaign_id: a workspace's
 * figures per UTC day and platform, computed from the base tables, in the read query's columns.
 */
const DIRECT_PER_PLATFORM = `
  WITH targets AS (
    SELECT pt.*, p.workspace_id, p.ai_generated, sa.platform
      FROM post_targets pt JOIN posts p ON p.id = pt.post_id JOIN social_accounts sa ON sa.id = pt.social_account_id
     WHERE p.workspace_id = $1
  ),
  keys AS (
    SELECT date(timezone('UTC', published_at)) AS day, platform FROM targets WHERE status = 'published'
    UNION
    SELECT m.metric_date, t.platform FROM post_metrics_daily m JOIN targets t ON t.id = m.post_target_id
  )
  SELECT k.day, k.platform, pub.n,
         CASE WHEN pub.n > 0 THEN round(pub.ai::numeric / pub.n, 4) END,
         perf.impressions, perf.reach, perf.engagements, perf.clicks,
         CASE WHEN perf.impressions > 0 THEN round(perf.engagements::numeric / perf.impressions, 6) END
  FROM keys k
  CROSS JOIN LATERAL (
    SELECT count(DISTINCT t.post_id) AS n, count(DISTINCT t.post_id) FILTER (WHERE t.ai_generated) AS ai
      FROM targets t WHERE t.status = 'published' AND t.platform = k.platform AND ${onUtcDay('t.published_at', 'k.day')}
  ) pub
  CROSS JOIN LATERAL (
    SELECT coalesce(sum(m.impressions), 0) AS impressions, coalesce(sum(m.reach), 0) AS reach,
           coalesce(sum(m.likes + m.comments + m.shares + m.saves), 0) AS engagements, coalesce(sum(m.clicks), 0) AS clicks
      FROM post_metrics_daily m JOIN targets t ON t.id = m.post_target_id
     WHERE m.metric_date = k.day AND t.platform = k.platform
  ) perf
  ORDER BY 1, 2`;

/** A campaign's live post counts and metric totals: every metric row of a target of its posts. */
const DIRECT_CAMPAIGN = `
  SELECT c.id, c.name, c.status, c.start_date, c.end_date, c.budget,
         (SELECT count(*) FROM posts p WHERE p.campaign_id = c.id),
         (SELECT count(*) FROM posts p WHERE p.campaign_id = c.id AND p.status = 'PUBLISHED'),
         m.impressions, m.engagements, m.clicks,
         CASE WHEN m.clicks > 0 THEN round(c.budget / m.clicks, 4) END
    FROM campaigns c
   CROSS JOIN LATERAL (
     SELECT coalesce(sum(x.impressions), 0) AS impressions, coalesce(sum(x.likes + x.comments + x.shares + x.saves), 0) AS engagements,
            coalesce(sum(x.clicks), 0) AS clicks
       FROM post_metrics_daily x WHERE x.post_target_id IN (SELECT pt.id FROM post_targets pt JOIN posts p ON p.id = pt.post_id WHERE p.campaign_id = c.id)
   ) m
   WHERE c.workspace_id = $1 AND c.status = 'active'
   ORDER BY c.start_date DESC NULLS FIRST, c.id DESC`;

/** The top-posts card as it was before 070: a live sum over every post of the period, every target, every metric day. */
const DIRECT_TOP_POSTS = `
SELECT p.id,
       p.title,
       p.published_at,
       p.ai_generated,
       top.targets,
       top.impressions,
       top.reach,
       top.clicks,
       top.engagements
FROM (
  -- Rank on ids and sums alone; title and flags are read for the page's few posts only.
  SELECT pt.post_id AS id,
         count(*) AS targets,
         coalesce(sum(t.impressions), 0)::bigint AS impressions,
         coalesce(sum(t.reach), 0)::bigint AS reach,
         coalesce(sum(t.clicks), 0)::bigint AS clicks,
         coalesce(sum(t.engagements), 0)::bigint AS engagements
    FROM public.posts p
    JOIN public.post_targets pt ON pt.post_id = p.id
    -- One total per target (its metric days summed), so a target counts once in targets; only
    -- a published target has a platform post to collect metrics from.
    LEFT JOIN LATERAL (
      SELECT sum(m.impressions) AS impressions,
             sum(m.reach) AS reach,
             sum(m.clicks) AS clicks,
             sum(m.likes + m.comments + m.shares + m.saves) AS engagements
        FROM public.post_metrics_daily m
       WHERE m.post_target_id = pt.id
         AND pt.status = 'published'
    ) t ON true
   WHERE p.workspace_id = $1::bigint
     AND p.status = 'PUBLISHED'
     AND p.published_at >= $2::timestamptz
     AND p.published_at < $3::timestamptz
   GROUP BY pt.post_id
   ORDER BY engagements DESC, pt.post_id DESC
   LIMIT $4::integer
) top
JOIN public.posts p ON p.id = top.id
ORDER BY top.engagements DESC, top.id DESC`;

/** Rows with every value as text, so numeric and bigint sums of the same number compare equal. */
async function textRows(db: TestDatabase, sql: string, values: unknown[]): Promise<string[][]> {
  const result = await db.pool().query({ text: sql, values, rowMode: 'array' });
  return (result.rows as unknown[][]).map((row) => row.map((v) => (v instanceof Date ? v.toISOString() : String(v))));
}

/** A few hundred rows across two workspaces, set-based, with times straddling UTC midnight. */
async function seedPlatform(db: TestDatabase): Promise<void> {
  const a = await createTenant(db, 'mva', 'instagram');
  const b = await createTenant(db, 'mvb', 'twitter');
  await db.query(
    `INSERT INTO social_accounts (workspace_id, platform, external_account_id, handle)
     VALUES ($1, 'twitter', 'mva-tw', '@a'), ($1, 'linkedin', 'mva-li', 'a-co'), ($2, 'tiktok', 'mvb-tt', '@b')`,
    [a.workspaceId, b.workspaceId],
  );
  await db.query(
    `INSERT INTO posts (workspace_id, author_id, status, title, content, scheduled_at, published_at, claimed_at, claimed_by, ai_generated, created_at)
     SELECT ws, author, st,
            'Post ' || g, 'Content for post ' || g,
            CASE WHEN st IN ('SCHEDULED', 'PUBLISHING', 'PUBLISHED', 'FAILED') OR g % 5 = 0 THEN created + interval '1 day' + (g % 7) * interval '1 hour' END,
            CASE WHEN st = 'PUBLISHED' THEN created + interval '1 day' + (g % 7) * interval '1 hour' + interval '2 minutes' END,
            CASE WHEN st = 'PUBLISHING' THEN now() END,
            CASE WHEN st = 'PUBLISHING' THEN 'worker-1' END,
            g % 3 = 0,
            created
       FROM generate_series(1, 320) AS g
       CROSS JOIN LATERAL (SELECT CASE WHEN g % 2 = 0 THEN $1::bigint ELSE $3::bigint END AS ws,
                                  CASE WHEN g % 2 = 0 THEN $2::bigint ELSE $4::bigint END AS author,
                                  (enum_range(NULL::post_status))[1 + g % 8] AS st,
                                  timestamptz '2026-10-01 23:00:00+00' + (g % 12) * interval '1 day' + (g % 4) * interval '37 minutes' AS created) x`,
    [a.workspaceId, a.userId, b.workspaceId, b.userId],
  );
  // One campaign in one workspace, two in the other (the one with published posts); two posts in
  // five, and in workspace a every other of the rest, stay outside any campaign.
  await db.query(
    `INSERT INTO campaigns (workspace_id, name, status, start_date, budget)
     VALUES ($1, 'Launch', 'active', '2026-09-01', 500), ($2, 'Awareness', 'active', '2026-09-15', 1200), ($2, 'Retention', 'active', NULL, 0)`,
    [a.workspaceId, b.workspaceId],
  );
  await db.query(
    `UPDATE posts p
        SET campaign_id = (SELECT c.id FROM campaigns c WHERE c.workspace_id = p.workspace_id ORDER BY c.id OFFSET (p.id / 5) % 2 LIMIT 1)
      WHERE p.id % 5 >= 2`,
  );
  // Every post goes to each account of its workspace; targets of published posts are published a few minutes apart.
  await db.query(
    `INSERT INTO post_targets (post_id, social_account_id, status, published_at, external_post_id, attempts)
     SELECT p.id, sa.id,
            CASE WHEN p.status = 'PUBLISHED' THEN 'published'::post_target_status WHEN p.status = 'FAILED' THEN 'failed' ELSE 'pending' END,
            CASE WHEN p.status = 'PUBLISHED' THEN p.published_at + (sa.id % 3) * interval '20 minutes' END,
            CASE WHEN p.status = 'PUBLISHED' THEN 'ext-' || p.id || '-' || sa.id END,
            (p.id % 3)::int
       FROM posts p JOIN social_accounts sa ON sa.workspace_id = p.workspace_id
      WHERE (p.id + sa.id) % 4 <> 0`,
  );
  await db.query(
    `INSERT INTO post_metrics_daily (post_target_id, metric_date, impressions, reach, likes, comments, shares, saves, clicks)
     SELECT pt.id, (pt.published_at AT TIME ZONE 'UTC')::date + d,
            CASE WHEN pt.id % 9 = 0 THEN 0 ELSE 1000 + pt.id * 7 + d * 13 END,
            500 + pt.id * 3, pt.id % 50 + d, pt.id % 7, pt.id % 5, d, pt.id % 11
       FROM post_targets pt CROSS JOIN generate_series(0, 2) AS d
      WHERE pt.status = 'published'`,
  );
  await db.query(
    `INSERT INTO sla_policies (workspace_id, name, priority, first_response_minutes, resolution_minutes)
     VALUES ($1, 'standard', 'normal', 60, 1440)`,
    [a.workspaceId],
  );
  // Created in the past, so every deadline is already past and breaches don't depend on when the test runs.
  await db.query(
    `INSERT INTO conversations (workspace_id, social_account_id, external_thread_id, type, status, priority, sentiment,
                                first_response_due_at, resolution_due_at, first_response_at, resolved_at, created_at, last_message_at)
     SELECT sa.workspace_id, sa.id, 'th-' || g, (enum_range(NULL::conversation_type))[1 + g % 4], st,
            (enum_range(NULL::priority_level))[1 + g % 4],
            CASE WHEN g % 5 = 4 THEN NULL ELSE (enum_range(NULL::sentiment))[1 + g % 4] END,
            created + interval '1 hour', created + interval '1 day',
            CASE WHEN g % 3 <> 0 THEN created + (g * 97 % 7200) * interval '1 second' END,
            CASE WHEN st IN ('resolved', 'closed') THEN created + (g * 131 % 172800) * interval '1 second' END,
            created, created + interval '5 minutes'
       FROM generate_series(1, 160) AS g
       JOIN LATERAL (SELECT id, workspace_id FROM social_accounts ORDER BY id OFFSET g % 5 LIMIT 1) sa ON true
       CROSS JOIN LATERAL (SELECT (enum_range(NULL::conversation_status))[1 + g % 4] AS st,
                                  timestamptz '2026-09-10 22:30:00+00' + (g % 6) * interval '1 day' + (g % 5) * interval '29 minutes' AS created) x`,
  );
  const queries = await db.query<{ id: string; workspace_id: string }>(
    `INSERT INTO listening_queries (workspace_id, name, keywords)
     VALUES ($1, 'brand', '{aurora}'), ($1, 'competitor', '{borealis}'), ($2, 'brand', '{nimbus}')
     RETURNING id, workspace_id`,
    [a.workspaceId, b.workspaceId],
  );
  await db.query(
    `INSERT INTO listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, author_reach, is_influencer,
                                     content, sentiment, sentiment_score, engagement, keywords, published_at)
     SELECT q.workspace_id, q.id, (enum_range(NULL::social_platform))[1 + g % 9], 'm-' || g, '@author' || (g % 37),
            (g * 131) % 250000, (g * 131) % 250000 > 100000, 'mention ' || g,
            s.sentiment, s.score, g % 400, ARRAY['aurora'],
            timestamptz '2026-10-27 21:00:00+00' + (g % 9) * interval '1 day' + (g % 6) * interval '1 hour'
       FROM generate_series(1, 450) AS g
       CROSS JOIN LATERAL (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS u(id, workspace_id) OFFSET g % 3 LIMIT 1) q
       CROSS JOIN LATERAL (SELECT CASE WHEN g % 7 = 0 THEN NULL ELSE (enum_range(NULL::sentiment))[1 + g % 4] END AS sentiment,
                                  CASE WHEN g % 7 = 0 THEN NULL ELSE round(((g % 21) - 10) / 10.0, 3) END AS score) s`,
    [queries.map((q) => q.id), queries.map((q) => q.workspace_id)],
  );
  await db.query(
    `INSERT INTO influencers (workspace_id, name, category) SELECT $1, 'Influencer ' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'beauty' END FROM generate_series(1, 12) g`,
    [a.workspaceId],
  );
  await db.query(
    `INSERT INTO influencer_accounts (influencer_id, platform, handle, followers, engagement_rate)
     SELECT i.id, (enum_range(NULL::social_platform))[1 + p], '@inf' || i.id || '-' || p, i.id * 1000 + p, CASE WHEN p = 2 THEN NULL ELSE 0.01 * p END
       FROM influencers i CROSS JOIN generate_series(0, 2) p WHERE (i.id + p) % 4 <> 0`,
  );
  await db.query(
    `INSERT INTO influencer_collaborations (influencer_id, status, compensation, attributed_revenue, conversions, engagements)
     SELECT i.id, (enum_range(NULL::collaboration_status))[1 + (i.id + c) % 5],
            CASE WHEN i.id % 4 = 0 THEN 0 ELSE 100 * c + i.id END, 250 * c * (i.id % 3), c * (i.id % 5), c * 40
       FROM influencers i CROSS JOIN generate_series(1, 3) c WHERE i.id % 6 <> 5`,
  );
}

describe('analytics relations (040, kept incrementally since 070)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedPlatform(db);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('are created empty as tables with a unique key on plain non-null columns, and registered in refresh order', async () => {
    const freshness = await db.query(`SELECT view_name, populated, last_refreshed_at, staleness_seconds FROM dbops.mv_freshness ORDER BY view_name`);
    expect(freshness).toEqual(
      [...VIEWS].sort().map((view_name) => ({ view_name, populated: false, last_refreshed_at: null, staleness_seconds: null })),
    );
    for (const view of VIEWS) expect(await viewRows(db, view)).toEqual([]);

    const registry = await db.query<{ view_name: string }>(`SELECT view_name FROM dbops.materialized_views ORDER BY refresh_order`);
    expect(registry.map((r) => r.view_name)).toEqual([...VIEWS]);

    // The refresh upserts on the relation's unique key: no expression, no predicate, NOT NULL columns.
    const keys = await db.query<{ view: string; kind: string; plain: boolean }>(
      `SELECT n.nspname || '.' || c.relname AS view, c.relkind::text AS kind,
              bool_and(i.indexprs IS NULL AND i.indpred IS NULL
                       AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey) k JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k WHERE NOT a.attnotnull)) AS plain
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE (n.nspname || '.' || c.relname) = ANY ($1) AND i.indisunique GROUP BY 1, 2 ORDER BY 1`,
      [[...VIEWS]],
    );
    expect(keys).toEqual([...VIEWS].sort().map((view) => ({ view, kind: 'r', plain: true })));

    // Room on each page for the next version of a row the refresh rewrites without changing an
    // indexed column (101): HOT, no index entry. Where a rewrite changes an indexed column (103; the
    // top-posts index holds engagements; ROI and followers are indexed), pages stay full.
    const rewritesIndexed = ['public.analytics_post_engagement', 'public.mv_influencer_metrics'];
    const fill = await db.query<{ view: string; fillfactor: string | null }>(
      `SELECT v AS view, (SELECT o FROM unnest(c.reloptions) o WHERE o LIKE 'fillfactor=%') AS fillfactor
         FROM unnest($1::text[]) v JOIN pg_class c ON c.oid = v::regclass ORDER BY 1`,
      [[...VIEWS]],
    );
    expect(fill).toEqual([...VIEWS].sort().map((view) => ({ view, fillfactor: rewritesIndexed.includes(view) ? null : 'fillfactor=80' })));
  });

  it('fill on a full rebuild, then refresh incrementally, and match the aggregates computed from the base tables', async () => {
    const client = await db.pool().connect();
    try {
      // Days are UTC days whoever refreshes.
      await client.query(`SET TimeZone = 'Pacific/Auckland'`);
      const session = { query: async <R>(text: string, values?: unknown[]) => (await client.query(text, values)).rows as R[] };
      const full = await refreshAnalytics(session as Pick<TestDatabase, 'query'>, { full: true, batch: 7 });
      expect(full.buckets).toBeGreaterThan(VIEWS.length);
      expect(full.rowsChanged).toBeGreaterThan(VIEWS.length);
      // Nothing changed since: nothing to recompute.
      expect(await refreshAnalytics(session as Pick<TestDatabase, 'query'>)).toEqual({ buckets: 0, rowsChanged: 0 });
    } finally {
      await client.query('RESET TimeZone');
      client.release();
    }
    for (const view of VIEWS) {
      const rows = await viewRows(db, view);
      expect(rows.length).toBeGreaterThan(1);
      expect(rows).toEqual(await directRows(db, view));
    }
    const populated = await db.query<{ populated: boolean }>(`SELECT populated FROM dbops.mv_freshness`);
    expect(populated.every((p) => p.populated)).toBe(true);
  });

  it('keep posts outside any campaign under campaign_id 0, and each campaign in its own workspace', async () => {
    const kinds = await db.query<{ campaign: boolean; rows: string; foreign: string }>(
      `SELECT d.campaign_id <> 0 AS campaign, count(*) AS rows,
              count(*) FILTER (WHERE d.campaign_id <> 0 AND NOT EXISTS (
                SELECT 1 FROM campaigns c WHERE c.id = d.campaign_id AND c.workspace_id = d.workspace_id)) AS foreign
         FROM mv_daily_post_metrics d GROUP BY 1 ORDER BY 1`,
    );
    expect(kinds.map((k) => k.campaign)).toEqual([false, true]);
    for (const k of kinds) expect([k.campaign, Number(k.rows) > 3, k.foreign]).toEqual([k.campaign, true, '0']);
  });

  it('serve mv_daily_post_metrics_read the same per-day, per-platform figures as before campaign_id, summed over campaigns', async () => {
    const read = loadQueryFile('mv_daily_post_metrics_read');
    const workspaces = await db.query<{ id: string }>(`SELECT DISTINCT workspace_id AS id FROM posts ORDER BY 1`);
    expect(workspaces.length).toBe(2);
    let compared = 0;
    for (const { id } of workspaces) {
      const rows = await textRows(db, read.sql, [id, '2000-01-01', '2100-01-01']);
      compared += rows.length;
      expect(rows).toEqual(await textRows(db, DIRECT_PER_PLATFORM, [id]));
    }
    expect(compared).toBeGreaterThan(3);
  });

  it('serve campaign_performance the live post counts and every metric collected for each campaign\'s posts', async () => {
    const campaign = loadQueryFile('campaign_performance');
    const workspaces = await db.query<{ id: string }>(`SELECT DISTINCT workspace_id AS id FROM campaigns ORDER BY 1`);
    let withClicks = 0;
    for (const { id } of workspaces) {
      const rows = await textRows(db, campaign.sql, [id, 'active', 100]);
      expect(rows.length).toBeGreaterThan(0);
      withClicks += rows.filter((r) => r[10] !== '0').length; // column 11 is clicks
      expect(rows).toEqual(await textRows(db, DIRECT_CAMPAIGN, [id]));
    }
    // Metrics were compared, not only zeros.
    expect(withClicks).toBeGreaterThan(1);
  });

  it('serve dashboard_analytics the same top posts as a live sum over the period, mid-day boundaries included', async () => {
    const top = loadQueryFile('dashboard_analytics');
    const workspaces = await db.query<{ id: string }>(`SELECT DISTINCT workspace_id AS id FROM posts WHERE status = 'PUBLISHED' ORDER BY 1`);
    let compared = 0;
    for (const { id } of workspaces) {
      for (const [start, end, limit] of [
        ['2026-09-01T00:00:00Z', '2026-12-01T00:00:00Z', 10],
        ['2026-10-01T00:00:00Z', '2026-10-20T00:00:00Z', 3],
        // Starting and ending mid-day, between posts of the same day (they publish 23:39-05:39 UTC).
        ['2026-10-04T03:00:00Z', '2026-10-08T02:00:00Z', 100],
        ['2026-10-08T00:00:00Z', '2026-10-09T00:00:00Z', 100],
        ['2026-10-08T02:00:00Z', '2026-10-12T03:00:00Z', 1],
        ['2026-10-08T02:00:00Z', '2026-10-12T03:00:00Z', 5],
      ] as const) {
        const rows = await textRows(db, top.sql, [id, start, end, limit]);
        compared += rows.length;
        expect(rows).toEqual(await textRows(db, DIRECT_TOP_POSTS, [id, start, end, limit]));
      }
    }
    expect(compared).toBeGreaterThan(10);
  });

  it('pick up changes on an incremental refresh, recomputing only the buckets they touched', async () => {
    await db.query(`UPDATE posts SET status = 'ARCHIVED' WHERE id % 3 = 0 AND status = 'DRAFT'`);
    await db.query(`UPDATE post_metrics_daily SET likes = likes + 1000 WHERE id % 4 = 0`);
    await db.query(`UPDATE conversations SET status = 'closed', resolved_at = created_at + interval '3 hours' WHERE status = 'open' AND id % 2 = 0`);
    await db.query(`DELETE FROM listening_mentions WHERE engagement % 5 = 0`);
    await db.query(`UPDATE influencer_collaborations SET status = 'cancelled' WHERE id % 3 = 0`);
    // Every bucket the relations hold: what a rebuild bucket by bucket would recompute.
    const [{ all }] = await db.query<{ all: string }>(
      `SELECT sum(n) AS all FROM dbops.analytics_relations r
         CROSS JOIN LATERAL (SELECT (xpath('/row/n/text()', query_to_xml(
           format('SELECT count(DISTINCT (%I, %s)) AS n FROM %s', r.key_column, coalesce(quote_ident(r.day_column), '0'), r.view_name),
           false, true, '')))[1]::text::bigint AS n) x`,
    );
    let recomputed = 0;
    // mv_daily_post_metrics (093) and the campaign totals (105) are kept by the deltas of the
    // rollup refreshed before them: stale until then, current when their own turn comes.
    const fed = ['public.mv_daily_post_metrics', 'public.analytics_campaign_totals'] as const;
    for (const view of fed) expect(await viewRows(db, view)).not.toEqual(await directRows(db, view));
    for (const view of VIEWS) {
      const stale = await viewRows(db, view);
      const keptByAnother = view === 'public.analytics_post_engagement' || (fed as readonly string[]).includes(view);
      if (!keptByAnother) expect(stale).not.toEqual(await directRows(db, view));
      recomputed += (await refreshAnalytics(db, { only: [view] })).buckets;
      expect(await viewRows(db, view)).toEqual(await directRows(db, view));
    }
    expect(recomputed).toBeGreaterThan(0);
    // Only what the writes touched, not every bucket of history.
    expect(recomputed).toBeLessThan(Number(all));
  });

  describe('on a small hand-checked workspace', () => {
    let ws: number;
    beforeAll(async () => {
      const t = await createTenant(db, 'hand', 'youtube');
      ws = t.workspaceId;
      // Influencers: one profitable with a cancelled deal, one paid nothing, one with no deals.
      const pro = await insertId(db, `INSERT INTO influencers (workspace_id, name, category) VALUES ($1, 'Pro', 'tech') RETURNING id`, [ws]);
      const free = await insertId(db, `INSERT INTO influencers (workspace_id, name) VALUES ($1, 'Free') RETURNING id`, [ws]);
      await insertId(db, `INSERT INTO influencers (workspace_id, name) VALUES ($1, 'Idle') RETURNING id`, [ws]);
      await db.query(
        `INSERT INTO influencer_collaborations (influencer_id, status, compensation, attributed_revenue, conversions, engagements)
         VALUES ($1, 'active', 100, 300, 4, 1000), ($1, 'completed', 50, 0, 1, 500), ($1, 'cancelled', 1000, 5000, 90, 9000),
                ($2, 'completed', 0, 500, 3, 200)`,
        [pro, free],
      );
      // Conversations opened 23:59 UTC on 2026-08-31: first responses after 60 s, 120 s, 600 s and one unanswered.
      await db.query(
        `INSERT INTO conversations (workspace_id, social_account_id, external_thread_id, type, status, sentiment,
                                    created_at, first_response_at, first_response_due_at, resolved_at)
         SELECT $1, $2, 'hand-' || n, 'direct_message', CASE WHEN n = 1 THEN 'resolved'::conversation_status ELSE 'open' END,
                CASE WHEN n = 4 THEN NULL ELSE 'negative'::sentiment END,
                timestamptz '2026-08-31 23:59:00+00', timestamptz '2026-08-31 23:59:00+00' + s * interval '1 second',
                timestamptz '2026-08-31 23:59:00+00' + interval '5 minutes',
                CASE WHEN n = 1 THEN timestamptz '2026-09-01 01:59:00+00' END
           FROM unnest(ARRAY[60, 120, 600, NULL]::int[]) WITH ORDINALITY AS u(s, n)`,
        [ws, t.accountId],
      );
      await refreshAnalytics(db);
    });

    it('computes ROI as (revenue - cost) / cost, NULL when nothing was paid, ignoring cancelled deals', async () => {
      const rows = await db.query(
        `SELECT name, category, collaborations::int, active_collaborations::int, completed_collaborations::int,
                total_compensation::text, attributed_revenue::text, conversions::int, roi::text, cost_per_conversion::text
           FROM mv_influencer_metrics WHERE workspace_id = $1 ORDER BY name`,
        [ws],
      );
      expect(rows).toEqual([
        { name: 'Free', category: '', collaborations: 1, active_collaborations: 0, completed_collaborations: 1, total_compensation: '0.00', attributed_revenue: '500.00', conversions: 3, roi: null, cost_per_conversion: '0.00' },
        { name: 'Idle', category: '', collaborations: 0, active_collaborations: 0, completed_collaborations: 0, total_compensation: '0', attributed_revenue: '0', conversions: 0, roi: null, cost_per_conversion: null },
        { name: 'Pro', category: 'tech', collaborations: 3, active_collaborations: 1, completed_collaborations: 1, total_compensation: '150.00', attributed_revenue: '300.00', conversions: 5, roi: '1.0000', cost_per_conversion: '30.00' },
      ]);
    });

    it('computes response times, the median, resolution rate and SLA breaches per UTC day', async () => {
      const rows = await db.query(
        `SELECT day::text, platform, type, conversations::int, responded_count::int, avg_first_response_seconds::text,
                median_first_response_seconds::text, avg_resolution_seconds::text, resolution_rate::text,
                negative_count::int, unscored_count::int, first_response_sla_breaches::int, resolution_sla_breaches::int
           FROM mv_conversation_metrics WHERE workspace_id = $1`,
        [ws],
      );
      expect(rows).toEqual([
        {
          day: '2026-08-31', platform: 'youtube', type: 'direct_message', conversations: 4, responded_count: 3,
          avg_first_response_seconds: '260.000', median_first_response_seconds: '120.000', avg_resolution_seconds: '7200.000',
          resolution_rate: '0.2500', negative_count: 3, unscored_count: 1,
          // 600 s is past the 5-minute deadline, and the unanswered one is past it by now; no resolution deadline was set.
          first_response_sla_breaches: 2, resolution_sla_breaches: 0,
        },
      ]);
    });
  });

  describe('dbops.mv_refresh_log and dbops.mv_freshness', () => {
    it('report the latest successful refresh, ignore failures, and reject malformed log rows', async () => {
      await db.query(
        `INSERT INTO dbops.mv_refresh_log (view_name, mode, started_at, finished_at, duration_ms, succeeded, error) VALUES
           ('public.mv_daily_post_metrics', 'complete', now() - interval '2 hours', now() - interval '2 hours' + interval '3 seconds', 3000, true, NULL),
           ('public.mv_daily_post_metrics', 'concurrently', now() - interval '1 hour', now() - interval '1 hour' + interval '2 seconds', 2000, true, NULL),
           ('public.mv_daily_post_metrics', 'concurrently', now() - interval '10 minutes', now() - interval '9 minutes', 60000, false, 'canceling statement due to lock timeout')`,
      );
      // Nothing pending: fresh, whatever the age of the last run.
      const [row] = await db.query<{ populated: boolean; age_ok: boolean; staleness_seconds: number; pending_since: Date | null }>(
        `SELECT populated, staleness_seconds, pending_since,
                last_refreshed_at = (SELECT finished_at FROM dbops.mv_refresh_log WHERE mode = 'concurrently' AND succeeded) AS age_ok
           FROM dbops.mv_freshness WHERE view_name = 'public.mv_daily_post_metrics'`,
      );
      expect(row).toEqual({ populated: true, age_ok: true, staleness_seconds: 0, pending_since: null });
      // A change not yet applied: staleness is its age (the writing transaction's start).
      // (The metric row logs its post for the rollup, view 8, that mv_daily_post_metrics is summed from.)
      await db.query(`UPDATE post_metrics_daily SET clicks = clicks + 1 WHERE id = (SELECT min(id) FROM post_metrics_daily)`);
      expect(await db.query(`SELECT DISTINCT view_id FROM dbops.analytics_changes WHERE view_id IN (1, 8)`)).toEqual([{ view_id: 8 }]);
      await db.query(`UPDATE dbops.analytics_changes SET changed_at = changed_at - interval '2 hours' WHERE view_id = 8`);
      const stalenessOk = async () =>
        (
          await db.query<{ staleness_ok: boolean }>(
            `SELECT abs(staleness_seconds - extract(epoch FROM now() - pending_since)) < 1 AND staleness_seconds BETWEEN 7190 AND 7300 AS staleness_ok
               FROM dbops.mv_freshness WHERE view_name = 'public.mv_daily_post_metrics'`,
          )
        )[0];
      expect(await stalenessOk()).toEqual({ staleness_ok: true });
      // Applied to the rollup alone: its deltas reach mv_daily_post_metrics in the same statement.
      await refreshAnalytics(db, { only: ['dbops.analytics_post_days'] });
      expect(await db.query(`SELECT 1 FROM dbops.analytics_changes WHERE view_id IN (1, 8)`)).toEqual([]);
      expect(await viewRows(db, 'public.mv_daily_post_metrics')).toEqual(await directRows(db, 'public.mv_daily_post_metrics'));
      await refreshAnalytics(db);
      const [applied] = await db.query(`SELECT staleness_seconds FROM dbops.mv_freshness WHERE view_name = 'public.mv_daily_post_metrics'`);
      expect(applied).toEqual({ staleness_seconds: 0 });
      const never = await db.query(`SELECT last_refreshed_at, staleness_seconds FROM dbops.mv_freshness WHERE view_name = 'public.mv_influencer_metrics'`);
      expect(never).toEqual([{ last_refreshed_at: null, staleness_seconds: null }]);

      const bad = [
        `INSERT INTO dbops.mv_refresh_log (view_name, mode, started_at, finished_at, duration_ms, succeeded) VALUES ('public.mv_daily_post_metrics', 'fast', now(), now(), 1, true)`,
        `INSERT INTO dbops.mv_refresh_log (view_name, mode, started_at, finished_at, duration_ms, succeeded) VALUES ('public.no_such_view', 'complete', now(), now(), 1, true)`,
        `INSERT INTO dbops.mv_refresh_log (view_name, mode, started_at, finished_at, duration_ms, succeeded) VALUES ('public.mv_daily_post_metrics', 'complete', now(), now() - interval '1 s', 1, true)`,
        `INSERT INTO dbops.mv_refresh_log (view_name, mode, started_at, finished_at, duration_ms, succeeded) VALUES ('public.mv_daily_post_metrics', 'complete', now(), now(), 1, false)`,
      ];
      for (const statement of bad) expect((await pgError(db, statement))?.code).toMatch(/^23/);
    });
  });
});
