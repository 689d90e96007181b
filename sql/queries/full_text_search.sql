-- name: full_text_search
-- description: Content search box: a workspace's posts matching a web-style query (words, "phrases", OR, -exclusions) in title or content, best matches first (title hits weigh more).
-- expects-index: posts_search_vector_gin_idx
-- param: $1 workspace_id bigint: the workspace whose posts are searched
-- param: $2 search text: what the user typed, e.g. summer sale or "product launch" -webinar (websearch_to_tsquery syntax, English stemming)
-- param: $3 row_limit integer: results per page, 20 typically (1-100)
SELECT p.id,
       p.title,
       p.status,
       p.created_at,
       ts_rank_cd(p.search_vector, q.query) AS rank
FROM public.posts p,
     websearch_to_tsquery('english', $2::text) AS q(query)
WHERE p.workspace_id = $1::bigint
  AND p.search_vector @@ q.query
ORDER BY rank DESC, p.id DESC
LIMIT $3::integer;
