-- Every bucket the base tables hold, per relation (070's analytics_buckets_* functions), was what
-- 070's full rebuild logged and then recomputed bucket by bucket. 074 rebuilds each relation from
-- its live definition in one statement, so nothing reads these lists any more.
ALTER TABLE dbops.analytics_relations DROP COLUMN buckets_function;

DROP FUNCTION dbops.analytics_buckets_daily_post_metrics();
DROP FUNCTION dbops.analytics_buckets_daily_workspace_activity();
DROP FUNCTION dbops.analytics_buckets_conversation_metrics();
DROP FUNCTION dbops.analytics_buckets_listening_sentiment_trends();
DROP FUNCTION dbops.analytics_buckets_influencer_metrics();
DROP FUNCTION dbops.analytics_buckets_post_engagement();
DROP FUNCTION dbops.analytics_buckets_campaign_totals();
