-- name: tag_search
-- description: Content library tag filter: a workspace's posts carrying every one of the chosen tags (array contains), newest first.
-- expects-index: post_search_terms_gin_idx
-- param: $1 workspace_id bigint: the workspace whose library is searched
-- param: $2 tags text[]: tags the posts must all carry, e.g. {launch} or {launch,video}
-- param: $3 row_limit integer: posts per page, 25 typically (1-1000)
-- Neither "matching tags" nor "newest first" alone bounds the read: walking the posts newest first
-- reads the whole history for a rare tag, and a tag index finds every match of all time before
-- sorting them. public.search_posts_by_tags (097) walks the tenant's history newest first, one
-- probe of post_search_terms_gin_idx per step (the month of its newest post and the 12 before it,
-- then a year at a time back to its oldest post), until it holds a page, and reads that page from
-- posts. Same rows as the plain definition: test/sql/search-queries.test.ts compares them.
SELECT s.id, s.title, s.status, s.tags, s.scheduled_at, s.published_at, s.created_at
FROM public.search_posts_by_tags($1::bigint, $2::text[], $3::integer) s
ORDER BY s.created_at DESC, s.id DESC
LIMIT $3::integer;
