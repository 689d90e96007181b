-- dbops:no-transaction
-- The searches read post_search (097, 099) now, so nothing reads the search index of posts, and
-- every publish wrote it: a status change is a non-HOT update of posts, which puts the post's tags
-- and words into every GIN on it again (measured on the medium data: 724 ms against 348 ms for
-- 5,000 status updates with and without it).
DROP INDEX CONCURRENTLY IF EXISTS public.posts_workspace_period_search_gin_idx;
