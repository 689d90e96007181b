-- name: tag_search
-- description: Content library tag filter: a workspace's posts carrying every one of the chosen tags (array contains), newest first.
-- expects-index: posts_workspace_month_search_gin_idx
-- param: $1 workspace_id bigint: the workspace whose library is searched
-- param: $2 tags text[]: tags the posts must all carry, e.g. {launch} or {launch,video}
-- param: $3 row_limit integer: posts per page, 25 typically (1-100)
-- Neither index gives "matching tags" and "newest first" together: walking the posts newest
-- first reads the whole history for a rare tag, and the tag index finds every match of all time
-- before sorting them. So the query first finds the shortest recent window (7, 30, 90, 365 days)
-- holding at least row_limit matches, each probe reading only the window's months of the tenant
-- (083: a (workspace, month) key in the GIN, listed with = ANY) and stopping at row_limit; then it
-- sorts only that window's matches. All time only when the last year holds fewer. Exact for any
-- window chosen, since the newest row_limit matches all fall inside every window holding row_limit.
SELECT p.id,
       p.title,
       p.status,
       p.tags,
       p.scheduled_at,
       p.published_at,
       p.created_at
FROM (
  SELECT coalesce((
    SELECT w.since
      FROM unnest(ARRAY[7, 30, 90, 365]) AS d(days)
     CROSS JOIN LATERAL (SELECT now() - d.days * interval '1 day' AS since) w
     WHERE (SELECT count(*) FROM (
              SELECT 1 FROM public.posts x
               WHERE public.post_month_bucket(x.workspace_id, x.created_at) = ANY (public.post_month_buckets($1::bigint, w.since))
                 AND x.tags @> $2::text[] AND x.created_at >= w.since
               LIMIT $3::integer) probe) >= $3::integer
     LIMIT 1), '-infinity'::timestamptz) AS since
  -- Computed once: without the fence each use of win.since below would repeat the probes.
  OFFSET 0
) AS win
CROSS JOIN LATERAL (
  (SELECT x.id, x.title, x.status, x.tags, x.scheduled_at, x.published_at, x.created_at FROM public.posts x
    WHERE isfinite(win.since)
      AND public.post_month_bucket(x.workspace_id, x.created_at) = ANY (public.post_month_buckets($1::bigint, win.since))
      AND x.tags @> $2::text[]
      AND x.created_at >= win.since
    ORDER BY x.created_at DESC, x.id DESC
    LIMIT $3::integer)
  UNION ALL
  (SELECT x.id, x.title, x.status, x.tags, x.scheduled_at, x.published_at, x.created_at FROM public.posts x
    WHERE NOT isfinite(win.since)
      AND x.workspace_id = $1::bigint
      AND x.tags @> $2::text[]
    ORDER BY x.created_at DESC, x.id DESC
    LIMIT $3::integer)
) p
ORDER BY p.created_at DESC, p.id DESC
LIMIT $3::integer;
