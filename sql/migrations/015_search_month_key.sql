-- The time key of tag and full-text search (the index that uses it is 083).
--
-- Numbered below 030 on purpose: the query patterns (sql/queries/tag_search.sql,
-- full_text_search.sql) call these functions, and they run on the baseline schema (001-029, no
-- optimization index) as well as on the optimized one, for the benchmark's comparison. A deployed
-- database that already has later files applies this one on its next run like any pending file.

-- IMMUTABLE and inlinable: the index expression and the queries' expression are the same
-- arithmetic after inlining. Months since 1970-01 in UTC, below 100,000 for eight millennia.
CREATE OR REPLACE FUNCTION public.post_month_bucket(p_workspace_id bigint, p_at timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT p_workspace_id * 100000
         + (date_part('year', p_at AT TIME ZONE 'UTC')::integer - 1970) * 12
         + date_part('month', p_at AT TIME ZONE 'UTC')::integer - 1
$$;
COMMENT ON FUNCTION public.post_month_bucket(bigint, timestamptz) IS
  'search time key: a workspace and the UTC month of a timestamp, as one bigint (GIN key of posts_workspace_month_search_gin_idx)';

-- The buckets of a workspace from p_since's month to the current one (empty for an infinite
-- p_since: the caller then searches all time without the key).
CREATE OR REPLACE FUNCTION public.post_month_buckets(p_workspace_id bigint, p_since timestamptz) RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN isfinite(p_since)
              THEN ARRAY(SELECT generate_series(public.post_month_bucket(p_workspace_id, p_since), public.post_month_bucket(p_workspace_id, now())))
              ELSE '{}'::bigint[] END
$$;
COMMENT ON FUNCTION public.post_month_buckets(bigint, timestamptz) IS
  'search time key: every bucket of a workspace from the month of p_since to now (tag_search.sql, full_text_search.sql)';
