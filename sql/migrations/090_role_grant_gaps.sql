-- Role grants that may be refused on Aurora. Since PostgreSQL 16 a role may grant membership in
-- another only with ADMIN OPTION on it; Aurora's master (rds_superuser, no superuser) holds that
-- for the roles AWS documents (rds_iam, rds_replication, rds_password), and pg_maintain is not among
-- them. A refused grant must not abort the deploy: it is recorded here, the migration runner
-- reports it, and health-check publishes the count (MissingGrants), until someone who may grant it
-- does and the next run of dbops.ensure_role_grants() clears the row.

CREATE TABLE dbops.missing_grants (
  granted_role  name NOT NULL,
  member        name NOT NULL,
  purpose       text NOT NULL,
  error         text NOT NULL,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_tried_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (granted_role, member)
);
COMMENT ON TABLE dbops.missing_grants IS 'Role grants the migration user could not make (see 090_role_grant_gaps.sql); empty when every grant is in place.';

-- Grants p_role to p_member, or records why it could not. Runs with the caller's rights on purpose:
-- it must find out what the migration user itself may grant. True when the membership is in place.
CREATE FUNCTION dbops.grant_role_or_record(p_role name, p_member name, p_purpose text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = p_role) OR NOT EXISTS (SELECT FROM pg_roles WHERE rolname = p_member) THEN
    RAISE EXCEPTION 'dbops.grant_role_or_record: role % or % does not exist', p_role, p_member USING ERRCODE = 'undefined_object';
  END IF;
  BEGIN
    EXECUTE format('GRANT %I TO %I', p_role, p_member);
  EXCEPTION WHEN insufficient_privilege THEN
    -- Granted already by someone who may: nothing is missing.
    IF pg_has_role(p_member, p_role, 'MEMBER') THEN
      DELETE FROM dbops.missing_grants WHERE granted_role = p_role AND member = p_member;
      RETURN true;
    END IF;
    INSERT INTO dbops.missing_grants AS g (granted_role, member, purpose, error)
    VALUES (p_role, p_member, p_purpose, SQLERRM)
    ON CONFLICT (granted_role, member) DO UPDATE SET purpose = excluded.purpose, error = excluded.error, last_tried_at = now();
    RAISE NOTICE 'could not grant % to %: % (recorded in dbops.missing_grants)', p_role, p_member, SQLERRM;
    RETURN false;
  END;
  DELETE FROM dbops.missing_grants WHERE granted_role = p_role AND member = p_member;
  RETURN true;
END;
$$;
REVOKE EXECUTE ON FUNCTION dbops.grant_role_or_record(name, name, text) FROM PUBLIC;

-- The predefined roles dbops_maintenance relies on (060), made or recorded. rds_iam is left out:
-- AWS documents that the master may grant it, and the Data API path revokes it on purpose.
CREATE FUNCTION dbops.ensure_role_grants()
RETURNS TABLE (granted_role name, member name, granted boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_wanted record;
BEGIN
  FOR v_wanted IN
    SELECT w.granted_role, w.member, w.purpose
      FROM (VALUES
        ('pg_maintain'::name, 'dbops_maintenance'::name, 'VACUUM, ANALYZE, REINDEX, REFRESH MATERIALIZED VIEW of tables it does not own'),
        ('pg_monitor', 'dbops_maintenance', 'every session in pg_stat_activity, pg_stat_statements'),
        ('pg_signal_backend', 'dbops_maintenance', 'long-query-check may cancel queries')
      ) AS w(granted_role, member, purpose)
     WHERE EXISTS (SELECT FROM pg_roles r WHERE r.rolname = w.member)
       AND EXISTS (SELECT FROM pg_roles r WHERE r.rolname = w.granted_role)
  LOOP
    granted_role := v_wanted.granted_role;
    member := v_wanted.member;
    granted := dbops.grant_role_or_record(v_wanted.granted_role, v_wanted.member, v_wanted.purpose);
    RETURN NEXT;
  END LOOP;
END;
$$;
REVOKE EXECUTE ON FUNCTION dbops.ensure_role_grants() FROM PUBLIC;

SELECT count(*) FROM dbops.ensure_role_grants();

-- health-check reads the gaps as the maintenance role.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'dbops_maintenance') THEN
    GRANT SELECT ON dbops.missing_grants TO dbops_maintenance;
  END IF;
END;
$$;
