-- name: dashboard_analytics
-- description: Dashboard "top posts" card: a workspace's posts published in a period, ranked by engagement, with impressions, reach and clicks summed over every account each post went to and every day measured.
-- expects-index: posts_workspace_published_idx
-- param: $1 workspace_id bigint: the workspace whose dashboard is open
-- param: $2 period_start timestamptz: first instant of the period (inclusive), typically now() - 7 or 30 days
-- param: $3 period_end timestamptz: end of the period (exclusive), typically now()
-- param: $4 row_limit integer: posts shown on the card, 10 typically (1-100)
SELECT p.id,
       p.title,
       p.published_at,
       p.ai_generated,
       count(DISTINCT pt.id) AS targets,
       coalesce(sum(m.impressions), 0)::bigint AS impressions,
       coalesce(sum(m.reach), 0)::bigint AS reach,
       coalesce(sum(m.clicks), 0)::bigint AS clicks,
       coalesce(sum(m.likes + m.comments + m.shares + m.saves), 0)::bigint AS engagements
FROM public.posts p
JOIN public.post_targets pt ON pt.post_id = p.id
LEFT JOIN public.post_metrics_daily m ON m.post_target_id = pt.id
WHERE p.workspace_id = $1::bigint
  AND p.status = 'PUBLISHED'
  AND p.published_at >= $2::timestamptz
  AND p.published_at < $3::timestamptz
GROUP BY p.id
ORDER BY engagements DESC, p.id DESC
LIMIT $4::integer;
