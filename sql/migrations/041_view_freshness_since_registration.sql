-- A view that has never been refreshed successfully had no staleness at all, so the staleness
-- alarm could not fire for exactly the view that needed it. Its age now counts from the moment it
-- was registered for refreshing; staleness_seconds keeps its meaning (NULL until a first success).
ALTER TABLE dbops.materialized_views ADD COLUMN registered_at timestamptz NOT NULL DEFAULT now();

CREATE OR REPLACE VIEW dbops.mv_freshness AS
SELECT r.view_name,
       coalesce(m.ispopulated, false) AS populated,
       last.finished_at AS last_refreshed_at,
       extract(epoch FROM now() - last.finished_at)::double precision AS staleness_seconds,
       extract(epoch FROM now() - coalesce(last.finished_at, r.registered_at))::double precision AS age_seconds
FROM dbops.materialized_views r
LEFT JOIN pg_catalog.pg_matviews m
  ON format('%s.%s', m.schemaname, m.matviewname) = r.view_name
LEFT JOIN LATERAL (
  SELECT l.finished_at FROM dbops.mv_refresh_log l
   WHERE l.view_name = r.view_name AND l.succeeded
   ORDER BY l.finished_at DESC LIMIT 1
) last ON true;
COMMENT ON VIEW dbops.mv_freshness IS
  'Per registered view: populated or not, last successful refresh, its age in seconds (NULL when never refreshed), '
  'and age_seconds: since the last success, or since registration when there was none (what the staleness metric publishes).';
