-- name: audit_log_range
-- description: Workspace audit log: one workspace's security events in a time range, newest first, keyset paginated on (occurred_at, id); only the monthly partitions the range touches are read.
-- expects-index: security_audit_logs_workspace_occurred_idx
-- prunes: security_audit_logs
-- param: $1 workspace_id bigint: the workspace whose audit log is viewed
-- param: $2 range_start timestamptz: oldest instant shown (inclusive), e.g. now() - 30 days
-- param: $3 cursor_occurred_at timestamptz: occurred_at of the last row of the previous page; for the first page the range end (e.g. now())
-- param: $4 cursor_id bigint: id of the last row of the previous page; 9223372036854775807 for the first page
-- param: $5 page_size integer: rows per page, 50 typically (1-500)
-- The plain occurred_at <= $3 repeats what the row comparison implies: pruning reads only plain comparisons.
SELECT a.id,
       a.occurred_at,
       a.user_id,
       a.action,
       a.resource_type,
       a.resource_id,
       a.ip_address,
       a.user_agent,
       a.metadata
FROM public.security_audit_logs a
WHERE a.workspace_id = $1::bigint
  AND a.occurred_at >= $2::timestamptz
  AND a.occurred_at <= $3::timestamptz
  AND (a.occurred_at, a.id) < ($3::timestamptz, $4::bigint)
ORDER BY a.occurred_at DESC, a.id DESC
LIMIT $5::integer;
