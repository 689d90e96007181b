-- dbops:no-transaction
-- Tag and full-text search whose cost follows the recent matches, not the tenant's history.
--
-- tag_search and full_text_search (073's form) first find the shortest recent window (7, 30, 90,
-- 365 days) holding a page of matches, each probe stopping at a page. But a GIN index cannot
-- stop early: the probe's bitmap held every match of the tenant's whole history, filtered by
-- created_at afterwards. At the medium scale with one spec-rate hour on top, a word in 18,000 of
-- the biggest tenant's posts cost 155 ms a probe (30,000 heap pages), and four times the history
-- would cost four times that.
--
-- The fix is a time key inside the GIN: (workspace, UTC month) as one bigint,
-- public.post_month_bucket (015). A window is the handful of months it spans, ANDed with the tags or
-- the words through GIN's fast scan: the tenant's posts of those months drive it, whatever lies
-- before. A range on the key would not do (btree_gin scans a >= bound to the end of the index),
-- so the queries list the window's buckets and use = ANY, which a bitmap index scan runs key by
-- key. workspace_id stays a column of its own, so the same index answers a workspace-wide
-- search (the all-time fallback, QueryBuilder) as the two indexes it replaces did. The queries
-- do not also say workspace_id = $1: the key already holds it, and the planner, multiplying two
-- fully correlated selectivities, would expect a handful of rows and plan for that.

-- One index for both searches. With two (one per searched column, each with the month key) the
-- planner took the month key from one and the words from the other and ANDed the bitmaps: the
-- words' side was again every match of all time.
CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_workspace_month_search_gin_idx
  ON public.posts USING gin (workspace_id, public.post_month_bucket(workspace_id, created_at), tags, search_vector);
COMMENT ON INDEX public.posts_workspace_month_search_gin_idx IS
  'tag and full-text search: a workspace''s posts of given UTC months whose tags contain all given tags (tag_search.sql) or matching websearch_to_tsquery(''english'', $n) (full_text_search.sql); also tags @> / && and search_vector @@ of a workspace or across workspaces (QueryBuilder)';

