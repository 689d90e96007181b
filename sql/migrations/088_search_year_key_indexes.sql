-- dbops:no-transaction
-- The search index gains a (workspace, UTC year) key, so no search reads the tenant's whole history.
--
-- tag_search and full_text_search walked the 13 newest months and, when those held less than a
-- page, fell back to every match of all time through the workspace_id key: a cost that follows
-- the tenant's history. In the history-growth run at 4x the medium history, that fallback was
-- 23.5 ms of full_text_search's 54.9 ms p95 (1,472 matches read to keep the newest 200). With a
-- year key the walk goes on a year at a time and stops at a page, as it does by month.
--
-- One more key per post (one GIN entry, like the month key); the index grew by 5% at the medium
-- scale (112 to 118 MB). It replaces 083's index (089 drops it): the columns 083 had are here in
-- the same order, with the year key after the month key, so it serves every query 083's did.
CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_workspace_period_search_gin_idx
  ON public.posts USING gin (workspace_id, public.post_month_bucket(workspace_id, created_at),
                             public.post_year_bucket(workspace_id, created_at), tags, search_vector)
  WITH (fastupdate = off);
COMMENT ON INDEX public.posts_workspace_period_search_gin_idx IS
  'tag and full-text search: a workspace''s posts of a given UTC month or year whose tags contain all given tags (tag_search.sql) or matching websearch_to_tsquery(''english'', $n) (full_text_search.sql); also tags @> / && and search_vector @@ of a workspace or across workspaces (QueryBuilder); fastupdate off as 085 explains';
