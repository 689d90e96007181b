-- dbops:no-transaction
-- The index of post_search (097): a tenant's month (015) or year (016) key ANDed with its keyed
-- words or tags, so a probe reads only that tenant's posting lists. fastupdate is off, as 085
-- explains for the index it replaces (100): GIN's pending list is read whole by every scan.
CREATE INDEX CONCURRENTLY IF NOT EXISTS post_search_terms_gin_idx
  ON public.post_search USING gin (public.post_month_bucket(workspace_id, created_at),
                                   public.post_year_bucket(workspace_id, created_at), terms)
  WITH (fastupdate = off);
COMMENT ON INDEX public.post_search_terms_gin_idx IS
  'tag and full-text search: a workspace''s posts of one UTC month or year whose keyed terms match its tags (tag_search.sql) or words (full_text_search.sql), or of all time (QueryBuilder.postSearch); fastupdate off as 085 explains';
