-- dbops:no-transaction
-- 088's index, keyed by month and year, serves every query 083's month-keyed one served
-- (tag_search, full_text_search, QueryBuilder's tag and text filters with or without a
-- workspace), and each GIN index on posts costs every new or non-HOT-updated post its entries.
DROP INDEX CONCURRENTLY IF EXISTS public.posts_workspace_month_search_gin_idx;
