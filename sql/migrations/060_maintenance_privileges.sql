-- Least privilege for the scheduled maintenance tasks, which log in as dbops_maintenance (through
-- RDS Proxy with an IAM token on Aurora). PostgreSQL 17's pg_maintain lets that role VACUUM,
-- ANALYZE, REINDEX, REFRESH MATERIALIZED VIEW and LOCK every table without owning any; it cannot
-- read or change platform data.
--
-- Creating and dropping partitions needs ownership of the partitioned parent, which pg_maintain
-- does not give. So the two partition entry points run as their owner (the migration user, who
-- owns the tables) with a pinned search_path, and only the maintenance role may call them. Their
-- inputs are validated inside (managed tables only, positive counts) and every identifier goes
-- through format('%I'), so definer rights cannot be turned on another table.

ALTER FUNCTION dbops.create_monthly_partitions(text, integer, boolean, timestamptz)
  SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION dbops.drop_old_partitions(text, integer, boolean, timestamptz)
  SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION public.create_monthly_partitions()
  SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
-- dbops.partition_status counts the rows stuck in each default partition, which needs SELECT on it.
ALTER FUNCTION dbops.partition_status_at(timestamptz)
  SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE EXECUTE ON FUNCTION dbops.create_monthly_partitions(text, integer, boolean, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION dbops.drop_old_partitions(text, integer, boolean, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.create_monthly_partitions() FROM PUBLIC;

DO $$
DECLARE
  v_can_create_roles boolean;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dbops_maintenance') THEN
    SELECT rolcreaterole OR rolsuper INTO v_can_create_roles FROM pg_roles WHERE rolname = current_user;
    IF NOT v_can_create_roles THEN
      RAISE NOTICE 'role dbops_maintenance does not exist and % cannot create roles; create it, then re-run the grants in 060_maintenance_privileges.sql', current_user;
      RETURN;
    END IF;
    -- No password: on Aurora it signs in with an IAM token (rds_iam below).
    CREATE ROLE dbops_maintenance LOGIN;
  END IF;

  -- VACUUM, ANALYZE, REINDEX, REFRESH MATERIALIZED VIEW on every relation.
  GRANT pg_maintain TO dbops_maintenance;
  -- pg_stat_activity of every user, pg_stat_statements, pgstattuple: what the health checks read.
  GRANT pg_monitor TO dbops_maintenance;
  -- long-query-check may cancel other users' queries (never a superuser's).
  GRANT pg_signal_backend TO dbops_maintenance;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
    EXECUTE 'GRANT rds_iam TO dbops_maintenance';
  END IF;

  GRANT USAGE ON SCHEMA dbops TO dbops_maintenance;
  GRANT SELECT ON dbops.partitioned_tables, dbops.materialized_views, dbops.mv_refresh_log,
                  dbops.partition_status, dbops.mv_freshness, dbops.schema_migrations TO dbops_maintenance;
  GRANT INSERT ON dbops.mv_refresh_log TO dbops_maintenance;
  GRANT EXECUTE ON FUNCTION dbops.create_monthly_partitions(text, integer, boolean, timestamptz),
                            dbops.drop_old_partitions(text, integer, boolean, timestamptz),
                            public.create_monthly_partitions() TO dbops_maintenance;
END;
$$;

-- pg_stats hides the rows of tables the caller cannot SELECT, which would blind the bloat
-- estimates of a role that may maintain but not read. This exposes only the two figures they
-- need (null fraction and average width), never the sampled values.
CREATE FUNCTION dbops.column_width_stats()
RETURNS TABLE (schemaname name, tablename name, attname name, inherited boolean, null_frac real, avg_width integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT s.schemaname, s.tablename, s.attname, s.inherited, s.null_frac, s.avg_width
    FROM pg_catalog.pg_stats s
   WHERE s.schemaname NOT IN ('pg_catalog', 'information_schema')
$$;
REVOKE EXECUTE ON FUNCTION dbops.column_width_stats() FROM PUBLIC;
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'dbops_maintenance') THEN
    GRANT EXECUTE ON FUNCTION dbops.column_width_stats() TO dbops_maintenance;
  END IF;
END;
$$;
