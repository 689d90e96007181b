-- name: full_text_search
-- description: Content search box: a workspace's posts matching a web-style query (words, "phrases", OR, -exclusions) in title or content, best matches first (title hits weigh more) among the newest 200 matches. Product choice: a common word matches tens of thousands of a big tenant's posts; ranking them all costs a row visit each, so the page shows the best of the most recent 200 matches, and a narrower query reaches older posts.
-- expects-index: post_search_terms_gin_idx
-- param: $1 workspace_id bigint: the workspace whose posts are searched
-- param: $2 search text: what the user typed, e.g. summer sale or "product launch" -webinar (websearch_to_tsquery syntax, English stemming)
-- param: $3 row_limit integer: results per page, 20 typically (1-200)
-- public.search_posts (097) walks the tenant's history newest first, one probe of
-- post_search_terms_gin_idx per step (the month of its newest post and the 12 before it, then a
-- year at a time back to its oldest post), until it holds the newest 200 matches; it ranks those
-- and reads the page from posts. Its statements keep their plans for the session, so a call
-- costs no planning of the walk. Same rows as the plain definition (the newest 200 matches of all
-- history, ranked): test/sql/search-queries.test.ts compares them on every path.
SELECT s.id, s.title, s.status, s.created_at, s.rank
FROM public.search_posts($1::bigint, $2::text, $3::integer) s
ORDER BY s.rank DESC, s.id DESC
LIMIT $3::integer;
