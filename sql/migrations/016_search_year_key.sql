-- The coarse time key of tag and full-text search: a workspace and a UTC year (the index that
-- uses it is 088). Past the 13 newest months, the searches walk years, one probe each, instead
-- of reading every match of the tenant's history at once.
--
-- Numbered below 030 for the reason 015 gives: the query patterns call it, and they also run on
-- the baseline schema. A deployed database applies it on its next run like any pending file.

-- IMMUTABLE and inlinable, as post_month_bucket (015): years since 1970 in UTC, below 10,000.
CREATE OR REPLACE FUNCTION public.post_year_bucket(p_workspace_id bigint, p_at timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT p_workspace_id * 10000 + date_part('year', p_at AT TIME ZONE 'UTC')::integer - 1970
$$;
COMMENT ON FUNCTION public.post_year_bucket(bigint, timestamptz) IS
  'search time key: a workspace and the UTC year of a timestamp, as one bigint (GIN key of posts_workspace_period_search_gin_idx)';
