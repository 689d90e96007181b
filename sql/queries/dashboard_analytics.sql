-- name: dashboard_analytics
-- description: Dashboard "top posts" card: a workspace's posts published in a period, ranked by engagement, with impressions, reach and clicks summed over every account each post went to and every day measured. Reads the per-post totals public.analytics_post_engagement keeps (as fresh as the hourly refresh; dbops.mv_freshness says how old): the best N of each UTC publishing day of the period along the top index, merged, so the read costs days x N index entries however many posts the period holds.
-- expects-index: analytics_post_engagement_top_idx
-- param: $1 workspace_id bigint: the workspace whose dashboard is open
-- param: $2 period_start timestamptz: first instant of the period (inclusive), typically now() - 7 or 30 days
-- param: $3 period_end timestamptz: end of the period (exclusive), typically now()
-- param: $4 row_limit integer: posts shown on the card, 10 typically (1-100)
-- Each post has one publishing day, so the period's top N is among the union of its days' top N
-- (exact). On the first and last day the period may start or end mid-day: the scan of those days
-- skips the posts outside it and goes on down the ranking.
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
  SELECT best.id, best.targets, best.impressions, best.reach, best.clicks, best.engagements
    FROM generate_series(0, (($3::timestamptz AT TIME ZONE 'UTC')::date - ($2::timestamptz AT TIME ZONE 'UTC')::date)) AS d(n)
   CROSS JOIN LATERAL (
     SELECT e.post_id AS id, e.targets, e.impressions, e.reach, e.clicks, e.engagements
       FROM public.analytics_post_engagement e
      WHERE e.workspace_id = $1::bigint
        AND e.day = ($2::timestamptz AT TIME ZONE 'UTC')::date + d.n
        AND e.published_at >= $2::timestamptz
        AND e.published_at < $3::timestamptz
      ORDER BY e.engagements DESC, e.post_id DESC
      LIMIT $4::integer
   ) best
   ORDER BY best.engagements DESC, best.id DESC
   LIMIT $4::integer
) top
JOIN public.posts p ON p.id = top.id
ORDER BY top.engagements DESC, top.id DESC;
