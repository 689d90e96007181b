-- dbops:no-transaction
-- 083's month-keyed GIN index serves every query the two indexes below served (tag_search,
-- full_text_search, QueryBuilder's tag and text filters with or without a workspace), and each
-- index on posts costs every non-HOT update of a post (a publish settles one) an entry.
DROP INDEX CONCURRENTLY IF EXISTS public.posts_workspace_tags_gin_idx;
DROP INDEX CONCURRENTLY IF EXISTS public.posts_workspace_search_vector_gin_idx;
