-- The platform application's database role, least privilege: platform_app (IAM login through RDS
-- Proxy on Aurora) reads and writes the platform's rows and reads its views, and nothing else. It
-- owns nothing, so it cannot run DDL, and it has nothing in dbops (migrations, partition registry,
-- refresh log).
--
-- Every table belongs to the migration user, and PostgreSQL grants a non-owner nothing by default,
-- so without this file the application could read nothing. ALTER DEFAULT PRIVILEGES covers what the
-- migration user creates in public later: new tables of later migrations, and the monthly
-- partitions that dbops.create_monthly_partitions (SECURITY DEFINER, owned by the same user) adds.

DO $$
DECLARE
  v_relation record;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'platform_app') THEN
    IF NOT (SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user) THEN
      RAISE NOTICE 'role platform_app does not exist and % cannot create roles; create it, then re-run 065_application_role.sql', current_user;
      RETURN;
    END IF;
    -- No password: on Aurora it signs in with an IAM token (rds_iam below).
    CREATE ROLE platform_app LOGIN;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
    EXECUTE 'GRANT rds_iam TO platform_app';
  END IF;

  GRANT USAGE ON SCHEMA public TO platform_app;
  -- Tables (partitioned parents and their partitions): the four DML verbs, no TRUNCATE, REFERENCES or TRIGGER.
  -- Views and materialized views: SELECT only.
  FOR v_relation IN
    SELECT c.relkind, format('%I.%I', n.nspname, c.relname) AS qualified
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
     ORDER BY c.oid
  LOOP
    IF v_relation.relkind IN ('r', 'p') THEN
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO platform_app', v_relation.qualified);
    ELSE
      EXECUTE format('GRANT SELECT ON %s TO platform_app', v_relation.qualified);
    END IF;
  END LOOP;
  GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO platform_app;

  -- What the migration user creates in public from now on. Default privileges cannot tell a table
  -- from a view, so a later migration's view is also writable only as far as PostgreSQL lets a view
  -- be written through (and its base tables are the application's already).
  ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO platform_app;
  ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO platform_app;
  -- Nothing in dbops: the application library reads none of it, and USAGE on the schema would
  -- open every PUBLIC-executable function there to it.
END;
$$;
