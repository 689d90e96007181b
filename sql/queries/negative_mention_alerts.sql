-- name: negative_mention_alerts
-- description: Crisis alerting: a workspace's negative mentions published in an alert window, newest first, limited; only the monthly partitions the window touches are read.
-- expects-index: listening_mentions_negative_idx
-- prunes: listening_mentions
-- param: $1 workspace_id bigint: the workspace whose alert rule runs
-- param: $2 window_start timestamptz: start of the alert window (inclusive), e.g. now() - interval '24 hours'
-- param: $3 window_end timestamptz: end of the alert window (exclusive), normally now()
-- param: $4 row_limit integer: mentions in the alert, 20 typically (1-200)
SELECT m.id,
       m.published_at,
       m.platform,
       m.author_handle,
       m.author_reach,
       m.content,
       m.url,
       m.sentiment_score,
       m.engagement
FROM public.listening_mentions m
WHERE m.workspace_id = $1::bigint
  AND m.sentiment = 'negative'
  AND m.published_at >= $2::timestamptz
  AND m.published_at < $3::timestamptz
ORDER BY m.published_at DESC
LIMIT $4::integer;
