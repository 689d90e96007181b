-- Extensions the platform and the operations tooling rely on. On Aurora, pg_stat_statements is
-- preloaded by the cluster parameter group but still has to be created in the database.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
-- btree_gin: GIN operator classes for scalar types, so a GIN can lead with workspace_id and answer
-- "this tenant's posts with these tags / words" from one index (030). Supported on Aurora PostgreSQL.
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE SCHEMA IF NOT EXISTS dbops;
COMMENT ON SCHEMA dbops IS 'Operations metadata owned by aurora-dbops: migrations, partition registry, refresh log.';
