-- name: mv_conversation_metrics_read
-- description: Inbox analytics: per UTC day over a date range, conversations opened, responded and resolved, response-weighted average first response time and SLA breaches, summed over platforms and conversation types from the pre-aggregated view (one row per day).
-- expects-index: mv_conversation_metrics_key
-- param: $1 workspace_id bigint: the workspace whose inbox analytics are shown
-- param: $2 first_day date: first UTC day of the range (inclusive), typically 7-90 days back
-- param: $3 last_day date: last UTC day of the range (inclusive), typically today
SELECT cm.day,
       sum(cm.conversations)::bigint AS conversations,
       sum(cm.responded_count)::bigint AS responded,
       sum(cm.resolved_count + cm.closed_count)::bigint AS resolved,
       round(sum(cm.avg_first_response_seconds * cm.responded_count) / nullif(sum(cm.responded_count), 0), 1)
         AS avg_first_response_seconds,
       sum(cm.first_response_sla_breaches)::bigint AS first_response_sla_breaches,
       sum(cm.resolution_sla_breaches)::bigint AS resolution_sla_breaches,
       sum(cm.negative_count)::bigint AS negative
FROM public.mv_conversation_metrics cm
WHERE cm.workspace_id = $1::bigint
  AND cm.day BETWEEN $2::date AND $3::date
GROUP BY cm.day
ORDER BY cm.day;
