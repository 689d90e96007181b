-- A full rebuild computes each analytics relation in one set-based statement, as REFRESH did.
--
-- 070 rebuilt by logging every bucket and recomputing them batch by batch through the per-bucket
-- rows functions: one index range scan per bucket. At the medium scale that is 2.5 million
-- buckets at about 70 us each, over three minutes for what the old REFRESH did in 46 s, and four
-- times that at four times the history. A repair (after a TRUNCATE, a restore or a capture bug)
-- and the first fill of a loaded database need the other shape: one hash aggregate over the
-- tables, diffed into the relation (delete the rows that are gone, upsert the rows that differ,
-- leave the rest alone). It is one transaction per relation; readers are not blocked (MVCC, ROW
-- EXCLUSIVE only). The hourly refresh stays bucket by bucket: its cost follows the new data.
--
-- The set-based form of each relation is its definition computed live (dbops.<name>_live, what
-- 040 defined and 070 kept as views), so the incremental rows functions are checked against an
-- independent formulation every time a full rebuild after an incremental refresh changes no row.
-- Only mv_conversation_metrics depends on the clock (an unanswered deadline already past counts as
-- a breach): its live form becomes a function of p_now, and the live view reads it at now().

-- Inlinable (LANGUAGE sql, STABLE, one SELECT, no SET clause, not SECURITY DEFINER): a query on the
-- live view plans as if the aggregate were written in place, as before. Every name is qualified.
CREATE FUNCTION dbops.analytics_all_conversation_metrics(p_now timestamptz)
RETURNS SETOF public.mv_conversation_metrics LANGUAGE sql STABLE AS $$
  SELECT c.workspace_id,
         (c.created_at AT TIME ZONE 'UTC')::date,
         sa.platform,
         c.type,
         count(*),
         count(*) FILTER (WHERE c.status = 'open'),
         count(*) FILTER (WHERE c.status = 'pending'),
         count(*) FILTER (WHERE c.status = 'resolved'),
         count(*) FILTER (WHERE c.status = 'closed'),
         count(*) FILTER (WHERE c.first_response_at IS NOT NULL),
         round(avg(extract(epoch FROM c.first_response_at - c.created_at)), 3),
         round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.first_response_at - c.created_at)))::numeric, 3),
         round(avg(extract(epoch FROM c.resolved_at - c.created_at)), 3),
         round(count(*) FILTER (WHERE c.status IN ('resolved', 'closed'))::numeric / count(*), 4),
         count(*) FILTER (WHERE c.sentiment = 'positive'),
         count(*) FILTER (WHERE c.sentiment = 'neutral'),
         count(*) FILTER (WHERE c.sentiment = 'negative'),
         count(*) FILTER (WHERE c.sentiment = 'mixed'),
         count(*) FILTER (WHERE c.sentiment IS NULL),
         count(*) FILTER (WHERE c.first_response_due_at < coalesce(c.first_response_at, p_now)),
         count(*) FILTER (WHERE c.resolution_due_at < coalesce(c.resolved_at, p_now))
    FROM public.conversations c
    JOIN public.social_accounts sa ON sa.id = c.social_account_id
   GROUP BY 1, 2, 3, 4
$$;
COMMENT ON FUNCTION dbops.analytics_all_conversation_metrics(timestamptz) IS
  'public.mv_conversation_metrics computed live over all history, deadlines judged at p_now (the full rebuild; dbops.mv_conversation_metrics_live reads it at now())';

CREATE OR REPLACE VIEW dbops.mv_conversation_metrics_live AS
SELECT * FROM dbops.analytics_all_conversation_metrics(now());

-- Where each relation's set-based form comes from: a view, or a function of p_now.
ALTER TABLE dbops.analytics_relations ADD COLUMN live_source text;
UPDATE dbops.analytics_relations
   SET live_source = CASE view_id WHEN 3 THEN 'dbops.analytics_all_conversation_metrics($3::timestamptz)'
                                  ELSE format('dbops.%I', split_part(view_name, '.', 2) || '_live') END;
ALTER TABLE dbops.analytics_relations ALTER COLUMN live_source SET NOT NULL;
COMMENT ON COLUMN dbops.analytics_relations.live_source IS
  'FROM item of the relation computed live over all history (a view, or a function of $3, the clock): what a full rebuild writes';

-- The diff statement, in one place for both paths: replace the rows of the scope by the fresh
-- rows, writing only what differs. The scope is the buckets $1/$2 (incremental: the rows functions
-- of 070 compute those buckets) or the whole relation (full: the live source).
CREATE FUNCTION dbops.analytics_diff_sql(p_view_id smallint, p_full boolean) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r dbops.analytics_relations;
  v_rel regclass;
  v_rest text[];
BEGIN
  SELECT * INTO STRICT r FROM dbops.analytics_relations WHERE view_id = p_view_id;
  v_rel := r.view_name::regclass;
  SELECT array_agg(attname::text ORDER BY attnum) INTO v_rest
    FROM pg_attribute WHERE attrelid = v_rel AND attnum > 0 AND NOT attisdropped AND attname <> ALL (r.unique_columns);
  RETURN format(
    $f$WITH b AS (SELECT DISTINCT k, d FROM unnest($1::bigint[], $2::date[]) AS u(k, d)),
    fresh AS MATERIALIZED (SELECT * FROM %1$s),
    del AS (
      DELETE FROM %2$s t %3$s
         NOT EXISTS (SELECT 1 FROM fresh f WHERE %4$s)
      RETURNING 1),
    up AS (
      INSERT INTO %2$s AS t SELECT * FROM fresh
      ON CONFLICT (%5$s) %6$s
      RETURNING 1)
    SELECT (SELECT count(*) FROM del) + (SELECT count(*) FROM up) AS rows_changed%7$s$f$,
    CASE WHEN p_full THEN r.live_source ELSE format('%s($1::bigint[], $2::date[], $3::timestamptz)', r.rows_function) END,
    v_rel,
    CASE WHEN p_full THEN 'WHERE'
         ELSE format('USING b WHERE t.%I = b.k %s AND', r.key_column,
                     CASE WHEN r.day_column IS NULL THEN '' ELSE format('AND t.%I = b.d', r.day_column) END) END,
    (SELECT string_agg(format('f.%1$I = t.%1$I', c), ' AND ') FROM unnest(r.unique_columns) c),
    (SELECT string_agg(format('%I', c), ', ') FROM unnest(r.unique_columns) c),
    -- A relation that is all key has nothing to update.
    CASE WHEN v_rest IS NULL THEN 'DO NOTHING'
         ELSE format('DO UPDATE SET (%s) = ROW(%s) WHERE ROW(%s) IS DISTINCT FROM ROW(%2$s)',
                     (SELECT string_agg(format('%I', c), ', ') FROM unnest(v_rest) c),
                     (SELECT string_agg(format('excluded.%I', c), ', ') FROM unnest(v_rest) c),
                     (SELECT string_agg(format('t.%I', c), ', ') FROM unnest(v_rest) c))
    END,
    -- The full rebuild also reports the buckets the relation now holds.
    CASE WHEN p_full
         THEN format(', (SELECT count(*) FROM (SELECT DISTINCT %I%s FROM fresh) k) AS buckets', r.key_column,
                     CASE WHEN r.day_column IS NULL THEN '' ELSE format(', %I', r.day_column) END)
         ELSE '' END);
END;
$$;

-- The incremental statement is the diff over the batch's buckets (the text 070 gave).
CREATE OR REPLACE FUNCTION dbops.analytics_apply_sql(p_view_id smallint) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT dbops.analytics_diff_sql(p_view_id, false)
$$;

-- Full rebuild of one relation, one transaction (the caller's statement). The relation's log rows
-- are taken in one statement and the relation computed in the next (a newer snapshot), so every
-- write whose log row was taken is in the result; a write committing meanwhile leaves its row for
-- the next incremental run. The clock watermark moves to p_now: deadlines passed by then are in.
CREATE FUNCTION dbops.analytics_rebuild(p_view text, p_now timestamptz DEFAULT NULL)
RETURNS TABLE (buckets bigint, rows_changed bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r dbops.analytics_relations;
  v_now timestamptz := coalesce(p_now, clock_timestamp());
BEGIN
  r := dbops.analytics_relation(p_view);
  PERFORM pg_advisory_xact_lock(hashtext('dbops.analytics_refresh'), r.view_id);
  DELETE FROM dbops.analytics_changes WHERE view_id = r.view_id;
  EXECUTE dbops.analytics_diff_sql(r.view_id, true) INTO rows_changed, buckets USING NULL::bigint[], NULL::date[], v_now;
  UPDATE dbops.analytics_relations
     SET needs_full = false,
         clock_through = CASE WHEN clock_function IS NULL THEN NULL ELSE v_now END,
         populated_at = coalesce(populated_at, clock_timestamp())
   WHERE view_id = r.view_id;
  RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION dbops.analytics_rebuild(text, timestamptz) IS
  'Full rebuild of one analytics relation from its live definition in one set-based statement (clock facts as of p_now, default now); returns the buckets it holds and the rows changed';

-- Replaced by analytics_rebuild: nothing logs every bucket any more.
DROP FUNCTION dbops.analytics_invalidate_all(text, timestamptz);

REVOKE EXECUTE ON FUNCTION dbops.analytics_rebuild(text, timestamptz) FROM PUBLIC;
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'dbops_maintenance') THEN
    GRANT EXECUTE ON FUNCTION dbops.analytics_rebuild(text, timestamptz) TO dbops_maintenance;
  END IF;
END;
$$;

-- mv_daily_post_metrics, one hour of spec-rate writes at the medium scale: 188 buckets of one day
-- took 96 s. The planner estimates the bucket filter (a semi-join on unnest of the arrays) at one
-- row and then joins social_accounts by a nested loop over all 8,000 accounts for each of the
-- day's 126,000 targets. The account join now happens inside the fenced day sets, before the
-- filter, where the estimates are the day's own. Same rows, same columns as 070.
CREATE OR REPLACE FUNCTION dbops.analytics_rows_daily_post_metrics(p_keys bigint[], p_days date[], p_now timestamptz)
RETURNS SETOF public.mv_daily_post_metrics LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  WITH b AS (SELECT DISTINCT k AS workspace_id, d AS day FROM unnest(p_keys, p_days) AS u(k, d)),
  -- One index scan of each touched day (post_targets has no workspace column), then the buckets.
  -- LATERAL ... OFFSET 0 (a fence against flattening) keeps that plan: the planner cannot see
  -- how many buckets the arrays hold and would rather scan posts whole.
  days AS (SELECT DISTINCT day FROM b),
  day_targets AS (
    SELECT p.workspace_id, days.day, pt.post_id, sa.platform, p.campaign_id, p.ai_generated
      FROM days
     CROSS JOIN LATERAL (
       SELECT x.post_id, x.social_account_id FROM public.post_targets x
        WHERE x.status = 'published'
          AND x.published_at >= days.day::timestamp AT TIME ZONE 'UTC'
          AND x.published_at < (days.day + 1)::timestamp AT TIME ZONE 'UTC'
       OFFSET 0
     ) pt
      JOIN public.posts p ON p.id = pt.post_id
      JOIN public.social_accounts sa ON sa.id = pt.social_account_id
    OFFSET 0
  ),
  day_metrics AS (
    SELECT p.workspace_id, m.metric_date AS day, pt.post_id, sa.platform, p.campaign_id,
           m.impressions, m.reach, m.likes, m.comments, m.shares, m.saves, m.clicks
      FROM days
     CROSS JOIN LATERAL (SELECT x.* FROM public.post_metrics_daily x WHERE x.metric_date = days.day OFFSET 0) m
      JOIN public.post_targets pt ON pt.id = m.post_target_id
      JOIN public.posts p ON p.id = pt.post_id
      JOIN public.social_accounts sa ON sa.id = pt.social_account_id
    OFFSET 0
  ),
  published AS (
    SELECT t.workspace_id, t.day, t.platform, coalesce(t.campaign_id, 0) AS campaign_id,
           count(DISTINCT t.post_id) AS posts_published,
           count(DISTINCT t.post_id) FILTER (WHERE t.ai_generated) AS ai_generated_posts
      FROM day_targets t
     WHERE (t.workspace_id, t.day) IN (SELECT workspace_id, day FROM b)
     GROUP BY 1, 2, 3, 4
  ),
  performance AS (
    SELECT m.workspace_id, m.day, m.platform, coalesce(m.campaign_id, 0) AS campaign_id,
           count(DISTINCT m.post_id) AS posts_with_metrics,
           sum(m.impressions)::bigint AS impressions, sum(m.reach)::bigint AS reach, sum(m.likes)::bigint AS likes,
           sum(m.comments)::bigint AS comments, sum(m.shares)::bigint AS shares, sum(m.saves)::bigint AS saves,
           sum(m.clicks)::bigint AS clicks
      FROM day_metrics m
     WHERE (m.workspace_id, m.day) IN (SELECT workspace_id, day FROM b)
     GROUP BY 1, 2, 3, 4
  )
  SELECT coalesce(pub.workspace_id, perf.workspace_id), coalesce(pub.day, perf.day), coalesce(pub.platform, perf.platform),
         coalesce(pub.campaign_id, perf.campaign_id),
         coalesce(pub.posts_published, 0), coalesce(pub.ai_generated_posts, 0),
         round(pub.ai_generated_posts::numeric / nullif(pub.posts_published, 0), 4),
         coalesce(perf.posts_with_metrics, 0), coalesce(perf.impressions, 0), coalesce(perf.reach, 0),
         coalesce(perf.likes, 0), coalesce(perf.comments, 0), coalesce(perf.shares, 0), coalesce(perf.saves, 0),
         coalesce(perf.clicks, 0),
         coalesce(perf.likes + perf.comments + perf.shares + perf.saves, 0),
         round((perf.likes + perf.comments + perf.shares + perf.saves)::numeric / nullif(perf.impressions, 0), 6)
    FROM published pub
    FULL JOIN performance perf
      ON perf.workspace_id = pub.workspace_id AND perf.day = pub.day AND perf.platform = pub.platform
     AND perf.campaign_id = pub.campaign_id
$$;
