-- Monthly range partitions for the time-series tables, in pg_partman's style: a registry table,
-- and small functions that each do one job, take named parameters and fail with a clear message.
-- All month math is in UTC whatever the session's TimeZone, and the current month comes from
-- now(), so partitions are made ahead even when no new data arrives.

CREATE TABLE dbops.partitioned_tables (
  -- Schema-qualified, e.g. 'public.listening_mentions'.
  table_name        text PRIMARY KEY CHECK (table_name ~ '^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$'),
  partition_column  text NOT NULL,
  premake_months    integer NOT NULL DEFAULT 3 CHECK (premake_months > 0),
  retention_months  integer NOT NULL DEFAULT 24 CHECK (retention_months > 0),
  -- Storage parameters every new partition gets (autovacuum tuning cannot be set on the parent).
  partition_options text[] NOT NULL DEFAULT '{}'
    CHECK (array_position(partition_options, NULL) IS NULL
           AND array_to_string(partition_options, ',') ~ '^([a-z_.]+=[A-Za-z0-9_.]+(,|$))*$')
);
COMMENT ON TABLE dbops.partitioned_tables IS
  'Tables partitioned by month that dbops.create_monthly_partitions and dbops.drop_old_partitions manage.';

-- ---------------------------------------------------------------------------------------------
-- Month math (UTC)
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION dbops.utc_month_start(p_ts timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN date_trunc('month', p_ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
COMMENT ON FUNCTION dbops.utc_month_start(timestamptz) IS 'First instant of the UTC month that contains p_ts.';

-- Adding an interval to a timestamptz follows the session time zone (and its DST); doing it on
-- the UTC wall clock keeps every month boundary at 00:00 UTC.
CREATE FUNCTION dbops.utc_month_add(p_month timestamptz, p_months integer) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ((p_month AT TIME ZONE 'UTC') + make_interval(months => p_months)) AT TIME ZONE 'UTC';
COMMENT ON FUNCTION dbops.utc_month_add(timestamptz, integer) IS 'p_month moved by p_months months on the UTC calendar.';

CREATE FUNCTION dbops.monthly_partition_name(p_table_name text, p_month timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN p_table_name || '_p' || to_char(p_month AT TIME ZONE 'UTC', 'YYYYMM');
COMMENT ON FUNCTION dbops.monthly_partition_name(text, timestamptz) IS '<table>_pYYYYMM for the UTC month of p_month (p_table_name unqualified).';

-- ---------------------------------------------------------------------------------------------
-- Catalog readers
-- ---------------------------------------------------------------------------------------------
-- Bounds come from the catalog (pg_get_expr of relpartbound), never from partition names. The
-- function pins DateStyle and TimeZone so the printed bound literals parse back exactly.
CREATE FUNCTION dbops.partition_bounds(p_parent regclass)
RETURNS TABLE (partition_oid regclass, schema_name text, partition_name text, is_default boolean,
               range_start timestamptz, range_end timestamptz)
LANGUAGE sql STABLE
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
AS $$
  SELECT c.oid::regclass,
         n.nspname::text,
         c.relname::text,
         c.oid = pt.partdefid,
         b.m[1]::timestamptz,
         b.m[2]::timestamptz
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_partitioned_table pt ON pt.partrelid = i.inhparent
  LEFT JOIN LATERAL regexp_match(pg_catalog.pg_get_expr(c.relpartbound, c.oid),
                                 '^FOR VALUES FROM \(''([^'']+)''\) TO \(''([^'']+)''\)$') AS b(m) ON true
  WHERE i.inhparent = p_parent
$$;
COMMENT ON FUNCTION dbops.partition_bounds(regclass) IS
  'Partitions of p_parent with their range bounds read from the catalog (NULL bounds for default/MINVALUE/MAXVALUE).';

-- Resolves p_table to its registry row; the one place that validates a table argument.
CREATE FUNCTION dbops.managed_partitioned_table(p_table text)
RETURNS dbops.partitioned_tables
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_oid oid;
  v_kind "char";
  v_name text;
  v_row dbops.partitioned_tables;
BEGIN
  IF p_table IS NULL OR btrim(p_table) = '' THEN
    RAISE EXCEPTION 'p_table must name a partitioned table, got an empty value'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v_oid := to_regclass(p_table);
  -- The entry points run with a pinned search_path (060), so a bare name is matched against the
  -- registry instead of the caller's search_path.
  IF v_oid IS NULL AND position('.' IN p_table) = 0 THEN
    SELECT to_regclass(t.table_name) INTO v_oid
      FROM dbops.partitioned_tables t
     WHERE split_part(t.table_name, '.', 2) = p_table;
  END IF;
  IF v_oid IS NULL THEN
    RAISE EXCEPTION 'table "%" does not exist', p_table
      USING ERRCODE = 'undefined_table';
  END IF;
  SELECT c.relkind, format('%s.%s', n.nspname, c.relname)
    INTO v_kind, v_name
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = v_oid;
  SELECT * INTO v_row FROM dbops.partitioned_tables t WHERE t.table_name = v_name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'table "%" is not managed by dbops.partitioned_tables (managed: %)', v_name,
      coalesce((SELECT string_agg(t.table_name, ', ' ORDER BY t.table_name) FROM dbops.partitioned_tables t), 'none')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF v_kind <> 'p' THEN
    RAISE EXCEPTION 'table "%" is registered but is not a partitioned table', v_name
      USING ERRCODE = 'wrong_object_type';
  END IF;
  RETURN v_row;
END;
$$;

-- The registry rows one call works on: one table when named, else all of them.
CREATE FUNCTION dbops.selected_partitioned_tables(p_table text)
RETURNS SETOF dbops.partitioned_tables
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_name text;
BEGIN
  IF p_table IS NULL THEN
    -- Each registered table is validated too, so a stale registry row fails with a clear message.
    FOR v_name IN SELECT t.table_name FROM dbops.partitioned_tables t ORDER BY t.table_name LOOP
      RETURN NEXT dbops.managed_partitioned_table(v_name);
    END LOOP;
  ELSE
    RETURN NEXT dbops.managed_partitioned_table(p_table);
  END IF;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- Create one month
-- ---------------------------------------------------------------------------------------------
-- Creates the partition for one UTC month if it is missing. Rows of that month sitting in the
-- default partition would make CREATE ... PARTITION OF fail, so they are moved out to a temp
-- table and back into the new partition, all in the caller's transaction: nothing is lost, and
-- on any error nothing changes. Returns the rows moved, or NULL when the partition existed.
CREATE FUNCTION dbops.create_month_partition(p_table text, p_month timestamptz)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  v_reg dbops.partitioned_tables := dbops.managed_partitioned_table(p_table);
  v_parent regclass := v_reg.table_name::regclass;
  v_schema text := split_part(v_reg.table_name, '.', 1);
  v_start timestamptz := dbops.utc_month_start(p_month);
  v_end timestamptz := dbops.utc_month_add(dbops.utc_month_start(p_month), 1);
  v_name text := dbops.monthly_partition_name(split_part(v_reg.table_name, '.', 2), p_month);
  v_default regclass;
  v_existing record;
  v_columns text;
  v_options text := '';
  v_moved bigint := 0;
BEGIN
  IF p_month IS NULL THEN
    RAISE EXCEPTION 'p_month must be a timestamp' USING ERRCODE = 'invalid_parameter_value';
  END IF;

  SELECT b.partition_oid, b.range_start, b.range_end INTO v_existing
    FROM dbops.partition_bounds(v_parent) b
   WHERE b.schema_name = v_schema AND b.partition_name = v_name;
  IF FOUND THEN
    IF v_existing.range_start IS DISTINCT FROM v_start OR v_existing.range_end IS DISTINCT FROM v_end THEN
      RAISE EXCEPTION 'partition %.% exists but covers [%, %) instead of [%, %)', v_schema, v_name,
        v_existing.range_start, v_existing.range_end, v_start, v_end
        USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN NULL;
  END IF;
  IF to_regclass(format('%I.%I', v_schema, v_name)) IS NOT NULL THEN
    RAISE EXCEPTION 'table %.% exists but is not a partition of %', v_schema, v_name, v_reg.table_name
      USING ERRCODE = 'duplicate_table';
  END IF;

  -- Blocks writers to the parent before looking at the default partition, so no row for this
  -- month can land there between the move and the CREATE (which needs this lock anyway).
  EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', v_parent);

  SELECT partdefid::regclass INTO v_default
    FROM pg_catalog.pg_partitioned_table WHERE partrelid = v_parent AND partdefid <> 0;

  IF v_default IS NOT NULL THEN
    EXECUTE format('SELECT count(*) FROM %s WHERE %I >= $1 AND %I < $2',
                   v_default, v_reg.partition_column, v_reg.partition_column)
      INTO v_moved USING v_start, v_end;
  END IF;

  IF v_moved > 0 THEN
    -- Generated columns are recomputed on re-insert; identity values are kept.
    SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum) INTO v_columns
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = v_parent AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
    IF to_regclass('pg_temp.dbops_partition_move') IS NOT NULL THEN
      DROP TABLE pg_temp.dbops_partition_move;
    END IF;
    EXECUTE format('CREATE TEMP TABLE dbops_partition_move ON COMMIT DROP AS SELECT %s FROM %s LIMIT 0',
                   v_columns, v_parent);
    EXECUTE format('WITH moved AS (DELETE FROM %s WHERE %I >= $1 AND %I < $2 RETURNING %s) '
                   'INSERT INTO pg_temp.dbops_partition_move (%s) SELECT %s FROM moved',
                   v_default, v_reg.partition_column, v_reg.partition_column, v_columns, v_columns, v_columns)
      USING v_start, v_end;
  END IF;

  IF cardinality(v_reg.partition_options) > 0 THEN
    -- Each option was checked against name=value by the registry's CHECK constraint.
    v_options := format(' WITH (%s)', array_to_string(v_reg.partition_options, ', '));
  END IF;
  EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)%s',
                 v_schema, v_name, v_parent, v_start, v_end, v_options);

  IF v_moved > 0 THEN
    EXECUTE format('INSERT INTO %I.%I (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM pg_temp.dbops_partition_move',
                   v_schema, v_name, v_columns, v_columns);
    DROP TABLE pg_temp.dbops_partition_move;
  END IF;
  RETURN v_moved;
END;
$$;
COMMENT ON FUNCTION dbops.create_month_partition(text, timestamptz) IS
  'Creates the partition of p_table for the UTC month of p_month, moving that month''s rows out of the default partition. NULL when it already existed.';

-- ---------------------------------------------------------------------------------------------
-- Create the current month and the months ahead
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION dbops.create_monthly_partitions(
  p_table text DEFAULT NULL,
  p_months_ahead integer DEFAULT NULL,
  p_include_default_months boolean DEFAULT false,
  p_now timestamptz DEFAULT now()
)
RETURNS TABLE (table_name text, partition_name text, range_start timestamptz, range_end timestamptz,
               created boolean, rows_moved bigint)
LANGUAGE plpgsql
AS $$
DECLARE
  v_reg dbops.partitioned_tables;
  v_default regclass;
  v_months timestamptz[];
  v_default_months timestamptz[];
  v_month timestamptz;
  v_moved bigint;
BEGIN
  IF p_months_ahead IS NOT NULL AND (p_months_ahead < 1 OR p_months_ahead > 120) THEN
    RAISE EXCEPTION 'p_months_ahead must be between 1 and 120, got %', p_months_ahead
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_now IS NULL THEN
    RAISE EXCEPTION 'p_now must be a timestamp' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_include_default_months IS NULL THEN
    RAISE EXCEPTION 'p_include_default_months must be true or false' USING ERRCODE = 'invalid_parameter_value';
  END IF;

  FOR v_reg IN SELECT * FROM dbops.selected_partitioned_tables(p_table) LOOP
    -- Two runs at once would race to create the same partition; the second waits, then finds it.
    PERFORM pg_advisory_xact_lock(hashtext('dbops:partitions:' || v_reg.table_name));

    v_months := ARRAY(SELECT dbops.utc_month_add(dbops.utc_month_start(p_now), m)
                        FROM generate_series(0, coalesce(p_months_ahead, v_reg.premake_months)) AS m);

    IF p_include_default_months THEN
      SELECT partdefid::regclass INTO v_default
        FROM pg_catalog.pg_partitioned_table WHERE partrelid = v_reg.table_name::regclass AND partdefid <> 0;
      IF v_default IS NOT NULL THEN
        EXECUTE format('SELECT coalesce(array_agg(DISTINCT dbops.utc_month_start(%I)), ''{}'') FROM %s',
                       v_reg.partition_column, v_default)
          INTO v_default_months;
        v_months := ARRAY(SELECT DISTINCT x FROM unnest(v_months || v_default_months) AS x ORDER BY x);
      END IF;
    END IF;

    FOREACH v_month IN ARRAY v_months LOOP
      v_moved := dbops.create_month_partition(v_reg.table_name, v_month);
      table_name := v_reg.table_name;
      partition_name := dbops.monthly_partition_name(split_part(v_reg.table_name, '.', 2), v_month);
      range_start := v_month;
      range_end := dbops.utc_month_add(v_month, 1);
      created := v_moved IS NOT NULL;
      rows_moved := coalesce(v_moved, 0);
      RETURN NEXT;
    END LOOP;
  END LOOP;
END;
$$;
COMMENT ON FUNCTION dbops.create_monthly_partitions(text, integer, boolean, timestamptz) IS
  'Creates the current UTC month and the next p_months_ahead (default: premake_months) for one or all managed tables; idempotent. p_include_default_months also creates every month that has rows in the default partition.';

-- The spec's entry point: SELECT create_monthly_partitions();
CREATE FUNCTION public.create_monthly_partitions()
RETURNS TABLE (table_name text, partition_name text, range_start timestamptz, range_end timestamptz,
               created boolean, rows_moved bigint)
LANGUAGE sql
AS $$ SELECT * FROM dbops.create_monthly_partitions() $$;

-- ---------------------------------------------------------------------------------------------
-- Retention
-- ---------------------------------------------------------------------------------------------
-- Drops only partitions whose whole range ends at or before the cutoff, so a partition that
-- still holds one in-retention row survives. The default partition is never touched. Plain
-- DETACH (CONCURRENTLY is refused with a default partition and inside a function) takes an
-- ACCESS EXCLUSIVE lock on the parent: callers set lock_timeout and retry.
-- p_now may move the cutoff into the past (fewer drops), never into the future.
CREATE FUNCTION dbops.drop_old_partitions(
  p_table text DEFAULT NULL,
  p_retention_months integer DEFAULT NULL,
  p_dry_run boolean DEFAULT false,
  p_now timestamptz DEFAULT now()
)
RETURNS TABLE (table_name text, partition_name text, range_start timestamptz, range_end timestamptz, dropped boolean)
LANGUAGE plpgsql
AS $$
DECLARE
  v_reg dbops.partitioned_tables;
  v_cutoff timestamptz;
  v_part record;
BEGIN
  IF p_retention_months IS NOT NULL AND p_retention_months < 1 THEN
    RAISE EXCEPTION 'p_retention_months must be at least 1, got %', p_retention_months
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_dry_run IS NULL THEN
    RAISE EXCEPTION 'p_dry_run must be true or false' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_now IS NULL OR p_now > now() THEN
    RAISE EXCEPTION 'p_now must not be later than now(), got %', p_now
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  FOR v_reg IN SELECT * FROM dbops.selected_partitioned_tables(p_table) LOOP
    PERFORM pg_advisory_xact_lock(hashtext('dbops:partitions:' || v_reg.table_name));
    v_cutoff := dbops.utc_month_add(dbops.utc_month_start(p_now), -coalesce(p_retention_months, v_reg.retention_months));

    FOR v_part IN
      SELECT b.partition_oid, b.schema_name, b.partition_name, b.range_start, b.range_end
        FROM dbops.partition_bounds(v_reg.table_name::regclass) b
       WHERE NOT b.is_default AND b.range_end IS NOT NULL AND b.range_end <= v_cutoff
       ORDER BY b.range_start
    LOOP
      IF NOT p_dry_run THEN
        EXECUTE format('ALTER TABLE %s DETACH PARTITION %I.%I', v_reg.table_name::regclass, v_part.schema_name, v_part.partition_name);
        EXECUTE format('DROP TABLE %I.%I', v_part.schema_name, v_part.partition_name);
      END IF;
      table_name := v_reg.table_name;
      partition_name := v_part.partition_name;
      range_start := v_part.range_start;
      range_end := v_part.range_end;
      dropped := NOT p_dry_run;
      RETURN NEXT;
    END LOOP;
  END LOOP;
END;
$$;
COMMENT ON FUNCTION dbops.drop_old_partitions(text, integer, boolean, timestamptz) IS
  'Detaches and drops partitions whose range ends at or before (start of the current UTC month - retention months); p_dry_run only lists them.';

-- ---------------------------------------------------------------------------------------------
-- Status
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION dbops.partition_status_at(p_now timestamptz DEFAULT now())
RETURNS TABLE (table_name text, partition_count integer, total_bytes bigint, default_rows bigint,
               headroom_months integer, newest_partition_end timestamptz)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  v_reg dbops.partitioned_tables;
  v_default regclass;
  v_month timestamptz;
BEGIN
  FOR v_reg IN SELECT * FROM dbops.partitioned_tables ORDER BY 1 LOOP
    IF to_regclass(v_reg.table_name) IS NULL THEN
      CONTINUE;  -- registered ahead of its table; nothing to report
    END IF;
    table_name := v_reg.table_name;
    SELECT count(*) FILTER (WHERE NOT b.is_default),
           coalesce(sum(pg_catalog.pg_total_relation_size(b.partition_oid)), 0),
           max(b.range_end)
      INTO partition_count, total_bytes, newest_partition_end
      FROM dbops.partition_bounds(v_reg.table_name::regclass) b;

    default_rows := 0;
    SELECT partdefid::regclass INTO v_default
      FROM pg_catalog.pg_partitioned_table WHERE partrelid = v_reg.table_name::regclass AND partdefid <> 0;
    IF v_default IS NOT NULL THEN
      EXECUTE format('SELECT count(*) FROM %s', v_default) INTO default_rows;
    END IF;

    -- Whole months after the current one that a partition already covers, without a gap.
    headroom_months := 0;
    LOOP
      v_month := dbops.utc_month_add(dbops.utc_month_start(p_now), headroom_months + 1);
      EXIT WHEN NOT EXISTS (
        SELECT 1 FROM dbops.partition_bounds(v_reg.table_name::regclass) b
         WHERE b.range_start <= v_month AND b.range_end >= dbops.utc_month_add(v_month, 1));
      headroom_months := headroom_months + 1;
    END LOOP;
    RETURN NEXT;
  END LOOP;
END;
$$;

CREATE VIEW dbops.partition_status AS
  SELECT table_name, partition_count, total_bytes, default_rows, headroom_months, newest_partition_end
    FROM dbops.partition_status_at(now());
COMMENT ON VIEW dbops.partition_status IS
  'Per managed table: partitions (excluding default), bytes, rows stuck in the default partition, months of headroom after the current UTC month.';

-- ---------------------------------------------------------------------------------------------
-- Registry and the first partitions
-- ---------------------------------------------------------------------------------------------
INSERT INTO dbops.partitioned_tables (table_name, partition_column, premake_months, retention_months)
VALUES ('public.listening_mentions', 'published_at', 3, 24),
       ('public.security_audit_logs', 'occurred_at', 3, 24)
ON CONFLICT (table_name) DO NOTHING;

SELECT count(*) FROM dbops.create_monthly_partitions();
