-- analytics_campaign_totals kept by the rollup's deltas, as mv_daily_post_metrics is (093), so the
-- hourly refresh costs the rows that changed, not the campaign's history.
--
-- Since 070 every metric row written logged its post's campaign, and a logged campaign was
-- recomputed whole from its posts, their targets and every metric row they ever had. A campaign
-- runs for months and its posts gather a metric row a day per target, so one campaign's recompute
-- follows its history: in the growth benchmark (the medium history once, twice and four times,
-- same hourly load) this relation's share of the hourly refresh went 444 -> 656 -> 2,489 ms, about
-- 1.8 -> 9.5 ms per campaign, the largest grower of the eight.
--
-- Now the rollup (093) feeds it: per campaign, impressions, engagements and clicks are the sums of
-- its rollup rows that hold metric rows, and a campaign has a row while any such row is left (the
-- 070 definition: every post_metrics_daily row of a target of its posts, whatever the target's
-- status, which is what the rollup's metric_rows counts). The rollup's statement triggers carry
-- each change into the totals, signed, in the same statement; a campaign whose count of metric
-- rows went down is probed along 104's index and its row deleted when none is left. The sources
-- no longer log campaigns. Its full rebuild sums the rollup (fed_by: a rollup rebuild marks it
-- for its own, and its deltas pause meanwhile), and a campaign logged by hand is recomputed from
-- the rollup too, never from the base tables, so the relation stays the sum the deltas apply to.

CREATE VIEW dbops.analytics_campaign_totals_rollup AS
SELECT r.campaign_id, sum(r.impressions)::bigint AS impressions,
       sum(r.likes + r.comments + r.shares + r.saves)::bigint AS engagements, sum(r.clicks)::bigint AS clicks
  FROM dbops.analytics_post_days r
 WHERE r.campaign_id <> 0 AND r.metric_rows > 0
 GROUP BY r.campaign_id;
COMMENT ON VIEW dbops.analytics_campaign_totals_rollup IS
  'public.analytics_campaign_totals summed from dbops.analytics_post_days (its full rebuild since 105; dbops.analytics_campaign_totals_live is the 070 definition over the base tables)';

-- The campaigns of a batch: the view's filter on its group key goes down to the rows, along 104's index.
CREATE OR REPLACE FUNCTION dbops.analytics_rows_campaign_totals(p_keys bigint[], p_days date[], p_now timestamptz)
RETURNS SETOF public.analytics_campaign_totals LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT * FROM dbops.analytics_campaign_totals_rollup WHERE campaign_id = ANY (p_keys)
$$;

COMMENT ON TABLE public.analytics_campaign_totals IS
  'Per campaign: impressions, engagements and clicks of every post_metrics_daily row of a target of its posts (campaign_performance.sql); summed from dbops.analytics_post_days, kept by its deltas (105)';

-- Summed from the rollup from now on; what it holds was computed from the base tables, which the
-- rollup may not have caught up with, so it is summed anew once (the next refresh run, after the
-- rollup's own work).
UPDATE dbops.analytics_relations
   SET fed_by = 8, live_source = 'dbops.analytics_campaign_totals_rollup', needs_full = true
 WHERE view_id = 7;

-- ---------------------------------------------------------------------------------------------
-- The rollup's writes carried into the campaign totals, by triggers of their own beside 093's.
-- Every writer of the rollup holds the rollup's lock first (a batch, a rebuild step), so the order
-- in which these and 093's take their relation's lock cannot deadlock.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION dbops.analytics_post_days_to_campaigns() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  -- The changed rollup rows, signed: +1 for what the statement wrote, -1 for what it replaced.
  v_rows text := CASE TG_OP WHEN 'INSERT' THEN 'SELECT 1 AS s, * FROM new_rows'
                            WHEN 'UPDATE' THEN 'SELECT 1 AS s, * FROM new_rows UNION ALL SELECT -1, * FROM old_rows'
                            ELSE 'SELECT -1 AS s, * FROM old_rows' END;
BEGIN
  -- The relation's own lock, held to commit: a rebuild step of it (same lock) either sees these
  -- deltas or runs before them, never overwrites them from an older snapshot.
  PERFORM pg_advisory_xact_lock(hashtext('dbops.analytics_refresh'), 7);
  -- Waiting for a rebuild (from this rollup): deltas would land on rows about to be replaced.
  IF (SELECT needs_full FROM dbops.analytics_relations WHERE view_id = 7) THEN
    RETURN NULL;
  END IF;
  -- Per campaign, what its changed rows add. A campaign whose metric rows went down may have none
  -- left (the rollup already holds this statement's rows: the trigger runs after it), and its row
  -- goes; a campaign that gained metric rows gets a row, even all zero (the definition has one),
  -- or adds to the one it has; the others' sums move. Only a gain makes a row: a delta for a
  -- campaign with no row (one the relation has not caught up with while it awaits its rebuild)
  -- never leaves a negative one. The three touch different campaigns, so one statement does all.
  EXECUTE format($f$
    WITH d AS (
      SELECT x.campaign_id, sum(x.s * x.metric_rows) AS metric_rows, sum(x.s * x.impressions) AS impressions,
             sum(x.s * (x.likes + x.comments + x.shares + x.saves)) AS engagements, sum(x.s * x.clicks) AS clicks
        FROM (%s) x
       WHERE x.campaign_id <> 0 AND x.metric_rows > 0
       GROUP BY 1
    ), gone AS (
      SELECT d.campaign_id FROM d
       WHERE d.metric_rows < 0
         AND NOT EXISTS (SELECT 1 FROM dbops.analytics_post_days r
                          WHERE r.campaign_id = d.campaign_id AND r.campaign_id <> 0 AND r.metric_rows > 0)
    ), del AS (
      DELETE FROM public.analytics_campaign_totals t USING gone g WHERE t.campaign_id = g.campaign_id
    ), moved AS (
      UPDATE public.analytics_campaign_totals t
         SET impressions = t.impressions + d.impressions, engagements = t.engagements + d.engagements, clicks = t.clicks + d.clicks
        FROM d
       WHERE t.campaign_id = d.campaign_id AND d.metric_rows <= 0 AND d.campaign_id NOT IN (SELECT campaign_id FROM gone)
         AND (d.impressions, d.engagements, d.clicks) IS DISTINCT FROM (0, 0, 0)
    )
    INSERT INTO public.analytics_campaign_totals AS t
    SELECT d.campaign_id, d.impressions, d.engagements, d.clicks FROM d WHERE d.metric_rows > 0
    ON CONFLICT (campaign_id) DO UPDATE SET
      impressions = t.impressions + excluded.impressions,
      engagements = t.engagements + excluded.engagements,
      clicks = t.clicks + excluded.clicks
     WHERE (excluded.impressions, excluded.engagements, excluded.clicks) IS DISTINCT FROM (0, 0, 0)$f$,
    v_rows);
  RETURN NULL;
END;
$$;
CREATE TRIGGER analytics_post_days_to_campaigns_insert AFTER INSERT ON dbops.analytics_post_days REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION dbops.analytics_post_days_to_campaigns();
CREATE TRIGGER analytics_post_days_to_campaigns_update AFTER UPDATE ON dbops.analytics_post_days REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION dbops.analytics_post_days_to_campaigns();
CREATE TRIGGER analytics_post_days_to_campaigns_delete AFTER DELETE ON dbops.analytics_post_days REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION dbops.analytics_post_days_to_campaigns();
REVOKE EXECUTE ON FUNCTION dbops.analytics_post_days_to_campaigns() FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- The sources stop logging campaigns (view 7): each of these wrote also the post's rollup row
-- (view 8), whose deltas now carry the change. Otherwise as 093.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION dbops.capture_posts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT DISTINCT b.view_id, b.key_id, b.day
      FROM new_rows n
     CROSS JOIN LATERAL (VALUES
       (2::smallint, n.workspace_id, (n.created_at AT TIME ZONE 'UTC')::date),
       (2, n.workspace_id, (n.scheduled_at AT TIME ZONE 'UTC')::date),
       (2, n.workspace_id, (n.published_at AT TIME ZONE 'UTC')::date),
       (6, CASE WHEN n.status = 'PUBLISHED' THEN n.id END, '-infinity'::date)) b(view_id, key_id, day)
     WHERE b.key_id IS NOT NULL AND b.day IS NOT NULL;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT DISTINCT b.view_id, b.key_id, b.day
      FROM old_rows o
      JOIN new_rows n ON n.id = o.id
     CROSS JOIN LATERAL (
       SELECT 2::smallint, x.ws, (x.at AT TIME ZONE 'UTC')::date
         FROM (VALUES (o.workspace_id, o.created_at), (o.workspace_id, o.scheduled_at), (o.workspace_id, o.published_at),
                      (n.workspace_id, n.created_at), (n.workspace_id, n.scheduled_at), (n.workspace_id, n.published_at)) x(ws, at)
        WHERE (o.workspace_id, o.created_at, o.scheduled_at, o.published_at, o.status, o.ai_generated, o.author_id)
              IS DISTINCT FROM (n.workspace_id, n.created_at, n.scheduled_at, n.published_at, n.status, n.ai_generated, n.author_id)
       UNION ALL
       SELECT 6, o.id, '-infinity'::date
        WHERE (o.status = 'PUBLISHED' OR n.status = 'PUBLISHED')
          AND (o.status, o.published_at, o.workspace_id) IS DISTINCT FROM (n.status, n.published_at, n.workspace_id)
       UNION ALL
       -- A post moved to another campaign (or workspace, or its AI flag fixed): its rollup rows.
       SELECT 8, n.id, '-infinity'::date
        WHERE (o.campaign_id, o.ai_generated, o.workspace_id) IS DISTINCT FROM (n.campaign_id, n.ai_generated, n.workspace_id)
     ) b(view_id, key_id, day)
     WHERE b.key_id IS NOT NULL AND b.day IS NOT NULL;
  ELSE
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT DISTINCT b.view_id, b.key_id, b.day
      FROM old_rows o
     CROSS JOIN LATERAL (VALUES
       (2::smallint, o.workspace_id, (o.created_at AT TIME ZONE 'UTC')::date),
       (2, o.workspace_id, (o.scheduled_at AT TIME ZONE 'UTC')::date),
       (2, o.workspace_id, (o.published_at AT TIME ZONE 'UTC')::date),
       (6, o.id, '-infinity'::date),
       -- Its rollup rows go when the refresh finds the post gone.
       (8, o.id, '-infinity'::date)) b(view_id, key_id, day)
     WHERE b.key_id IS NOT NULL AND b.day IS NOT NULL;
  END IF;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION dbops.capture_post_targets() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT DISTINCT b.view_id, b.key_id, b.day
      FROM new_rows n
      JOIN public.posts p ON p.id = n.post_id
     CROSS JOIN LATERAL (VALUES
       (8::smallint, CASE WHEN n.status = 'published' THEN n.post_id END, '-infinity'::date),
       (6, CASE WHEN p.status = 'PUBLISHED' THEN p.id END, '-infinity'::date)) b(view_id, key_id, day)
     WHERE b.key_id IS NOT NULL;
  ELSIF TG_OP = 'UPDATE' THEN
    WITH changed AS (
      SELECT o.post_id AS old_post, n.post_id AS new_post
        FROM old_rows o JOIN new_rows n ON n.id = o.id
       WHERE (o.status, o.published_at, o.post_id, o.social_account_id) IS DISTINCT FROM (n.status, n.published_at, n.post_id, n.social_account_id)
    )
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT DISTINCT b.view_id, b.key_id, b.day
      FROM changed c
     CROSS JOIN LATERAL (
       SELECT 8::smallint, x.post, '-infinity'::date FROM (VALUES (c.old_post), (c.new_post)) x(post)
       UNION ALL SELECT 6, x.post, '-infinity'::date FROM (VALUES (c.old_post), (c.new_post)) x(post)
     ) b(view_id, key_id, day)
     WHERE b.key_id IS NOT NULL;
  END IF;
  RETURN NULL;
END;
$$;

-- Before a target goes (its metrics cascade after it): its post's totals. Its rollup rows need
-- only the post id, which the deleted row carries even when the post is going too.
CREATE OR REPLACE FUNCTION dbops.capture_post_target_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  INSERT INTO dbops.analytics_changes (view_id, key_id, day)
  SELECT 8::smallint, OLD.post_id, '-infinity'::date
  UNION
  SELECT 6, p.id, '-infinity' FROM public.posts p WHERE p.id = OLD.post_id;
  RETURN OLD;
END;
$$;

-- A late metric row (a post published months ago) lands in its post's rollup, whose refresh
-- carries it into the metric day's bucket and its campaign's totals, whatever the day of the write.
CREATE OR REPLACE FUNCTION dbops.capture_post_metrics() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_targets bigint[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(DISTINCT post_target_id) INTO v_targets FROM new_rows;
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT array_agg(post_target_id) INTO v_targets
      FROM (SELECT post_target_id FROM old_rows UNION SELECT post_target_id FROM new_rows) r;
  ELSE
    SELECT array_agg(DISTINCT post_target_id) INTO v_targets FROM old_rows;
  END IF;
  INSERT INTO dbops.analytics_changes (view_id, key_id, day)
  SELECT DISTINCT b.view_id, b.key_id, b.day
    FROM unnest(v_targets) AS m(post_target_id)
    JOIN public.post_targets pt ON pt.id = m.post_target_id
    JOIN public.posts p ON p.id = pt.post_id
   CROSS JOIN LATERAL (VALUES
     (8::smallint, p.id, '-infinity'::date),
     (6, CASE WHEN p.status = 'PUBLISHED' THEN p.id END, '-infinity'::date)) b(view_id, key_id, day)
   WHERE b.key_id IS NOT NULL;
  RETURN NULL;
END;
$$;
