-- Per-table storage settings for the hot tables.
--
-- Autovacuum: the default scale factors (vacuum 20%, analyze 10% of the table) wait far too long on
-- big, busy tables: on 50 M posts that is 10 M dead rows before a vacuum. Small fixed fractions
-- plus a threshold keep dead tuples and planner statistics in check.
--
-- fillfactor 90: posts, post_targets and conversations are updated all day (status, claims,
-- attempts, last_message_at). Free space on each page lets an update that touches no indexed
-- column stay on the same page (a HOT update) instead of writing new index entries.
-- It applies to pages written from now on; existing pages change on the next rewrite.

ALTER TABLE public.posts SET (
  fillfactor = 90,
  autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
  autovacuum_analyze_scale_factor = 0.01, autovacuum_analyze_threshold = 1000,
  autovacuum_vacuum_insert_scale_factor = 0.05
);

ALTER TABLE public.post_targets SET (
  fillfactor = 90,
  autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
  autovacuum_analyze_scale_factor = 0.01, autovacuum_analyze_threshold = 1000,
  autovacuum_vacuum_insert_scale_factor = 0.05
);

ALTER TABLE public.conversations SET (
  fillfactor = 90,
  autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
  autovacuum_analyze_scale_factor = 0.01, autovacuum_analyze_threshold = 1000
);

-- Append-mostly: analyze often (new days appear in range predicates), vacuum inserts often so
-- index-only scans keep a fresh visibility map.
ALTER TABLE public.messages SET (
  autovacuum_vacuum_scale_factor = 0.05,
  autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 1000,
  autovacuum_vacuum_insert_scale_factor = 0.05
);

ALTER TABLE public.post_metrics_daily SET (
  autovacuum_vacuum_scale_factor = 0.05,
  autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 1000,
  autovacuum_vacuum_insert_scale_factor = 0.05
);

-- Partitioned parents take no autovacuum settings (and autovacuum never analyzes a parent), so
-- they go on each partition: the registry hands them to every partition created from now on,
-- and the existing ones get them here.
UPDATE dbops.partitioned_tables
   SET partition_options = ARRAY['autovacuum_vacuum_insert_scale_factor=0.05', 'autovacuum_analyze_scale_factor=0.02']
 WHERE table_name IN ('public.listening_mentions', 'public.security_audit_logs');

DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT b.schema_name, b.partition_name, t.partition_options
      FROM dbops.partitioned_tables t
      CROSS JOIN LATERAL dbops.partition_bounds(t.table_name::regclass) b
     WHERE cardinality(t.partition_options) > 0
  LOOP
    EXECUTE format('ALTER TABLE %I.%I SET (%s)', r.schema_name, r.partition_name, array_to_string(r.partition_options, ', '));
  END LOOP;
END;
$$;
