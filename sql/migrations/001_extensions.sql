-- Extensions the platform and the operations tooling rely on. On Aurora, pg_stat_statements is
-- preloaded by the cluster parameter group but still has to be created in the database.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE SCHEMA IF NOT EXISTS dbops;
COMMENT ON SCHEMA dbops IS 'Operations metadata owned by aurora-dbops: migrations, partition registry, refresh log.';
