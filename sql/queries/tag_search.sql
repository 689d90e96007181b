-- name: tag_search
-- description: Content library tag filter: a workspace's posts carrying every one of the chosen tags (array contains), newest first.
-- expects-index: posts_workspace_tags_gin_idx
-- param: $1 workspace_id bigint: the workspace whose library is searched
-- param: $2 tags text[]: tags the posts must all carry, e.g. {launch} or {launch,video}
-- param: $3 row_limit integer: posts per page, 25 typically (1-100)
-- Neither index gives "matching tags" and "newest first" together: walking the posts newest
-- first reads the whole history for a rare tag, and the tag index finds every match of all time
-- before sorting them. So the query first finds the shortest recent window (7, 30, 90, 365 days)
-- holding at least row_limit matches (each probe stops at row_limit), then sorts only that
-- window's matches; all time only when the last year holds fewer. Exact for any window chosen,
-- since the newest row_limit matches all fall inside every window holding row_limit matches.
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
               WHERE x.workspace_id = $1::bigint AND x.tags @> $2::text[] AND x.created_at >= w.since
               LIMIT $3::integer) probe) >= $3::integer
     LIMIT 1), '-infinity'::timestamptz) AS since
) AS win
JOIN public.posts p
  ON p.workspace_id = $1::bigint
 AND p.tags @> $2::text[]
 AND p.created_at >= win.since
ORDER BY p.created_at DESC, p.id DESC
LIMIT $3::integer;
