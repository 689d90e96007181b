-- The analytics relations that 070 turned from materialized views into tables are written only by
-- the refresh machinery (SECURITY DEFINER functions owned by the migration user). 065's default
-- privileges gave platform_app the four DML verbs on every table the migration user creates, so it
-- could have written rows into them that the next refresh would not correct: an analytics reader
-- must see what the base tables say. The application keeps SELECT, as it had on the views.
DO $$
DECLARE
  v_relation regclass;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'platform_app') THEN
    RETURN;
  END IF;
  FOR v_relation IN
    SELECT to_regclass(view_name) FROM dbops.analytics_relations WHERE to_regclass(view_name) IS NOT NULL
  LOOP
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %s FROM platform_app', v_relation);
    EXECUTE format('GRANT SELECT ON %s TO platform_app', v_relation);
  END LOOP;
END
$$;
