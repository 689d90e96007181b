-- The listening relation's rebuild and refresh functions with plans made once per session and one
-- scan per run of consecutive days, so a rebuild's cost follows the mentions, not the mentions times
-- the months of partitions.
--
-- In the growth benchmark the full rebuild of mv_listening_sentiment_trends took 64 s, 214 s and
-- 1,110 s for one, two and four times the medium history (24, 48 and 96 monthly partitions): 17
-- times the time for 4 times the data. Its three functions were LANGUAGE sql with a SET clause, so
-- never inlined, and each call planned its query on the partitioned parent afresh, with every
-- partition in the plan (the bounds are parameters, so pruning waits for the executor). On a
-- synthetic history of 100 workspaces over 100 monthly partitions (two mentions a day each):
--   * the next day a workspace holds anything (called once per window of 366 days, so once per
--     year of each workspace's history) cost 41-73 ms a call, planning a Merge Append over every
--     partition from p_from on (49-57 ms measured again with nothing else running); the default
--     partition keeps the partitions from being read in bound order, so even the executor starts
--     every one of them;
--   * the buckets of a window and the rows of a batch, the same planning per call, and the rows
--     one index scan per (workspace, day), each rescanning the Append with all its subplans.
-- A rebuild there took 48.6-54.4 s (58 steps of 5,000 buckets), about 180 us a bucket; the 4x
-- benchmark's was 190 us a bucket, against 44 us at 1x. With these functions: 4.9-5.4 s.
--
-- Now PL/pgSQL with plan_cache_mode = force_generic_plan: each statement is planned once per
-- session and pruned at executor start (PostgreSQL 17 still locks every partition at each
-- execution of a cached generic plan, so a call's cost still grows with the partitions, far less).
-- The next day looks in the next 366 days first (a dozen partitions and the default) and past
-- them only when nothing is there (a workspace's last window) or from -infinity (its first). The rows are computed per run of consecutive days of a workspace (one scan for a
-- window of a year, as many as before for scattered days), grouped by the mention's UTC day.
-- Same rows (the property test compares them with the base tables).

CREATE OR REPLACE FUNCTION dbops.analytics_next_day_listening_sentiment_trends(p_key bigint, p_from date) RETURNS date
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_from timestamptz := p_from::timestamp AT TIME ZONE 'UTC';
  v_at timestamptz;
BEGIN
  -- (From -infinity, a workspace's first probe of a rebuild, there is no year ahead to look in.)
  IF isfinite(p_from) THEN
    SELECT min(m.published_at) INTO v_at FROM public.listening_mentions m
     WHERE m.workspace_id = p_key AND m.published_at >= v_from AND m.published_at < v_from + interval '366 days';
  END IF;
  IF v_at IS NULL THEN
    SELECT min(m.published_at) INTO v_at FROM public.listening_mentions m
     WHERE m.workspace_id = p_key AND m.published_at >= v_from;
  END IF;
  RETURN (v_at AT TIME ZONE 'UTC')::date;
END;
$$;

CREATE OR REPLACE FUNCTION dbops.analytics_range_listening_sentiment_trends(p_key bigint, p_from date, p_to date)
RETURNS TABLE (key_id bigint, day date)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  RETURN QUERY
  SELECT DISTINCT p_key, (m.published_at AT TIME ZONE 'UTC')::date FROM public.listening_mentions m
   WHERE m.workspace_id = p_key AND m.published_at >= p_from::timestamp AT TIME ZONE 'UTC' AND m.published_at < p_to::timestamp AT TIME ZONE 'UTC';
END;
$$;

CREATE OR REPLACE FUNCTION dbops.analytics_rows_listening_sentiment_trends(p_keys bigint[], p_days date[], p_now timestamptz)
RETURNS SETOF public.mv_listening_sentiment_trends
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  RETURN QUERY
  WITH b AS (
    SELECT DISTINCT k AS workspace_id, d AS day FROM unnest(p_keys, p_days) AS u(k, d)
  ),
  -- Consecutive days of a workspace share day - rank.
  runs AS (
    SELECT x.workspace_id, min(x.day)::timestamp AT TIME ZONE 'UTC' AS run_start, (max(x.day) + 1)::timestamp AT TIME ZONE 'UTC' AS run_end
      FROM (SELECT b.workspace_id, b.day, b.day - (row_number() OVER (PARTITION BY b.workspace_id ORDER BY b.day))::integer AS run FROM b) x
     GROUP BY x.workspace_id, x.run
  )
  SELECT m.workspace_id, m.listening_query_id, (m.published_at AT TIME ZONE 'UTC')::date,
         count(*),
         count(*) FILTER (WHERE m.sentiment = 'positive'),
         count(*) FILTER (WHERE m.sentiment = 'neutral'),
         count(*) FILTER (WHERE m.sentiment = 'negative'),
         count(*) FILTER (WHERE m.sentiment = 'mixed'),
         count(*) FILTER (WHERE m.sentiment IS NULL),
         round(avg(m.sentiment_score), 4),
         count(*) FILTER (WHERE m.is_influencer),
         count(DISTINCT m.author_handle),
         sum(m.author_reach)::bigint,
         sum(m.engagement)::bigint
    FROM runs r
   CROSS JOIN LATERAL (
     SELECT x.* FROM public.listening_mentions x
      WHERE x.workspace_id = r.workspace_id AND x.published_at >= r.run_start AND x.published_at < r.run_end OFFSET 0) m
   GROUP BY 1, 2, 3;
END;
$$;
