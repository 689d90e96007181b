-- dbops:no-transaction
-- The rollup rows a campaign's totals are summed from (105): those of a campaign's posts that hold
-- metric rows. 105 reads a campaign's rows along it when it recomputes the campaign (a rebuild
-- step, a logged campaign) and probes it for a campaign whose last metric row went. Built
-- concurrently: the rollup holds a row per post, day and platform, and the refresh writes it
-- while this builds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS analytics_post_days_campaign_idx
  ON dbops.analytics_post_days (campaign_id) WHERE campaign_id <> 0 AND metric_rows > 0;
COMMENT ON INDEX dbops.analytics_post_days_campaign_idx IS
  'campaign totals from the rollup: a campaign''s rows with metric rows (dbops.analytics_rows_campaign_totals, dbops.analytics_post_days_to_campaigns)';
