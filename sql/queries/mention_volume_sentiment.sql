-- name: mention_volume_sentiment
-- description: Listening trend chart: daily mention volume and sentiment of one listening query over a range of UTC days, read from public.mv_listening_sentiment_trends (one row per query and day, as fresh as the hourly refresh; dbops.mv_freshness says how old). A live count over the partitions read every mention of the range: under the spec's 100,000 mentions an hour a big query's 90 days hold millions, so the chart reads at most one row per day of the range however many mentions the days hold.
-- expects-index: mv_listening_sentiment_trends_key
-- param: $1 workspace_id bigint: the workspace that owns the listening query (tenant isolation)
-- param: $2 listening_query_id bigint: the listening query whose trend is charted
-- param: $3 first_day date: first UTC day of the range (inclusive), typically 7-90 days back
-- param: $4 last_day date: last UTC day of the range (inclusive), typically today
-- A day without mentions has no row (the chart shows it as zero). avg_sentiment_score is over
-- the scored mentions of the day, to 4 places, as the relation keeps it.
SELECT t.day,
       t.mentions,
       t.positive_count AS positive,
       t.neutral_count AS neutral,
       t.negative_count AS negative,
       t.mixed_count AS mixed,
       t.avg_sentiment_score,
       t.total_engagement AS engagement
FROM public.mv_listening_sentiment_trends t
WHERE t.workspace_id = $1::bigint
  AND t.listening_query_id = $2::bigint
  AND t.day BETWEEN $3::date AND $4::date
ORDER BY t.day;
