-- The listening trend chart (mention_volume_sentiment.sql) reads public.mv_listening_sentiment_trends,
-- one row per query and day, instead of counting the range's mentions live: under the spec's load
-- a big query's 90 days hold millions of mentions. The (listening_query_id, published_at) index
-- stays for what still reads a query's mentions by time: the drill-down from a day of the chart
-- to its mentions, and the listening_queries ON DELETE CASCADE.
COMMENT ON INDEX public.listening_mentions_query_published_idx IS
  'trend chart drill-down: a listening query''s mentions of a chosen day or range, newest first, index-only for volume and sentiment; FK listening_queries ON DELETE CASCADE';
