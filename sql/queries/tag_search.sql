-- name: tag_search
-- description: Content library tag filter: a workspace's posts carrying every one of the chosen tags (array contains), newest first.
-- expects-index: posts_workspace_month_search_gin_idx
-- param: $1 workspace_id bigint: the workspace whose library is searched
-- param: $2 tags text[]: tags the posts must all carry, e.g. {launch} or {launch,video}
-- param: $3 row_limit integer: posts per page, 25 typically (1-100)
-- Neither index gives "matching tags" and "newest first" together: walking the posts newest
-- first reads the whole history for a rare tag, and the tag index finds every match of all time
-- before sorting them. So the tenant's months are walked newest first, one GIN probe per month
-- (083's (workspace, month) key, ANDed with the tags), counting matches until there are row_limit,
-- over at most the current month and the 12 before it; then only the walked months' matches are
-- sorted. Each month is probed once (a ladder of nested windows re-read the smaller ones at every
-- rung). All time only when those 13 months hold fewer. Exact: the newest row_limit matches lie in
-- the months walked.
WITH RECURSIVE walk (months_back, found) AS (
  SELECT 0, (SELECT count(*) FROM (
               SELECT 1 FROM public.posts x
                WHERE public.post_month_bucket(x.workspace_id, x.created_at) = public.post_month_bucket($1::bigint, now())
                  AND x.tags @> $2::text[]
                LIMIT $3::integer) probe)
  UNION ALL
  SELECT w.months_back + 1, w.found + (SELECT count(*) FROM (
               SELECT 1 FROM public.posts x
                WHERE public.post_month_bucket(x.workspace_id, x.created_at) = public.post_month_bucket($1::bigint, now()) - (w.months_back + 1)
                  AND x.tags @> $2::text[]
                LIMIT $3::integer - w.found) probe)
    FROM walk w
   WHERE w.found < $3::integer AND w.months_back < 12
),
-- The walked months' keys, or NULL when they hold fewer than row_limit matches (search all time).
win AS MATERIALIZED (
  SELECT CASE WHEN max(found) >= $3::integer
              THEN ARRAY(SELECT public.post_month_bucket($1::bigint, now()) - g FROM generate_series(0, max(months_back)) g)
         END AS months
    FROM walk
)
SELECT p.id,
       p.title,
       p.status,
       p.tags,
       p.scheduled_at,
       p.published_at,
       p.created_at
FROM win
CROSS JOIN LATERAL (
  (SELECT x.id, x.title, x.status, x.tags, x.scheduled_at, x.published_at, x.created_at FROM public.posts x
    WHERE win.months IS NOT NULL
      AND public.post_month_bucket(x.workspace_id, x.created_at) = ANY (win.months)
      AND x.tags @> $2::text[]
    ORDER BY x.created_at DESC, x.id DESC
    LIMIT $3::integer)
  UNION ALL
  (SELECT x.id, x.title, x.status, x.tags, x.scheduled_at, x.published_at, x.created_at FROM public.posts x
    WHERE win.months IS NULL
      AND x.workspace_id = $1::bigint
      AND x.tags @> $2::text[]
    ORDER BY x.created_at DESC, x.id DESC
    LIMIT $3::integer)
) p
ORDER BY p.created_at DESC, p.id DESC
LIMIT $3::integer;
