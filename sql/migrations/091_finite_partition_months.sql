-- A timestamp of 'infinity' has no calendar month. dbops.create_monthly_partitions(p_now =>
-- 'infinity') used to fail only by accident, on a NULL partition name deep inside. Every partition
-- function finds its months through dbops.utc_month_start, so the refusal lives there, with the
-- value named. Same result for every finite input as 020's SQL version.
CREATE OR REPLACE FUNCTION dbops.utc_month_start(p_ts timestamptz) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT isfinite(p_ts) THEN
    RAISE EXCEPTION 'timestamp % has no calendar month: partitions need a finite time (p_now, or a partition key value)', p_ts
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN date_trunc('month', p_ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
END;
$$;
COMMENT ON FUNCTION dbops.utc_month_start(timestamptz) IS 'First instant of the UTC month that contains p_ts; refuses infinite timestamps.';
