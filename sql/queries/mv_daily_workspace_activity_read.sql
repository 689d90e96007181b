-- name: mv_daily_workspace_activity_read
-- description: Workspace activity timeline: posts created, scheduled and published per UTC day with active authors and the status mix, over a date range, from the pre-aggregated view (one row per day in the range).
-- expects-index: mv_daily_workspace_activity_key
-- param: $1 workspace_id bigint: the workspace whose activity is shown
-- param: $2 first_day date: first UTC day of the range (inclusive), typically 30-90 days back
-- param: $3 last_day date: last UTC day of the range (inclusive), typically today
SELECT a.day,
       a.posts_created,
       a.posts_scheduled,
       a.posts_published,
       a.ai_generated_created,
       a.active_authors,
       a.status_draft,
       a.status_scheduled,
       a.status_published,
       a.status_failed
FROM public.mv_daily_workspace_activity a
WHERE a.workspace_id = $1::bigint
  AND a.day BETWEEN $2::date AND $3::date
ORDER BY a.day;
