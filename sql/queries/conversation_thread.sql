-- name: conversation_thread
-- description: Conversation view: the messages of one conversation, newest first, keyset paginated on (sent_at, id); the join to conversations keeps a conversation id from another workspace out.
-- expects-index: messages_conversation_sent_idx
-- param: $1 workspace_id bigint: the workspace of the agent viewing the conversation (tenant isolation)
-- param: $2 conversation_id bigint: the conversation opened in the inbox
-- param: $3 cursor_sent_at timestamptz: sent_at of the oldest message already shown; 'infinity' for the first page
-- param: $4 cursor_id bigint: id of that message; 9223372036854775807 for the first page
-- param: $5 page_size integer: messages per page, 30 typically (1-100)
SELECT m.id,
       m.direction,
       m.author_user_id,
       m.author_handle,
       m.body,
       m.sentiment,
       m.sent_at
FROM public.messages m
JOIN public.conversations c ON c.id = m.conversation_id
WHERE c.id = $2::bigint
  AND c.workspace_id = $1::bigint
  AND m.conversation_id = $2::bigint
  AND (m.sent_at, m.id) < ($3::timestamptz, $4::bigint)
ORDER BY m.sent_at DESC, m.id DESC
LIMIT $5::integer;
