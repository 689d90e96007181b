-- name: mv_daily_post_metrics_read
-- description: Dashboard performance chart: a workspace's daily published posts, AI share, impressions, reach and engagement per platform over a date range, read from the pre-aggregated view (bounded by the range: at most days x platforms rows).
-- expects-index: mv_daily_post_metrics_key
-- param: $1 workspace_id bigint: the workspace whose dashboard is open
-- param: $2 first_day date: first UTC day of the range (inclusive), typically 7-90 days back
-- param: $3 last_day date: last UTC day of the range (inclusive), typically yesterday or today
SELECT d.day,
       d.platform,
       d.posts_published,
       d.ai_generated_share,
       d.impressions,
       d.reach,
       d.engagements,
       d.clicks,
       d.engagement_rate
FROM public.mv_daily_post_metrics d
WHERE d.workspace_id = $1::bigint
  AND d.day BETWEEN $2::date AND $3::date
ORDER BY d.day, d.platform;
