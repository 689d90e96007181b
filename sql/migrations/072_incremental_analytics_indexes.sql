-- dbops:no-transaction
-- Access paths the incremental analytics refresh (070) recomputes its buckets along. Built
-- CONCURRENTLY on live tables (one statement at a time, IF NOT EXISTS so a re-run is safe).

-- mv_daily_post_metrics: a touched day's published targets, scanned once per batch (post_targets
-- has no workspace column; the posts join then keeps the touched workspaces).
CREATE INDEX CONCURRENTLY IF NOT EXISTS post_targets_published_day_idx
  ON public.post_targets (published_at) INCLUDE (post_id, social_account_id) WHERE status = 'published';
COMMENT ON INDEX public.post_targets_published_day_idx IS
  'incremental refresh of mv_daily_post_metrics: the published targets of one UTC day (dbops.analytics_rows_daily_post_metrics)';

-- mv_daily_post_metrics: a touched day's metric rows (the BRIN of 030 reads whole block ranges,
-- and late rows for old days widen them).
CREATE INDEX CONCURRENTLY IF NOT EXISTS post_metrics_daily_metric_date_idx
  ON public.post_metrics_daily (metric_date);
COMMENT ON INDEX public.post_metrics_daily_metric_date_idx IS
  'incremental refresh of mv_daily_post_metrics: the metric rows of one day (dbops.analytics_rows_daily_post_metrics)';

-- mv_daily_workspace_activity: a workspace's posts published on one day, whatever their status now
-- (posts_workspace_published_idx holds only the PUBLISHED ones).
CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_workspace_published_at_idx
  ON public.posts (workspace_id, published_at) WHERE published_at IS NOT NULL;
COMMENT ON INDEX public.posts_workspace_published_at_idx IS
  'incremental refresh of mv_daily_workspace_activity: a workspace''s posts published on one UTC day, any status (dbops.analytics_rows_daily_workspace_activity)';

-- mv_conversation_metrics: deadlines that passed unanswered since the last refresh (the clock).
CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_unanswered_due_idx
  ON public.conversations (first_response_due_at) WHERE first_response_at IS NULL;
COMMENT ON INDEX public.conversations_unanswered_due_idx IS
  'incremental refresh of mv_conversation_metrics: unanswered conversations whose first-response deadline passed in a time range (dbops.analytics_clock_conversation_metrics)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_unresolved_due_idx
  ON public.conversations (resolution_due_at) WHERE resolved_at IS NULL;
COMMENT ON INDEX public.conversations_unresolved_due_idx IS
  'incremental refresh of mv_conversation_metrics: unresolved conversations whose resolution deadline passed in a time range (dbops.analytics_clock_conversation_metrics)';
