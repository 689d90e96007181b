-- name: tag_search
-- description: Content library tag filter: a workspace's posts carrying every one of the chosen tags (array contains), newest first.
-- expects-index: posts_workspace_tags_gin_idx
-- param: $1 workspace_id bigint: the workspace whose library is searched
-- param: $2 tags text[]: tags the posts must all carry, e.g. {launch} or {launch,video}
-- param: $3 row_limit integer: posts per page, 25 typically (1-100)
SELECT p.id,
       p.title,
       p.status,
       p.tags,
       p.scheduled_at,
       p.published_at,
       p.created_at
FROM public.posts p
WHERE p.workspace_id = $1::bigint
  AND p.tags @> $2::text[]
ORDER BY p.created_at DESC, p.id DESC
LIMIT $3::integer;
