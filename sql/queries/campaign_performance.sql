-- name: campaign_performance
-- description: Campaign performance list: a workspace's campaigns in one status, newest start first, each with its posts, published posts and the impressions, engagements and clicks collected for its posts, plus cost per click. Metrics come from public.analytics_campaign_totals (one row per campaign, kept by the hourly incremental refresh), so they are as fresh as it; post counts are live.
-- expects-index: campaigns_workspace_status_idx
-- expects-index: posts_campaign_idx
-- expects-index: analytics_campaign_totals_pkey
-- param: $1 workspace_id bigint: the workspace whose campaigns are listed
-- param: $2 status campaign_status: the list's status filter: draft, active, paused, completed or archived
-- param: $3 row_limit integer: campaigns per page, 20 typically (1-100)
-- Metric totals are what analytics_campaign_totals keeps for the campaign: every post_metrics_daily
-- row of a target of the campaign's posts, whatever that target's status now. Only a published
-- target has a platform post to collect metrics from, so these are the metrics of the campaign's
-- published targets, except that a target's status changing after collection (e.g. a post taken
-- down) no longer drops the metrics it already earned. They lag by up to the refresh interval
-- (hourly; dbops.mv_freshness says how old); one row per campaign replaces walking every post,
-- target and metric day live (or summing the campaign's per-day rows), whatever the campaign's size.
SELECT c.id,
       c.name,
       c.status,
       c.start_date,
       c.end_date,
       c.budget,
       counts.posts,
       counts.published_posts,
       coalesce(perf.impressions, 0)::bigint AS impressions,
       coalesce(perf.engagements, 0)::bigint AS engagements,
       coalesce(perf.clicks, 0)::bigint AS clicks,
       round(c.budget / nullif(perf.clicks, 0), 4) AS cost_per_click
FROM public.campaigns c
-- Post counts live, from the posts index: a draft added a minute ago should be counted.
CROSS JOIN LATERAL (
  SELECT count(*) AS posts,
         count(*) FILTER (WHERE p.status = 'PUBLISHED') AS published_posts
    FROM public.posts p
   WHERE p.campaign_id = c.id
) counts
-- The campaign's totals: one primary-key lookup.
LEFT JOIN public.analytics_campaign_totals perf ON perf.campaign_id = c.id
WHERE c.workspace_id = $1::bigint
  AND c.status = $2::public.campaign_status
ORDER BY c.start_date DESC, c.id DESC
LIMIT $3::integer;
