-- name: mention_volume_sentiment
-- description: Listening trend chart: daily mention volume and sentiment of one listening query over a date range, read from the monthly partitions the range touches only (index-only scan per partition).
-- expects-index: listening_mentions_query_published_idx
-- index-only: true
-- prunes: listening_mentions
-- param: $1 workspace_id bigint: the workspace that owns the listening query (tenant isolation)
-- param: $2 listening_query_id bigint: the listening query whose trend is charted
-- param: $3 range_start timestamptz: first instant of the range (inclusive), typically a UTC midnight 7-90 days back
-- param: $4 range_end timestamptz: end of the range (exclusive), typically the next UTC midnight
SELECT date_trunc('day', m.published_at, 'UTC') AS day,
       count(*) AS mentions,
       count(*) FILTER (WHERE m.sentiment = 'positive') AS positive,
       count(*) FILTER (WHERE m.sentiment = 'neutral') AS neutral,
       count(*) FILTER (WHERE m.sentiment = 'negative') AS negative,
       count(*) FILTER (WHERE m.sentiment = 'mixed') AS mixed,
       round(avg(m.sentiment_score), 3) AS avg_sentiment_score,
       sum(m.engagement)::bigint AS engagement
FROM public.listening_mentions m
WHERE m.listening_query_id = $2::bigint
  AND m.workspace_id = $1::bigint
  AND m.published_at >= $3::timestamptz
  AND m.published_at < $4::timestamptz
GROUP BY 1
ORDER BY 1;
