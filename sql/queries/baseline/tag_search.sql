-- tag_search.sql, plainly: the workspace's newest posts carrying every tag, all history read. The
-- walk of public.search_posts_by_tags must return exactly these rows; on the baseline schema
-- (below 030, no search index and no search_posts_by_tags) this is what the pattern runs as.
SELECT p.id, p.title, p.status, p.tags, p.scheduled_at, p.published_at, p.created_at
  FROM public.posts p
 WHERE p.workspace_id = $1::bigint AND p.tags @> $2::text[]
 ORDER BY p.created_at DESC, p.id DESC
 LIMIT $3::integer;
