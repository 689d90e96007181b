-- name: full_text_search
-- description: Content search box: a workspace's posts matching a web-style query (words, "phrases", OR, -exclusions) in title or content, best matches first (title hits weigh more) among the newest 200 matches. Product choice: a common word matches tens of thousands of a big tenant's posts; ranking them all costs a heap visit each, so the page shows the best of the most recent 200 matches, and a narrower query reaches older posts.
-- expects-index: posts_workspace_month_search_gin_idx
-- param: $1 workspace_id bigint: the workspace whose posts are searched
-- param: $2 search text: what the user typed, e.g. summer sale or "product launch" -webinar (websearch_to_tsquery syntax, English stemming)
-- param: $3 row_limit integer: results per page, 20 typically (1-100)
-- The newest 200 matches without reading all of them: the GIN index finds matches but not in
-- time order. First the shortest recent window (7, 30, 90, 365 days) holding 200 matches is found,
-- each probe reading only the window's months of the tenant (083: a (workspace, month) key in the
-- GIN, listed with = ANY) and stopping at 200; then only that window's matches are ordered. All
-- time only when the last year holds fewer than 200. Exact whichever window is picked.
SELECT m.id,
       m.title,
       m.status,
       m.created_at,
       ts_rank_cd(m.search_vector, q.query) AS rank
FROM websearch_to_tsquery('english', $2::text) AS q(query)
CROSS JOIN LATERAL (
  SELECT coalesce((
    SELECT w.since
      FROM unnest(ARRAY[7, 30, 90, 365]) AS d(days)
     CROSS JOIN LATERAL (SELECT now() - d.days * interval '1 day' AS since) w
     WHERE (SELECT count(*) FROM (
              SELECT 1 FROM public.posts x
               WHERE public.post_month_bucket(x.workspace_id, x.created_at) = ANY (public.post_month_buckets($1::bigint, w.since))
                 AND x.search_vector @@ q.query AND x.created_at >= w.since
               LIMIT 200) probe) >= 200
     LIMIT 1), '-infinity'::timestamptz) AS since
  -- Computed once: without the fence each use of win.since below would repeat the probes.
  OFFSET 0
) AS win
CROSS JOIN LATERAL (
  (SELECT p.id, p.title, p.status, p.created_at, p.search_vector
     FROM public.posts p
    WHERE isfinite(win.since)
      AND public.post_month_bucket(p.workspace_id, p.created_at) = ANY (public.post_month_buckets($1::bigint, win.since))
      AND p.search_vector @@ q.query
      AND p.created_at >= win.since
    ORDER BY p.created_at DESC, p.id DESC
    LIMIT 200)
  UNION ALL
  (SELECT p.id, p.title, p.status, p.created_at, p.search_vector
     FROM public.posts p
    WHERE NOT isfinite(win.since)
      AND p.workspace_id = $1::bigint
      AND p.search_vector @@ q.query
    ORDER BY p.created_at DESC, p.id DESC
    LIMIT 200)
) m
ORDER BY rank DESC, m.id DESC
LIMIT $3::integer;
