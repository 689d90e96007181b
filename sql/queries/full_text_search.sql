-- name: full_text_search
-- description: Content search box: a workspace's posts matching a web-style query (words, "phrases", OR, -exclusions) in title or content, best matches first (title hits weigh more) among the newest 200 matches. Product choice: a common word matches tens of thousands of a big tenant's posts; ranking them all costs a heap visit each, so the page shows the best of the most recent 200 matches, and a narrower query reaches older posts.
-- expects-index: posts_workspace_search_vector_gin_idx
-- param: $1 workspace_id bigint: the workspace whose posts are searched
-- param: $2 search text: what the user typed, e.g. summer sale or "product launch" -webinar (websearch_to_tsquery syntax, English stemming)
-- param: $3 row_limit integer: results per page, 20 typically (1-100)
SELECT m.id,
       m.title,
       m.status,
       m.created_at,
       ts_rank_cd(m.search_vector, q.query) AS rank
FROM websearch_to_tsquery('english', $2::text) AS q(query)
-- The newest 200 matches: for a common word the planner walks posts_workspace_created_idx
-- newest first and stops at the 200th match; for a rare one the GIN finds the few matches.
CROSS JOIN LATERAL (
  SELECT p.id, p.title, p.status, p.created_at, p.search_vector
    FROM public.posts p
   WHERE p.workspace_id = $1::bigint
     AND p.search_vector @@ q.query
   ORDER BY p.created_at DESC, p.id DESC
   LIMIT 200
) m
ORDER BY rank DESC, m.id DESC
LIMIT $3::integer;
