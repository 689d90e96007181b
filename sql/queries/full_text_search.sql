-- name: full_text_search
-- description: Content search box: a workspace's posts matching a web-style query (words, "phrases", OR, -exclusions) in title or content, best matches first (title hits weigh more) among the newest 200 matches. Product choice: a common word matches tens of thousands of a big tenant's posts; ranking them all costs a heap visit each, so the page shows the best of the most recent 200 matches, and a narrower query reaches older posts.
-- expects-index: posts_workspace_month_search_gin_idx
-- param: $1 workspace_id bigint: the workspace whose posts are searched
-- param: $2 search text: what the user typed, e.g. summer sale or "product launch" -webinar (websearch_to_tsquery syntax, English stemming)
-- param: $3 row_limit integer: results per page, 20 typically (1-100)
-- The newest 200 matches without reading all of them: the GIN index finds matches but not in
-- time order. So the tenant's months are walked newest first, one GIN probe per month (083's
-- (workspace, month) key, ANDed with the words), counting matches until there are 200, over at
-- most the current month and the 12 before it; then only the walked months' matches are ordered.
-- Each month is probed once: a ladder of nested windows (7, 30, 90, 365 days) re-read the smaller
-- windows at every rung, four times the work for a query with few recent matches. All time only
-- when those 13 months hold fewer than 200. Exact: the newest 200 matches lie in the months walked.
WITH RECURSIVE q AS MATERIALIZED (
  SELECT websearch_to_tsquery('english', $2::text) AS query
),
walk (months_back, found) AS (
  SELECT 0, (SELECT count(*) FROM (
               SELECT 1 FROM public.posts x
                WHERE public.post_month_bucket(x.workspace_id, x.created_at) = public.post_month_bucket($1::bigint, now())
                  AND x.search_vector @@ (SELECT query FROM q)
                LIMIT 200) probe)
  UNION ALL
  SELECT w.months_back + 1, w.found + (SELECT count(*) FROM (
               SELECT 1 FROM public.posts x
                WHERE public.post_month_bucket(x.workspace_id, x.created_at) = public.post_month_bucket($1::bigint, now()) - (w.months_back + 1)
                  AND x.search_vector @@ (SELECT query FROM q)
                LIMIT 200 - w.found) probe)
    FROM walk w
   WHERE w.found < 200 AND w.months_back < 12
),
-- The walked months' keys, or NULL when they hold fewer than 200 matches (search all time).
win AS MATERIALIZED (
  SELECT CASE WHEN max(found) >= 200
              THEN ARRAY(SELECT public.post_month_bucket($1::bigint, now()) - g FROM generate_series(0, max(months_back)) g)
         END AS months
    FROM walk
)
SELECT m.id,
       m.title,
       m.status,
       m.created_at,
       ts_rank_cd(m.search_vector, (SELECT query FROM q)) AS rank
FROM win
CROSS JOIN LATERAL (
  (SELECT p.id, p.title, p.status, p.created_at, p.search_vector
     FROM public.posts p
    WHERE win.months IS NOT NULL
      AND public.post_month_bucket(p.workspace_id, p.created_at) = ANY (win.months)
      AND p.search_vector @@ (SELECT query FROM q)
    ORDER BY p.created_at DESC, p.id DESC
    LIMIT 200)
  UNION ALL
  (SELECT p.id, p.title, p.status, p.created_at, p.search_vector
     FROM public.posts p
    WHERE win.months IS NULL
      AND p.workspace_id = $1::bigint
      AND p.search_vector @@ (SELECT query FROM q)
    ORDER BY p.created_at DESC, p.id DESC
    LIMIT 200)
) m
ORDER BY rank DESC, m.id DESC
LIMIT $3::integer;
