-- Extra access paths on the materialized views, beyond the UNIQUE index each one has in 040 for
-- REFRESH ... CONCURRENTLY. The views are created WITH NO DATA, so building these at deploy time
-- costs nothing; a concurrent refresh then maintains them like any table index (one more index
-- is a little more refresh work, so only reads that the unique key cannot serve get one).
-- Transactional: plain CREATE INDEX on an empty view holds its lock for moments.

CREATE INDEX IF NOT EXISTS mv_daily_post_metrics_platform_day_idx
  ON public.mv_daily_post_metrics (workspace_id, platform, day);
COMMENT ON INDEX public.mv_daily_post_metrics_platform_day_idx IS
  'dashboard platform tab: one platform''s daily post metrics for a workspace and date range (the unique key is (workspace_id, day, platform, campaign_id))';

-- Covering, so the campaign list sums a campaign's rows with an index-only scan; campaign_id 0
-- (posts outside any campaign) is never asked for but costs only its share of the leaf pages.
CREATE INDEX IF NOT EXISTS mv_daily_post_metrics_campaign_idx
  ON public.mv_daily_post_metrics (campaign_id) INCLUDE (impressions, engagements, clicks);
COMMENT ON INDEX public.mv_daily_post_metrics_campaign_idx IS
  'campaign performance list: impressions, engagements and clicks summed over all of one campaign''s daily rows (campaign_performance.sql)';

CREATE INDEX IF NOT EXISTS mv_conversation_metrics_type_day_idx
  ON public.mv_conversation_metrics (workspace_id, type, day);
COMMENT ON INDEX public.mv_conversation_metrics_type_day_idx IS
  'inbox analytics per channel: response-time and SLA trend of one conversation type (e.g. reviews) for a workspace and date range';

CREATE INDEX IF NOT EXISTS mv_listening_sentiment_trends_workspace_day_idx
  ON public.mv_listening_sentiment_trends (workspace_id, day);
COMMENT ON INDEX public.mv_listening_sentiment_trends_workspace_day_idx IS
  'listening overview: daily mention volume and sentiment of a workspace across all its queries for a date range (mv_listening_sentiment_trends_read.sql)';

CREATE INDEX IF NOT EXISTS mv_influencer_metrics_workspace_roi_idx
  ON public.mv_influencer_metrics (workspace_id, roi DESC, influencer_id DESC);
COMMENT ON INDEX public.mv_influencer_metrics_workspace_roi_idx IS
  'influencer leaderboard: a workspace''s influencers by ROI, best first, keyset paginated on (roi, influencer_id) descending (mv_influencer_metrics_read.sql)';

CREATE INDEX IF NOT EXISTS mv_influencer_metrics_workspace_followers_idx
  ON public.mv_influencer_metrics (workspace_id, total_followers DESC);
COMMENT ON INDEX public.mv_influencer_metrics_workspace_followers_idx IS
  'influencer leaderboard by reach: a workspace''s influencers with the most followers across accounts';
