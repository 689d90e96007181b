-- name: dashboard_analytics
-- description: Dashboard "top posts" card: a workspace's posts published in a period, ranked by engagement, with impressions, reach and clicks summed over every account each post went to and every day measured.
-- expects-index: posts_workspace_published_idx
-- expects-index: post_targets_post_status_idx
-- expects-index: post_metrics_daily_target_totals_idx
-- param: $1 workspace_id bigint: the workspace whose dashboard is open
-- param: $2 period_start timestamptz: first instant of the period (inclusive), typically now() - 7 or 30 days
-- param: $3 period_end timestamptz: end of the period (exclusive), typically now()
-- param: $4 row_limit integer: posts shown on the card, 10 typically (1-100)
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
ORDER BY top.engagements DESC, top.id DESC;
