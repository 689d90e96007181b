-- name: inbox_filter_sort
-- description: Unified inbox: a workspace's conversations in one status, filtered to a set of priorities, latest activity first, keyset paginated on (last_message_at, id).
-- expects-index: conversations_inbox_priority_idx
-- param: $1 workspace_id bigint: the workspace whose inbox is open
-- param: $2 status conversation_status: the inbox tab: open, pending, resolved or closed
-- param: $3 priorities priority_level[]: priorities to show, e.g. {low,normal,high,urgent} for all or {high,urgent}
-- param: $4 cursor_last_message_at timestamptz: last_message_at of the last row of the previous page; 'infinity' for the first page
-- param: $5 cursor_id bigint: id of the last row of the previous page; 9223372036854775807 for the first page
-- param: $6 page_size integer: rows per page, 25 typically (1-100)
-- Every conversation has at least one message, so last_message_at is set for all rows listed.
-- One ordered walk of at most page_size rows per chosen priority, merged: the page costs
-- priorities x page_size index entries however many conversations the tab holds (a single walk
-- filtering priorities, or a priority index plus a sort of everything older than the cursor,
-- grows with history).
SELECT c.id,
       c.type,
       c.status,
       c.priority,
       c.sentiment,
       c.contact_handle,
       c.subject,
       c.assignee_id,
       c.tags,
       c.first_response_due_at,
       c.last_message_at
FROM (SELECT DISTINCT unnest($3::public.priority_level[]) AS priority) AS pr
CROSS JOIN LATERAL (
  SELECT x.id, x.type, x.status, x.priority, x.sentiment, x.contact_handle, x.subject, x.assignee_id, x.tags,
         x.first_response_due_at, x.last_message_at
    FROM public.conversations x
   WHERE x.workspace_id = $1::bigint
     AND x.status = $2::public.conversation_status
     AND x.priority = pr.priority
     AND (x.last_message_at, x.id) < ($4::timestamptz, $5::bigint)
   ORDER BY x.last_message_at DESC, x.id DESC
   LIMIT $6::integer
) c
ORDER BY c.last_message_at DESC, c.id DESC
LIMIT $6::integer;
