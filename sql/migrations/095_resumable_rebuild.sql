-- A full rebuild that completes at any history size: range by range, each range its own short
-- transaction, resumed by the next run where the last one stopped.
--
-- 074's rebuild is one set-based statement per relation. It is the fastest form (one hash
-- aggregate), but its cost follows all of history and it must finish inside one statement: at the
-- medium scale the rollup's took 99.7 s, so at four times the history it passes the refresh task's
-- 5-minute statement timeout, and under the spec's load (the medium dataset about once a day) it
-- does within days. A relation due for a rebuild (a first fill after a migration such as 093, a
-- repair) would then fail every run and never be filled again.
--
-- Now the task rebuilds through dbops.analytics_rebuild_step: one call recomputes about a batch of
-- buckets (windows of a year of one workspace's days for the daily relations, the next few
-- thousand ids for the others) through the same rows functions and diff as the hourly batches,
-- and moves a cursor (rebuild_from, rebuild_day). A window's buckets are what the base tables hold
-- there plus what the relation itself holds there (so rows whose source is gone are deleted).
-- Writes that commit during a rebuild are logged as always and drained after it: a window
-- recomputed before such a write is fixed by the log, one recomputed after it already has it (a
-- bucket recomputed twice is the same). 074's one-statement form stays for the tests, as the
-- independent formulation the property test checks against.

ALTER TABLE dbops.analytics_relations
  ADD COLUMN key_table text,
  ADD COLUMN next_day_function text,
  ADD COLUMN range_buckets_function text,
  ADD COLUMN rebuild_window_days integer CHECK (rebuild_window_days > 0),
  ADD COLUMN rebuild_from bigint,
  ADD COLUMN rebuild_day date,
  ADD COLUMN rebuild_started_at timestamptz;
COMMENT ON COLUMN dbops.analytics_relations.key_table IS
  'Table whose id the key column refers to: the keys a rebuild walks (with the keys the relation itself holds)';
COMMENT ON COLUMN dbops.analytics_relations.next_day_function IS
  '(p_key bigint, p_from date) RETURNS date: the first UTC day from p_from on which the base tables hold something of the key (daily relations)';
COMMENT ON COLUMN dbops.analytics_relations.range_buckets_function IS
  '(p_key bigint, p_from date, p_to date) RETURNS TABLE (key_id bigint, day date): the buckets the base tables hold for the key in [p_from, p_to) (daily relations)';
COMMENT ON COLUMN dbops.analytics_relations.rebuild_window_days IS
  'Days of one key a rebuild takes at a time (daily relations)';
COMMENT ON COLUMN dbops.analytics_relations.rebuild_from IS 'A rebuild in progress: the key it goes on from (NULL: none in progress)';
COMMENT ON COLUMN dbops.analytics_relations.rebuild_day IS 'A rebuild in progress of a daily relation: the day of rebuild_from it goes on from';
COMMENT ON COLUMN dbops.analytics_relations.rebuild_started_at IS 'When the rebuild in progress started (its staleness counts from then)';

-- Per daily relation: where a workspace's next data is, and its buckets in a window of days, each
-- along an index led by the workspace and the time, so a window reads that window only.
CREATE FUNCTION dbops.analytics_next_day_daily_post_metrics(p_key bigint, p_from date) RETURNS date
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  -- Summed from the rollup (093): its buckets are the rollup's.
  SELECT min(r.day) FROM dbops.analytics_post_days r WHERE r.workspace_id = p_key AND r.day >= p_from
$$;
CREATE FUNCTION dbops.analytics_range_daily_post_metrics(p_key bigint, p_from date, p_to date)
RETURNS TABLE (key_id bigint, day date) LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT DISTINCT r.workspace_id, r.day FROM dbops.analytics_post_days r
   WHERE r.workspace_id = p_key AND r.day >= p_from AND r.day < p_to
$$;

CREATE FUNCTION dbops.analytics_next_day_daily_workspace_activity(p_key bigint, p_from date) RETURNS date
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT (least(
    (SELECT min(p.created_at) FROM public.posts p WHERE p.workspace_id = p_key AND p.created_at >= p_from::timestamp AT TIME ZONE 'UTC'),
    (SELECT min(p.scheduled_at) FROM public.posts p WHERE p.workspace_id = p_key AND p.scheduled_at >= p_from::timestamp AT TIME ZONE 'UTC'),
    (SELECT min(p.published_at) FROM public.posts p WHERE p.workspace_id = p_key AND p.published_at >= p_from::timestamp AT TIME ZONE 'UTC')
  ) AT TIME ZONE 'UTC')::date
$$;
CREATE FUNCTION dbops.analytics_range_daily_workspace_activity(p_key bigint, p_from date, p_to date)
RETURNS TABLE (key_id bigint, day date) LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT p_key, (x.at AT TIME ZONE 'UTC')::date
    FROM (
      SELECT p.created_at FROM public.posts p
       WHERE p.workspace_id = p_key AND p.created_at >= p_from::timestamp AT TIME ZONE 'UTC' AND p.created_at < p_to::timestamp AT TIME ZONE 'UTC'
      UNION ALL
      SELECT p.scheduled_at FROM public.posts p
       WHERE p.workspace_id = p_key AND p.scheduled_at >= p_from::timestamp AT TIME ZONE 'UTC' AND p.scheduled_at < p_to::timestamp AT TIME ZONE 'UTC'
      UNION ALL
      SELECT p.published_at FROM public.posts p
       WHERE p.workspace_id = p_key AND p.published_at >= p_from::timestamp AT TIME ZONE 'UTC' AND p.published_at < p_to::timestamp AT TIME ZONE 'UTC'
    ) x(at)
   GROUP BY 2
$$;

CREATE FUNCTION dbops.analytics_next_day_conversation_metrics(p_key bigint, p_from date) RETURNS date
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT (min(c.created_at) AT TIME ZONE 'UTC')::date FROM public.conversations c
   WHERE c.workspace_id = p_key AND c.created_at >= p_from::timestamp AT TIME ZONE 'UTC'
$$;
CREATE FUNCTION dbops.analytics_range_conversation_metrics(p_key bigint, p_from date, p_to date)
RETURNS TABLE (key_id bigint, day date) LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT DISTINCT p_key, (c.created_at AT TIME ZONE 'UTC')::date FROM public.conversations c
   WHERE c.workspace_id = p_key AND c.created_at >= p_from::timestamp AT TIME ZONE 'UTC' AND c.created_at < p_to::timestamp AT TIME ZONE 'UTC'
$$;

CREATE FUNCTION dbops.analytics_next_day_listening_sentiment_trends(p_key bigint, p_from date) RETURNS date
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT (min(m.published_at) AT TIME ZONE 'UTC')::date FROM public.listening_mentions m
   WHERE m.workspace_id = p_key AND m.published_at >= p_from::timestamp AT TIME ZONE 'UTC'
$$;
CREATE FUNCTION dbops.analytics_range_listening_sentiment_trends(p_key bigint, p_from date, p_to date)
RETURNS TABLE (key_id bigint, day date) LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT DISTINCT p_key, (m.published_at AT TIME ZONE 'UTC')::date FROM public.listening_mentions m
   WHERE m.workspace_id = p_key AND m.published_at >= p_from::timestamp AT TIME ZONE 'UTC' AND m.published_at < p_to::timestamp AT TIME ZONE 'UTC'
$$;

-- Windows of a year of one workspace for the daily relations: a step takes at least one window, so
-- a window of the biggest tenant is a step's least; a step of small tenants takes many (each window
-- costs two probes: 31-day windows made the probes most of a rebuild at the medium scale).
UPDATE dbops.analytics_relations r
   SET key_table = v.key_table, next_day_function = v.next_day, range_buckets_function = v.range_function, rebuild_window_days = v.days
  FROM (VALUES
    (1, 'public.workspaces', 'dbops.analytics_next_day_daily_post_metrics', 'dbops.analytics_range_daily_post_metrics', 366),
    (2, 'public.workspaces', 'dbops.analytics_next_day_daily_workspace_activity', 'dbops.analytics_range_daily_workspace_activity', 366),
    (3, 'public.workspaces', 'dbops.analytics_next_day_conversation_metrics', 'dbops.analytics_range_conversation_metrics', 366),
    (4, 'public.workspaces', 'dbops.analytics_next_day_listening_sentiment_trends', 'dbops.analytics_range_listening_sentiment_trends', 366),
    (5, 'public.influencers', NULL, NULL, NULL),
    (6, 'public.posts', NULL, NULL, NULL),
    (7, 'public.campaigns', NULL, NULL, NULL),
    (8, 'public.posts', NULL, NULL, NULL)
  ) v(view_id, key_table, next_day, range_function, days)
 WHERE r.view_id = v.view_id;
ALTER TABLE dbops.analytics_relations ALTER COLUMN key_table SET NOT NULL;
ALTER TABLE dbops.analytics_relations ADD CONSTRAINT analytics_relations_daily_rebuild
  CHECK ((day_column IS NULL) = (next_day_function IS NULL) AND (day_column IS NULL) = (range_buckets_function IS NULL)
         AND (day_column IS NULL) = (rebuild_window_days IS NULL));

-- What a relation feeds is due for its own rebuild once the feeder is rebuilt: marked under the fed
-- relation's lock (always taken after the feeder's, as the deltas do), so a step of it in progress
-- either commits before or sees the mark.
CREATE FUNCTION dbops.analytics_mark_fed(p_view_id smallint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_fed smallint;
BEGIN
  FOR v_fed IN SELECT view_id FROM dbops.analytics_relations WHERE fed_by = p_view_id ORDER BY view_id LOOP
    PERFORM pg_advisory_xact_lock(hashtext('dbops.analytics_refresh'), v_fed);
    UPDATE dbops.analytics_relations SET needs_full = true WHERE view_id = v_fed;
  END LOOP;
END;
$$;
REVOKE EXECUTE ON FUNCTION dbops.analytics_mark_fed(smallint) FROM PUBLIC;

-- A full=true request, kept in the registry so that it outlives the run that made it: the next
-- steps start the rebuild over (from the first key, even over one in progress).
CREATE FUNCTION dbops.analytics_request_rebuild(p_view text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r dbops.analytics_relations;
BEGIN
  r := dbops.analytics_relation(p_view);
  PERFORM pg_advisory_xact_lock(hashtext('dbops.analytics_refresh'), r.view_id);
  UPDATE dbops.analytics_relations SET needs_full = true WHERE view_id = r.view_id;
END;
$$;
REVOKE EXECUTE ON FUNCTION dbops.analytics_request_rebuild(text) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- One step of a rebuild
-- ---------------------------------------------------------------------------------------------
-- (Re)starts a rebuild when one is due (needs_full: a first fill, a full=true request through
-- dbops.analytics_request_rebuild, or the relation it is summed from starting its own rebuild),
-- even over one in progress; otherwise goes on with the one in progress. One call is one
-- transaction of about p_batch buckets: a daily relation's step takes windows of a workspace's
-- days (rebuild_window_days from the next day that holds anything), workspace after workspace,
-- until it has p_batch buckets (a bucket, one workspace's day, does not grow with history, so
-- neither does a step); any other relation's step takes the next p_batch keys. The buckets of a
-- window are what the base tables hold there plus what the relation holds there (so rows whose
-- source is gone are deleted); they are recomputed by the hourly batches' rows function and diff,
-- and the cursor (rebuild_from, rebuild_day) moves past them. Done when no key is left. Starting:
--   * a relation summed from another waits (55000) until that one is built and not rebuilding:
--     summing a rollup half refilled would show readers half the figures;
--   * what this relation feeds is marked for its own rebuild, under its lock (its deltas pause;
--     it is summed anew once this one is done, and one in progress starts over then), as 093's
--     one-statement rebuild does;
--   * needs_full is cleared at the start, not the end: for a relation fed by deltas, deltas that
--     land while its ranges are recomputed are right (a bucket not yet recomputed is replaced
--     later from a snapshot that holds them), and deltas skipped would be lost for the ranges
--     already done;
--   * the clock watermark moves to the start: deadlines that pass during the rebuild are logged
--     by the clock afterwards.
CREATE FUNCTION dbops.analytics_rebuild_step(p_view text, p_batch integer DEFAULT 5000, p_now timestamptz DEFAULT NULL)
RETURNS TABLE (keys_from bigint, keys_to bigint, buckets integer, rows_changed bigint, done boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  -- Windows probed at most per step (keys with nothing left cost a probe each).
  c_windows constant integer := 500;
  r dbops.analytics_relations;
  f dbops.analytics_relations;
  v_now timestamptz := coalesce(p_now, clock_timestamp());
  v_keys bigint[] := '{}';
  v_days date[] := '{}';
  v_k bigint[];
  v_d date[];
  v_key bigint;
  v_day date;
  v_next date;
  v_windows integer := 0;
  v_next_key text;
BEGIN
  IF p_batch IS NULL OR p_batch < 1 OR p_batch > 100000 THEN
    RAISE EXCEPTION 'batch size must be between 1 and 100000, got %', coalesce(p_batch::text, 'NULL') USING ERRCODE = '22023';
  END IF;
  r := dbops.analytics_relation(p_view);
  PERFORM pg_advisory_xact_lock(hashtext('dbops.analytics_refresh'), r.view_id);
  -- Read again under the lock: another run may have moved the cursor meanwhile.
  SELECT * INTO STRICT r FROM dbops.analytics_relations WHERE view_id = r.view_id;
  buckets := 0;
  rows_changed := 0;
  done := false;

  IF r.rebuild_from IS NULL AND NOT r.needs_full THEN
    done := true;
    RETURN NEXT;
    RETURN;
  END IF;
  IF r.needs_full THEN
    IF r.fed_by IS NOT NULL THEN
      SELECT * INTO STRICT f FROM dbops.analytics_relations WHERE view_id = r.fed_by;
      IF f.needs_full OR f.rebuild_from IS NOT NULL OR f.populated_at IS NULL THEN
        RAISE EXCEPTION '% is summed from %, which is not built yet: rebuild % first (full=true rebuilds both, in order)',
          r.view_name, f.view_name, f.view_name USING ERRCODE = '55000';
      END IF;
    END IF;
    PERFORM dbops.analytics_mark_fed(r.view_id);
    UPDATE dbops.analytics_relations
       SET needs_full = false, rebuild_from = -9223372036854775808, rebuild_day = '-infinity', rebuild_started_at = v_now,
           clock_through = CASE WHEN clock_function IS NULL THEN NULL ELSE v_now END
     WHERE view_id = r.view_id
    RETURNING * INTO STRICT r;
  END IF;

  -- The next key at or after $1 that holds anything, in the base tables or in the relation (ids can be sparse).
  v_next_key := format('SELECT least((SELECT min(k.id) FROM %s k WHERE k.id >= $1), (SELECT min(t.%I) FROM %s t WHERE t.%2$I >= $1))',
                       r.key_table::regclass, r.key_column, r.view_name::regclass);
  v_key := r.rebuild_from;
  v_day := r.rebuild_day;
  IF r.day_column IS NULL THEN
    EXECUTE v_next_key INTO v_key USING v_key;
    keys_from := v_key;
    IF v_key IS NOT NULL THEN
      EXECUTE format('SELECT array_agg(b.k), array_agg(''-infinity''::date) FROM (SELECT k.id FROM %s k WHERE k.id >= $1 AND k.id < $2 '
                     'UNION SELECT t.%I FROM %s t WHERE t.%2$I >= $1 AND t.%2$I < $2) b(k)',
                     r.key_table::regclass, r.key_column, r.view_name::regclass)
        INTO v_keys, v_days USING v_key, v_key + p_batch;
      v_key := v_key + p_batch;
    END IF;
  ELSE
    LOOP
      IF v_day = '-infinity' THEN
        EXECUTE v_next_key INTO v_key USING v_key;
        EXIT WHEN v_key IS NULL;
        keys_from := coalesce(keys_from, v_key);
      END IF;
      EXECUTE format('SELECT least(%s($1, $2), (SELECT min(t.%I) FROM %s t WHERE t.%I = $1 AND t.%2$I >= $2))',
                     r.next_day_function, r.day_column, r.view_name::regclass, r.key_column)
        INTO v_next USING v_key, v_day;
      IF v_next IS NULL THEN
        -- Nothing more of this key: the next one.
        v_key := v_key + 1;
        v_day := '-infinity';
      ELSE
        EXECUTE format('SELECT array_agg(b.k), array_agg(b.d) FROM (SELECT x.key_id, x.day FROM %s($1, $2, $3) x '
                       'UNION SELECT t.%I, t.%I FROM %s t WHERE t.%2$I = $1 AND t.%3$I >= $2 AND t.%3$I < $3) b(k, d)',
                       r.range_buckets_function, r.key_column, r.day_column, r.view_name::regclass)
          INTO v_k, v_d USING v_key, v_next, v_next + r.rebuild_window_days;
        v_keys := v_keys || coalesce(v_k, '{}');
        v_days := v_days || coalesce(v_d, '{}');
        v_day := v_next + r.rebuild_window_days;
      END IF;
      v_windows := v_windows + 1;
      EXIT WHEN cardinality(v_keys) >= p_batch OR v_windows >= c_windows;
    END LOOP;
  END IF;
  keys_to := v_key;

  -- Listed in the statements above, recomputed in this one (a newer snapshot: a bucket that
  -- appeared in between was logged by its write).
  buckets := coalesce(cardinality(v_keys), 0);
  IF buckets > 0 THEN
    EXECUTE dbops.analytics_apply_sql(r.view_id) INTO rows_changed USING v_keys, v_days, v_now;
  END IF;
  IF v_key IS NULL THEN
    UPDATE dbops.analytics_relations
       SET rebuild_from = NULL, rebuild_day = NULL, rebuild_started_at = NULL, populated_at = coalesce(populated_at, clock_timestamp())
     WHERE view_id = r.view_id;
    done := true;
  ELSE
    UPDATE dbops.analytics_relations SET rebuild_from = v_key, rebuild_day = v_day WHERE view_id = r.view_id;
  END IF;
  RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION dbops.analytics_rebuild_step(text, integer, timestamptz) IS
  'One step of a resumable full rebuild: recompute about p_batch buckets from the cursor on ((re)starting the rebuild when one is due); done when none is left';
REVOKE EXECUTE ON FUNCTION dbops.analytics_rebuild_step(text, integer, timestamptz) FROM PUBLIC;
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'dbops_maintenance') THEN
    GRANT EXECUTE ON FUNCTION dbops.analytics_rebuild_step(text, integer, timestamptz) TO dbops_maintenance;
    GRANT EXECUTE ON FUNCTION dbops.analytics_request_rebuild(text) TO dbops_maintenance;
  END IF;
END;
$$;

-- The one-statement rebuild (093's) also waits for a feeder that is rebuilding, marks what it feeds
-- under that relation's lock, and supersedes a rebuild in progress of its own relation.
CREATE OR REPLACE FUNCTION dbops.analytics_rebuild(p_view text, p_now timestamptz DEFAULT NULL)
RETURNS TABLE (buckets bigint, rows_changed bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r dbops.analytics_relations;
  f dbops.analytics_relations;
  v_now timestamptz := coalesce(p_now, clock_timestamp());
BEGIN
  r := dbops.analytics_relation(p_view);
  PERFORM pg_advisory_xact_lock(hashtext('dbops.analytics_refresh'), r.view_id);
  IF r.fed_by IS NOT NULL THEN
    SELECT * INTO STRICT f FROM dbops.analytics_relations WHERE view_id = r.fed_by;
    IF f.needs_full OR f.rebuild_from IS NOT NULL OR f.populated_at IS NULL THEN
      RAISE EXCEPTION '% is summed from %, which is not built yet: rebuild % first (full=true rebuilds both, in order)',
        r.view_name, f.view_name, f.view_name USING ERRCODE = '55000';
    END IF;
  END IF;
  PERFORM dbops.analytics_mark_fed(r.view_id);
  DELETE FROM dbops.analytics_changes WHERE view_id = r.view_id;
  EXECUTE dbops.analytics_diff_sql(r.view_id, true) INTO rows_changed, buckets USING NULL::bigint[], NULL::date[], v_now;
  UPDATE dbops.analytics_relations
     SET needs_full = false, rebuild_from = NULL, rebuild_day = NULL, rebuild_started_at = NULL,
         clock_through = CASE WHEN clock_function IS NULL THEN NULL ELSE v_now END,
         populated_at = coalesce(populated_at, clock_timestamp())
   WHERE view_id = r.view_id;
  RETURN NEXT;
END;
$$;

-- Staleness while a rebuild is in progress counts from its start (or an older unapplied change):
-- each step logs a successful run, which would otherwise reset it while most ranges are still to do.
CREATE OR REPLACE VIEW dbops.mv_freshness AS
SELECT r.view_name,
       (a.populated_at IS NOT NULL) AS populated,
       last.finished_at AS last_refreshed_at,
       CASE WHEN last.finished_at IS NULL THEN NULL
            WHEN a.rebuild_from IS NOT NULL THEN extract(epoch FROM now() - least(a.rebuild_started_at, last.finished_at, p.since))
            WHEN a.needs_full OR a.populated_at IS NULL THEN extract(epoch FROM now() - last.finished_at)
            ELSE greatest(0, extract(epoch FROM now() - coalesce(p.since, now())))
       END::double precision AS staleness_seconds,
       CASE WHEN last.finished_at IS NULL THEN extract(epoch FROM now() - r.registered_at)
            WHEN a.rebuild_from IS NOT NULL THEN extract(epoch FROM now() - least(a.rebuild_started_at, last.finished_at, p.since))
            WHEN a.needs_full OR a.populated_at IS NULL THEN extract(epoch FROM now() - last.finished_at)
            ELSE greatest(0, extract(epoch FROM now() - coalesce(p.since, now())))
       END::double precision AS age_seconds,
       p.since AS pending_since
FROM dbops.materialized_views r
LEFT JOIN dbops.analytics_relations a ON a.view_name = r.view_name
LEFT JOIN LATERAL (SELECT dbops.analytics_pending_since(a.view_id) AS since) p ON true
LEFT JOIN LATERAL (
  SELECT l.finished_at FROM dbops.mv_refresh_log l
   WHERE l.view_name = r.view_name AND l.succeeded
   ORDER BY l.finished_at DESC LIMIT 1
) last ON true;
COMMENT ON VIEW dbops.mv_freshness IS
  'Per analytics relation: filled or not, last successful refresh, staleness_seconds: age of the oldest change not yet applied (0 when none; '
  'since the start of a rebuild in progress; since the last refresh while never filled or a full rebuild is due; NULL when never refreshed), '
  'age_seconds: the same but counting from registration when never refreshed (what the staleness metric publishes), pending_since: when the '
  'oldest unapplied change happened.';
