-- name: campaign_performance
-- description: Campaign performance list: a workspace's campaigns in one status, newest start first, each with its posts, published posts and the impressions, engagements and clicks its published targets collected, plus cost per click.
-- expects-index: campaigns_workspace_status_idx
-- expects-index: posts_campaign_idx
-- expects-index: post_targets_post_status_idx
-- expects-index: post_metrics_daily_target_totals_idx
-- param: $1 workspace_id bigint: the workspace whose campaigns are listed
-- param: $2 status campaign_status: the list's status filter: draft, active, paused, completed or archived
-- param: $3 row_limit integer: campaigns per page, 20 typically (1-100)
SELECT c.id,
       c.name,
       c.status,
       c.start_date,
       c.end_date,
       c.budget,
       counts.posts,
       counts.published_posts,
       perf.impressions,
       perf.engagements,
       perf.clicks,
       round(c.budget / nullif(perf.clicks, 0), 4) AS cost_per_click
FROM public.campaigns c
-- Post counts and metric totals apart: joined together, every post would be repeated per target
-- and metric day and need count(DISTINCT). Both walk index-only scans.
CROSS JOIN LATERAL (
  SELECT count(*) AS posts,
         count(*) FILTER (WHERE p.status = 'PUBLISHED') AS published_posts
    FROM public.posts p
   WHERE p.campaign_id = c.id
) counts
CROSS JOIN LATERAL (
  -- Only a published target has a platform post to collect metrics from.
  SELECT coalesce(sum(m.impressions), 0)::bigint AS impressions,
         coalesce(sum(m.likes + m.comments + m.shares + m.saves), 0)::bigint AS engagements,
         coalesce(sum(m.clicks), 0)::bigint AS clicks
    FROM public.posts p
    JOIN public.post_targets pt ON pt.post_id = p.id AND pt.status = 'published'
    JOIN public.post_metrics_daily m ON m.post_target_id = pt.id
   WHERE p.campaign_id = c.id
) perf
WHERE c.workspace_id = $1::bigint
  AND c.status = $2::public.campaign_status
ORDER BY c.start_date DESC, c.id DESC
LIMIT $3::integer;
