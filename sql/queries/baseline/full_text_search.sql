-- full_text_search.sql, plainly: the best of the workspace's newest 200 matches, all history
-- read. The walk of public.search_posts must return exactly these rows; on the baseline schema
-- (below 030, no search index and no search_posts) this is what the pattern runs as.
SELECT m.id, m.title, m.status, m.created_at, ts_rank_cd(m.search_vector, q) AS rank
  FROM websearch_to_tsquery('english', $2::text) q,
       LATERAL (SELECT p.id, p.title, p.status, p.created_at, p.search_vector FROM public.posts p
                 WHERE p.workspace_id = $1::bigint AND p.search_vector @@ q
                 ORDER BY p.created_at DESC, p.id DESC LIMIT 200) m
 ORDER BY rank DESC, m.id DESC
 LIMIT $3::integer;
