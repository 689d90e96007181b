-- name: mv_listening_sentiment_trends_read
-- description: Listening overview: a workspace's daily mention volume, sentiment mix, mention-weighted average sentiment, reach and engagement across all its listening queries over a date range, from the pre-aggregated view (one row per day).
-- expects-index: mv_listening_sentiment_trends_workspace_day_idx
-- param: $1 workspace_id bigint: the workspace whose listening overview is open
-- param: $2 first_day date: first UTC day of the range (inclusive), typically 7-90 days back
-- param: $3 last_day date: last UTC day of the range (inclusive), typically today
SELECT t.day,
       sum(t.mentions)::bigint AS mentions,
       sum(t.positive_count)::bigint AS positive,
       sum(t.neutral_count)::bigint AS neutral,
       sum(t.negative_count)::bigint AS negative,
       sum(t.mixed_count)::bigint AS mixed,
       round(sum(t.avg_sentiment_score * (t.mentions - t.unscored_count)) / nullif(sum(t.mentions - t.unscored_count), 0), 4)
         AS avg_sentiment_score,
       sum(t.influencer_mentions)::bigint AS influencer_mentions,
       sum(t.total_reach)::bigint AS reach,
       sum(t.total_engagement)::bigint AS engagement
FROM public.mv_listening_sentiment_trends t
WHERE t.workspace_id = $1::bigint
  AND t.day BETWEEN $2::date AND $3::date
GROUP BY t.day
ORDER BY t.day;
