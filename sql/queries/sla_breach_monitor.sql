-- name: sla_breach_monitor
-- description: SLA breach monitoring: a workspace's conversations still waiting for a first response or a resolution whose deadline is at or before a horizon, most overdue first (horizon now() lists breaches, now() + 15 minutes also those at risk).
-- expects-index: conversations_first_response_due_idx
-- expects-index: conversations_resolution_due_idx
-- param: $1 workspace_id bigint: the workspace whose SLA board is open
-- param: $2 horizon timestamptz: deadlines at or before this instant are listed; now() for breaches, now() + interval '15 minutes' to include those at risk
-- param: $3 row_limit integer: rows on the board, 50 typically (1-500)
SELECT b.id, b.breach, b.due_at, b.priority, b.assignee_id, b.contact_handle
FROM (
  (SELECT c.id, 'first_response'::text AS breach, c.first_response_due_at AS due_at, c.priority, c.assignee_id, c.contact_handle
     FROM public.conversations c
    WHERE c.workspace_id = $1::bigint
      AND c.status IN ('open', 'pending')
      AND c.first_response_at IS NULL
      AND c.first_response_due_at <= $2::timestamptz
    ORDER BY c.first_response_due_at
    LIMIT $3::integer)
  UNION ALL
  (SELECT c.id, 'resolution'::text, c.resolution_due_at, c.priority, c.assignee_id, c.contact_handle
     FROM public.conversations c
    WHERE c.workspace_id = $1::bigint
      AND c.status IN ('open', 'pending')
      AND c.resolved_at IS NULL
      AND c.resolution_due_at <= $2::timestamptz
    ORDER BY c.resolution_due_at
    LIMIT $3::integer)
) b
ORDER BY b.due_at, b.id
LIMIT $3::integer;
