-- name: mv_daily_post_metrics_read
-- description: Dashboard performance chart: a workspace's daily published posts, AI share, impressions, reach and engagement per platform over a date range, read from the pre-aggregated view (bounded by the range: at most days x platforms x campaigns rows, summed over campaigns along the unique key).
-- expects-index: mv_daily_post_metrics_key
-- param: $1 workspace_id bigint: the workspace whose dashboard is open
-- param: $2 first_day date: first UTC day of the range (inclusive), typically 7-90 days back
-- param: $3 last_day date: last UTC day of the range (inclusive), typically yesterday or today
-- The view has a row per campaign (0 = none) too; a post belongs to one campaign, so summing the
-- distinct-post counts over campaigns is exact, and the ratios are recomputed from the sums.
SELECT d.day,
       d.platform,
       sum(d.posts_published)::bigint AS posts_published,
       round(sum(d.ai_generated_posts)::numeric / nullif(sum(d.posts_published), 0), 4) AS ai_generated_share,
       sum(d.impressions)::bigint AS impressions,
       sum(d.reach)::bigint AS reach,
       sum(d.engagements)::bigint AS engagements,
       sum(d.clicks)::bigint AS clicks,
       round(sum(d.engagements)::numeric / nullif(sum(d.impressions), 0), 6) AS engagement_rate
FROM public.mv_daily_post_metrics d
WHERE d.workspace_id = $1::bigint
  AND d.day BETWEEN $2::date AND $3::date
GROUP BY d.day, d.platform
ORDER BY d.day, d.platform;
