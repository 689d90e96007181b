-- dbops:no-transaction
-- The rollup rows of a campaign's posts, which its totals are summed from (105): read along it when
-- a campaign is recomputed (a rebuild step, a logged campaign) and probed for a campaign whose
-- last metric row went. The predicate leaves metric_rows out on purpose: a column in an index
-- predicate counts as indexed, and a rollup row gaining its first metric row (the publishing day's)
-- would no longer be a HOT update (101). Built concurrently: the rollup holds a row per post, day
-- and platform, and the refresh writes it while this builds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS analytics_post_days_campaign_idx
  ON dbops.analytics_post_days (campaign_id) WHERE campaign_id <> 0;
COMMENT ON INDEX dbops.analytics_post_days_campaign_idx IS
  'campaign totals from the rollup: a campaign''s rows (dbops.analytics_rows_campaign_totals, dbops.analytics_post_days_to_campaigns)';
