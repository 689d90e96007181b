-- name: influencer_roi
-- description: Campaign influencer ROI: the influencers working on one campaign with their cost, attributed revenue, conversions, engagements and ROI = (revenue - cost) / cost over collaborations not cancelled, best ROI first.
-- expects-index: influencer_collaborations_campaign_idx
-- index-only: true
-- param: $1 workspace_id bigint: the workspace that owns the campaign and the influencers (tenant isolation)
-- param: $2 campaign_id bigint: the campaign whose influencers are ranked
-- param: $3 row_limit integer: influencers shown, 20 typically (1-100)
SELECT i.id AS influencer_id,
       i.name,
       i.category,
       count(*) AS collaborations,
       sum(ic.compensation) AS compensation,
       sum(ic.attributed_revenue) AS attributed_revenue,
       sum(ic.conversions)::bigint AS conversions,
       sum(ic.engagements)::bigint AS engagements,
       round((sum(ic.attributed_revenue) - sum(ic.compensation)) / nullif(sum(ic.compensation), 0), 4) AS roi
FROM public.influencer_collaborations ic
JOIN public.influencers i ON i.id = ic.influencer_id
WHERE ic.campaign_id = $2::bigint
  AND ic.status <> 'cancelled'
  AND i.workspace_id = $1::bigint
GROUP BY i.id
ORDER BY roi DESC NULLS LAST, i.id
LIMIT $3::integer;
