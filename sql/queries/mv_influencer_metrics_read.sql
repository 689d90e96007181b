-- name: mv_influencer_metrics_read
-- description: Influencer leaderboard: a workspace's influencers by lifetime ROI, best first, with followers, engagement rate, spend, revenue and cost per conversion, keyset paginated on (roi, influencer_id); influencers with no paid collaboration (ROI NULL) are not ranked.
-- expects-index: mv_influencer_metrics_workspace_roi_idx
-- param: $1 workspace_id bigint: the workspace whose influencers are ranked
-- param: $2 cursor_roi numeric: roi of the last row of the previous page; 'Infinity' for the first page
-- param: $3 cursor_influencer_id bigint: influencer_id of the last row of the previous page; 9223372036854775807 for the first page
-- param: $4 page_size integer: rows per page, 25 typically (1-100)
SELECT im.influencer_id,
       im.name,
       im.category,
       im.total_followers,
       im.avg_engagement_rate,
       im.collaborations,
       im.total_compensation,
       im.attributed_revenue,
       im.conversions,
       im.roi,
       im.cost_per_conversion
FROM public.mv_influencer_metrics im
WHERE im.workspace_id = $1::bigint
  AND (im.roi, im.influencer_id) < ($2::numeric, $3::bigint)
ORDER BY im.roi DESC, im.influencer_id DESC
LIMIT $4::integer;
