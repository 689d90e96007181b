import { TestDatabase } from '../support/database';

/**
 * The analytics relations (070) and the same numbers computed straight from the base tables, for
 * the equivalence checks (materialized-views.test.ts) and the property test
 * (incremental-analytics.test.ts).
 */
export const VIEWS = [
  // 093's per-post rollup that mv_daily_post_metrics is summed from; refreshed first.
  'dbops.analytics_post_days',
  'public.mv_daily_post_metrics',
  'public.mv_daily_workspace_activity',
  'public.mv_conversation_metrics',
  'public.mv_listening_sentiment_trends',
  'public.mv_influencer_metrics',
  'public.analytics_post_engagement',
  'public.analytics_campaign_totals',
] as const;
export type Relation = (typeof VIEWS)[number];

/** `col` falls on the UTC calendar day `day` (a date expression), as a range predicate. */
export const onUtcDay = (col: string, day: string) =>
  `${col} >= (${day})::timestamp AT TIME ZONE 'UTC' AND ${col} < ((${day}) + 1)::timestamp AT TIME ZONE 'UTC'`;

/**
 * The same numbers computed straight from the base tables, written another way than the views
 * (key sets plus correlated LATERAL subqueries and range predicates instead of GROUP BY on casts),
 * in the views' column order.
 */
export const DIRECT: Record<Relation, string> = {
  // Written apart from 093: the (post, day, platform) keys, then a correlated count and sums per key.
  'dbops.analytics_post_days': `
    WITH targets AS (
      SELECT pt.*, sa.platform FROM post_targets pt JOIN social_accounts sa ON sa.id = pt.social_account_id
    ),
    keys AS (
      SELECT post_id, date(timezone('UTC', published_at)) AS day, platform FROM targets WHERE status = 'published'
      UNION
      SELECT t.post_id, m.metric_date, t.platform FROM post_metrics_daily m JOIN targets t ON t.id = m.post_target_id
    )
    SELECT k.post_id, k.day, k.platform, p.workspace_id, CASE WHEN p.campaign_id IS NULL THEN 0 ELSE p.campaign_id END, p.ai_generated,
           (SELECT count(*)::int FROM targets t WHERE t.post_id = k.post_id AND t.platform = k.platform AND t.status = 'published'
               AND ${onUtcDay('t.published_at', 'k.day')}),
           perf.n, perf.impressions, perf.reach, perf.likes, perf.comments, perf.shares, perf.saves, perf.clicks
    FROM keys k
    JOIN posts p ON p.id = k.post_id
    CROSS JOIN LATERAL (
      SELECT count(*)::int AS n, sum(m.impressions) AS impressions, sum(m.reach) AS reach, sum(m.likes) AS likes,
             sum(m.comments) AS comments, sum(m.shares) AS shares, sum(m.saves) AS saves, sum(m.clicks) AS clicks
        FROM post_metrics_daily m JOIN targets t ON t.id = m.post_target_id
       WHERE t.post_id = k.post_id AND t.platform = k.platform AND m.metric_date = k.day
    ) perf
    ORDER BY 1, 2, 3`,

  'public.mv_daily_post_metrics': `
    WITH targets AS (
      SELECT pt.*, p.workspace_id, p.ai_generated, sa.platform, CASE WHEN p.campaign_id IS NULL THEN 0 ELSE p.campaign_id END AS campaign
        FROM post_targets pt JOIN posts p ON p.id = pt.post_id JOIN social_accounts sa ON sa.id = pt.social_account_id
    ),
    keys AS (
      SELECT workspace_id, date(timezone('UTC', published_at)) AS day, platform, campaign FROM targets WHERE status = 'published'
      UNION
      SELECT t.workspace_id, m.metric_date, t.platform, t.campaign FROM post_metrics_daily m JOIN targets t ON t.id = m.post_target_id
    )
    SELECT k.workspace_id, k.day, k.platform, k.campaign,
           pub.n AS posts_published, pub.ai AS ai_generated_posts,
           CASE WHEN pub.n > 0 THEN round(pub.ai::numeric / pub.n, 4) END AS ai_generated_share,
           perf.posts, perf.impressions, perf.reach, perf.likes, perf.comments, perf.shares, perf.saves, perf.clicks,
           perf.likes + perf.comments + perf.shares + perf.saves AS engagements,
           CASE WHEN perf.impressions > 0 THEN round((perf.likes + perf.comments + perf.shares + perf.saves)::numeric / perf.impressions, 6) END
    FROM keys k
    CROSS JOIN LATERAL (
      SELECT count(DISTINCT t.post_id) AS n, count(DISTINCT t.post_id) FILTER (WHERE t.ai_generated) AS ai
        FROM targets t
       WHERE t.status = 'published' AND t.workspace_id = k.workspace_id AND t.platform = k.platform AND t.campaign = k.campaign
         AND ${onUtcDay('t.published_at', 'k.day')}
    ) pub
    CROSS JOIN LATERAL (
      SELECT count(DISTINCT t.post_id) AS posts,
             coalesce(sum(m.impressions), 0) AS impressions, coalesce(sum(m.reach), 0) AS reach,
             coalesce(sum(m.likes), 0) AS likes, coalesce(sum(m.comments), 0) AS comments,
             coalesce(sum(m.shares), 0) AS shares, coalesce(sum(m.saves), 0) AS saves, coalesce(sum(m.clicks), 0) AS clicks
        FROM post_metrics_daily m JOIN targets t ON t.id = m.post_target_id
       WHERE m.metric_date = k.day AND t.workspace_id = k.workspace_id AND t.platform = k.platform AND t.campaign = k.campaign
    ) perf
    ORDER BY 1, 2, 3, 4`,

  'public.mv_daily_workspace_activity': `
    WITH keys AS (
      SELECT workspace_id, date(timezone('UTC', created_at)) AS day FROM posts
      UNION SELECT workspace_id, date(timezone('UTC', scheduled_at)) FROM posts WHERE scheduled_at IS NOT NULL
      UNION SELECT workspace_id, date(timezone('UTC', published_at)) FROM posts WHERE published_at IS NOT NULL
    )
    SELECT k.workspace_id, k.day,
           c.created, s.scheduled, pb.published, c.ai, c.authors,
           c.draft, c.pending, c.approved, c.sched, c.publishing, c.pub, c.failed, c.archived
    FROM keys k
    CROSS JOIN LATERAL (
      SELECT count(*) AS created, count(*) FILTER (WHERE ai_generated) AS ai, count(DISTINCT author_id) AS authors,
             count(*) FILTER (WHERE status = 'DRAFT') AS draft, count(*) FILTER (WHERE status = 'PENDING_APPROVAL') AS pending,
             count(*) FILTER (WHERE status = 'APPROVED') AS approved, count(*) FILTER (WHERE status = 'SCHEDULED') AS sched,
             count(*) FILTER (WHERE status = 'PUBLISHING') AS publishing, count(*) FILTER (WHERE status = 'PUBLISHED') AS pub,
             count(*) FILTER (WHERE status = 'FAILED') AS failed, count(*) FILTER (WHERE status = 'ARCHIVED') AS archived
        FROM posts p WHERE p.workspace_id = k.workspace_id AND ${onUtcDay('p.created_at', 'k.day')}
    ) c
    CROSS JOIN LATERAL (SELECT count(*) AS scheduled FROM posts p WHERE p.workspace_id = k.workspace_id AND ${onUtcDay('p.scheduled_at', 'k.day')}) s
    CROSS JOIN LATERAL (SELECT count(*) AS published FROM posts p WHERE p.workspace_id = k.workspace_id AND ${onUtcDay('p.published_at', 'k.day')}) pb
    ORDER BY 1, 2`,

  'public.mv_conversation_metrics': `
    WITH convs AS (
      SELECT c.*, sa.platform, extract(epoch FROM c.first_response_at - c.created_at) AS frt,
             extract(epoch FROM c.resolved_at - c.created_at) AS rt
        FROM conversations c JOIN social_accounts sa ON sa.id = c.social_account_id
    ),
    keys AS (SELECT DISTINCT workspace_id, date(timezone('UTC', created_at)) AS day, platform, type FROM convs)
    SELECT k.workspace_id, k.day, k.platform, k.type, x.*
    FROM keys k
    CROSS JOIN LATERAL (
      SELECT count(*) AS conversations,
             count(*) FILTER (WHERE status = 'open'), count(*) FILTER (WHERE status = 'pending'),
             count(*) FILTER (WHERE status = 'resolved'), count(*) FILTER (WHERE status = 'closed'),
             count(frt) AS responded,
             round(sum(frt) / nullif(count(frt), 0), 3) AS avg_frt,
             round((percentile_disc(0.5) WITHIN GROUP (ORDER BY frt) + percentile_disc(0.5) WITHIN GROUP (ORDER BY frt DESC)) / 2, 3) AS median_frt,
             round(sum(rt) / nullif(count(rt), 0), 3) AS avg_rt,
             round(count(*) FILTER (WHERE status IN ('resolved', 'closed'))::numeric / count(*), 4),
             count(*) FILTER (WHERE sentiment = 'positive'), count(*) FILTER (WHERE sentiment = 'neutral'),
             count(*) FILTER (WHERE sentiment = 'negative'), count(*) FILTER (WHERE sentiment = 'mixed'),
             count(*) FILTER (WHERE sentiment IS NULL),
             count(*) FILTER (WHERE first_response_at > first_response_due_at OR (first_response_at IS NULL AND first_response_due_at < $1::timestamptz)),
             count(*) FILTER (WHERE resolved_at > resolution_due_at OR (resolved_at IS NULL AND resolution_due_at < $1::timestamptz))
        FROM convs c
       WHERE c.workspace_id = k.workspace_id AND c.platform = k.platform AND c.type = k.type AND ${onUtcDay('c.created_at', 'k.day')}
    ) x
    ORDER BY 1, 2, 3, 4`,

  'public.mv_listening_sentiment_trends': `
    WITH keys AS (SELECT DISTINCT workspace_id, listening_query_id, date(timezone('UTC', published_at)) AS day FROM listening_mentions)
    SELECT k.workspace_id, k.listening_query_id, k.day, x.*
    FROM keys k
    CROSS JOIN LATERAL (
      SELECT count(*), count(*) FILTER (WHERE sentiment = 'positive'), count(*) FILTER (WHERE sentiment = 'neutral'),
             count(*) FILTER (WHERE sentiment = 'negative'), count(*) FILTER (WHERE sentiment = 'mixed'),
             count(*) FILTER (WHERE sentiment IS NULL),
             round(sum(sentiment_score) / nullif(count(sentiment_score), 0), 4),
             count(*) FILTER (WHERE is_influencer),
             (SELECT count(*) FROM (SELECT DISTINCT author_handle FROM listening_mentions d
                WHERE d.workspace_id = k.workspace_id AND d.listening_query_id = k.listening_query_id AND ${onUtcDay('d.published_at', 'k.day')}) a),
             sum(author_reach), sum(engagement)
        FROM listening_mentions m
       WHERE m.workspace_id = k.workspace_id AND m.listening_query_id = k.listening_query_id AND ${onUtcDay('m.published_at', 'k.day')}
    ) x
    ORDER BY 1, 2, 3`,

  'public.mv_influencer_metrics': `
    SELECT i.id, i.workspace_id, i.name, coalesce(i.category, ''),
           (SELECT count(*) FROM influencer_accounts a WHERE a.influencer_id = i.id),
           (SELECT coalesce(sum(followers), 0) FROM influencer_accounts a WHERE a.influencer_id = i.id),
           (SELECT round(avg(engagement_rate), 4) FROM influencer_accounts a WHERE a.influencer_id = i.id),
           (SELECT count(*) FROM influencer_collaborations c WHERE c.influencer_id = i.id),
           (SELECT count(*) FROM influencer_collaborations c WHERE c.influencer_id = i.id AND status = 'active'),
           (SELECT count(*) FROM influencer_collaborations c WHERE c.influencer_id = i.id AND status = 'completed'),
           k.cost, k.revenue, k.conversions, k.engagements,
           CASE WHEN k.cost > 0 THEN round((k.revenue - k.cost) / k.cost, 4) END,
           CASE WHEN k.conversions > 0 THEN round(k.cost / k.conversions, 2) END,
           CASE WHEN k.engagements > 0 THEN round(k.cost / k.engagements, 4) END
    FROM influencers i
    CROSS JOIN LATERAL (
      SELECT coalesce(sum(compensation), 0) AS cost, coalesce(sum(attributed_revenue), 0) AS revenue,
             coalesce(sum(conversions), 0) AS conversions, coalesce(sum(engagements), 0) AS engagements
        FROM influencer_collaborations c WHERE c.influencer_id = i.id AND c.status <> 'cancelled'
    ) k
    ORDER BY 1`,

  // Written apart from 070: a correlated subquery per figure instead of a lateral per post.
  'public.analytics_post_engagement': `
    SELECT p.id, p.workspace_id, date(timezone('UTC', p.published_at)), p.published_at,
           (SELECT count(*) FROM post_targets pt WHERE pt.post_id = p.id),
           (SELECT coalesce(sum(m.impressions), 0) FROM post_metrics_daily m JOIN post_targets pt ON pt.id = m.post_target_id WHERE pt.post_id = p.id AND pt.status = 'published'),
           (SELECT coalesce(sum(m.reach), 0) FROM post_metrics_daily m JOIN post_targets pt ON pt.id = m.post_target_id WHERE pt.post_id = p.id AND pt.status = 'published'),
           (SELECT coalesce(sum(m.clicks), 0) FROM post_metrics_daily m JOIN post_targets pt ON pt.id = m.post_target_id WHERE pt.post_id = p.id AND pt.status = 'published'),
           (SELECT coalesce(sum(m.likes + m.comments + m.shares + m.saves), 0) FROM post_metrics_daily m JOIN post_targets pt ON pt.id = m.post_target_id WHERE pt.post_id = p.id AND pt.status = 'published')
      FROM posts p
     WHERE p.status = 'PUBLISHED' AND p.published_at IS NOT NULL AND EXISTS (SELECT 1 FROM post_targets pt WHERE pt.post_id = p.id)
     ORDER BY 1`,

  'public.analytics_campaign_totals': `
    SELECT c.id, sum(m.impressions), sum(m.likes + m.comments + m.shares + m.saves), sum(m.clicks)
      FROM campaigns c
      JOIN posts p ON p.campaign_id = c.id
      JOIN post_targets pt ON pt.post_id = p.id
      JOIN post_metrics_daily m ON m.post_target_id = pt.id
     GROUP BY c.id
     ORDER BY 1`,
};

export const KEY_ORDER: Record<Relation, string> = {
  'dbops.analytics_post_days': '1, 2, 3',
  'public.mv_daily_post_metrics': '1, 2, 3, 4',
  'public.mv_daily_workspace_activity': '1, 2',
  'public.mv_conversation_metrics': '1, 2, 3, 4',
  'public.mv_listening_sentiment_trends': '1, 2, 3',
  'public.mv_influencer_metrics': '1',
  'public.analytics_post_engagement': '1',
  'public.analytics_campaign_totals': '1',
};

/** Rows as arrays of values, so column names don't matter, only order and values. */
export async function rowsOf(db: TestDatabase, sql: string, values: unknown[] = []): Promise<unknown[][]> {
  const result = await db.pool().query({ text: sql, values, rowMode: 'array' });
  return result.rows as unknown[][];
}

export async function viewRows(db: TestDatabase, view: Relation): Promise<unknown[][]> {
  return rowsOf(db, `SELECT * FROM ${view} ORDER BY ${KEY_ORDER[view]}`);
}

/** The direct aggregate; `now` is when an unanswered deadline counts as missed (default: the database's now). */
export async function directRows(db: TestDatabase, view: Relation, now?: Date): Promise<unknown[][]> {
  const sql = DIRECT[view];
  if (!sql.includes('$1')) return rowsOf(db, sql);
  return rowsOf(db, sql, [now ?? (await db.query<{ now: Date }>('SELECT now()'))[0].now]);
}

/**
 * What the refresh task does, straight in SQL: optionally a full rebuild, then drain the log in
 * batches. `full: 'steps'` rebuilds range by range as the task does (095); `true`, in one
 * set-based statement per relation (074).
 */
export async function refreshAnalytics(
  db: Pick<TestDatabase, 'query'>,
  options: { full?: boolean | 'steps'; now?: Date; batch?: number; only?: readonly Relation[] } = {},
): Promise<{ buckets: number; rowsChanged: number }> {
  let buckets = 0;
  let rowsChanged = 0;
  for (const view of options.only ?? VIEWS) {
    if (options.full === 'steps') {
      await db.query(`SELECT dbops.analytics_request_rebuild($1)`, [view]);
      for (;;) {
        const [r] = await db.query<{ buckets: number; rows_changed: string; done: boolean }>(
          `SELECT * FROM dbops.analytics_rebuild_step($1, $2, $3)`,
          [view, options.batch ?? 500, options.now ?? null],
        );
        buckets += r.buckets;
        rowsChanged += Number(r.rows_changed);
        if (r.done) break;
      }
    } else if (options.full) {
      const [r] = await db.query<{ buckets: string; rows_changed: string }>(`SELECT * FROM dbops.analytics_rebuild($1, $2)`, [view, options.now ?? null]);
      buckets += Number(r.buckets);
      rowsChanged += Number(r.rows_changed);
    }
    for (;;) {
      const [r] = await db.query<{ buckets: number; rows_changed: string; more: boolean }>(
        `SELECT * FROM dbops.analytics_refresh_batch($1, $2, $3)`,
        [view, options.batch ?? 500, options.now ?? null],
      );
      buckets += r.buckets;
      rowsChanged += Number(r.rows_changed);
      if (!r.more) break;
    }
  }
  return { buckets, rowsChanged };
}

