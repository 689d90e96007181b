-- mv_daily_post_metrics from a per-post rollup, so the hourly refresh costs what changed, not the
-- day so far.
--
-- A daily bucket (workspace, day) was recomputed whole from post_targets and post_metrics_daily:
-- every target published that day and every metric row of that day, each joined to its post and
-- account. Under the spec's load a day fills up to about a million posts with three targets each
-- and their metric rows, and every hourly refresh recomputes the current day's bucket of every
-- workspace, so by the evening one refresh reads most of a day of targets and metrics (measured
-- on the medium data with 1.29 M targets published and 357,000 metric rows that day: 10.7 to
-- 29.6 s for this relation alone).
--
-- Now two levels:
--   * dbops.analytics_post_days: per post, UTC day and platform, the post's published targets and
--     the sums of its metric rows of that day. A post has a few targets and a few metric days, so
--     recomputing the posts a write touched costs what the write touched. It is kept by the 070
--     machinery like the other relations (view 8, one bucket per post; the sources log posts).
--   * mv_daily_post_metrics is the sum of those rows per (workspace, day, platform, campaign):
--     posts_published counts the rows with a published target (one row per post, day and platform,
--     so a count of rows is the distinct-post count the definition asks for), posts_with_metrics
--     the rows with metric rows. Sums and counts take deltas, so the rollup's statement trigger
--     adds what its changed rows add and takes away what they replaced: the cost is the changed
--     rows, not the day. The sources no longer log its buckets.
-- Same rows, same columns (the property test compares both relations with the base tables). A
-- full rebuild of mv_daily_post_metrics sums the rollup (the state the deltas apply to); a full
-- run rebuilds the rollup from the base tables first (refresh_order 5, before 10).

CREATE TABLE dbops.analytics_post_days (
  post_id            bigint NOT NULL,
  day                date NOT NULL,
  platform           public.social_platform NOT NULL,
  workspace_id       bigint NOT NULL,
  campaign_id        bigint NOT NULL,
  ai_generated       boolean NOT NULL,
  published_targets  integer NOT NULL,
  metric_rows        integer NOT NULL,
  -- NULL when the post has no metric row that day (sums over no rows, as the 040 definition).
  impressions        bigint,
  reach              bigint,
  likes              bigint,
  comments           bigint,
  shares             bigint,
  saves              bigint,
  clicks             bigint
);
COMMENT ON TABLE dbops.analytics_post_days IS
  'Per post, UTC day and platform: the post''s targets published that day and the sums of its metric rows of that day (campaign_id 0: none); '
  'mv_daily_post_metrics is summed from it. Kept by dbops.analytics_refresh_batch (view 8, one bucket per post)';
CREATE UNIQUE INDEX analytics_post_days_key ON dbops.analytics_post_days (post_id, day, platform);
COMMENT ON INDEX dbops.analytics_post_days_key IS
  'incremental refresh of the rollup: the rows of a batch of posts are replaced along it (dbops.analytics_refresh_batch)';
CREATE INDEX analytics_post_days_bucket_idx ON dbops.analytics_post_days (workspace_id, day);
COMMENT ON INDEX dbops.analytics_post_days_bucket_idx IS
  'incremental refresh of mv_daily_post_metrics: the rows of one (workspace, day) bucket (dbops.analytics_rows_daily_post_metrics)';

-- The rollup's definition, set-based (its full rebuild: hash joins over every target and metric
-- row, one pass).
CREATE VIEW dbops.analytics_post_days_live AS
SELECT p.id AS post_id, x.day, sa.platform, p.workspace_id, coalesce(p.campaign_id, 0) AS campaign_id, p.ai_generated,
       count(*) FILTER (WHERE x.published)::integer AS published_targets,
       count(*) FILTER (WHERE NOT x.published)::integer AS metric_rows,
       sum(x.impressions)::bigint AS impressions, sum(x.reach)::bigint AS reach, sum(x.likes)::bigint AS likes,
       sum(x.comments)::bigint AS comments, sum(x.shares)::bigint AS shares, sum(x.saves)::bigint AS saves,
       sum(x.clicks)::bigint AS clicks
  FROM (
    SELECT pt.post_id, pt.social_account_id, (pt.published_at AT TIME ZONE 'UTC')::date AS day, true AS published,
           NULL::bigint AS impressions, NULL::bigint AS reach, NULL::bigint AS likes, NULL::bigint AS comments,
           NULL::bigint AS shares, NULL::bigint AS saves, NULL::bigint AS clicks
      FROM public.post_targets pt
     WHERE pt.status = 'published'
    UNION ALL
    SELECT pt.post_id, pt.social_account_id, m.metric_date, false, m.impressions, m.reach, m.likes, m.comments, m.shares, m.saves, m.clicks
      FROM public.post_metrics_daily m
      JOIN public.post_targets pt ON pt.id = m.post_target_id
  ) x
  JOIN public.posts p ON p.id = x.post_id
  JOIN public.social_accounts sa ON sa.id = x.social_account_id
 GROUP BY p.id, x.day, sa.platform;
COMMENT ON VIEW dbops.analytics_post_days_live IS 'dbops.analytics_post_days computed live over all history';

-- The same rows for a batch of posts, LATERAL per post so the batch reads only its posts' targets
-- and metric rows (post_targets_post_status_idx, post_metrics_daily_target_date_key). A second
-- formulation on purpose: a join over every target would not use those indexes for a batch, and
-- a walk of every post would be slow for the full rebuild. After the property test's random
-- writes a full rebuild must change no row, so the two are held equal.
CREATE FUNCTION dbops.analytics_rows_post_days(p_keys bigint[], p_days date[], p_now timestamptz)
RETURNS SETOF dbops.analytics_post_days LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT p.id, x.day, sa.platform, p.workspace_id, coalesce(p.campaign_id, 0), p.ai_generated,
         count(*) FILTER (WHERE x.published)::integer, count(*) FILTER (WHERE NOT x.published)::integer,
         sum(x.impressions)::bigint, sum(x.reach)::bigint, sum(x.likes)::bigint, sum(x.comments)::bigint,
         sum(x.shares)::bigint, sum(x.saves)::bigint, sum(x.clicks)::bigint
    FROM public.posts p
   CROSS JOIN LATERAL (
     SELECT pt.social_account_id, (pt.published_at AT TIME ZONE 'UTC')::date AS day, true AS published,
            NULL::bigint AS impressions, NULL::bigint AS reach, NULL::bigint AS likes, NULL::bigint AS comments,
            NULL::bigint AS shares, NULL::bigint AS saves, NULL::bigint AS clicks
       FROM public.post_targets pt
      WHERE pt.post_id = p.id AND pt.status = 'published'
     UNION ALL
     SELECT pt.social_account_id, m.metric_date, false, m.impressions, m.reach, m.likes, m.comments, m.shares, m.saves, m.clicks
       FROM public.post_targets pt
       JOIN public.post_metrics_daily m ON m.post_target_id = pt.id
      WHERE pt.post_id = p.id
   ) x
    JOIN public.social_accounts sa ON sa.id = x.social_account_id
   WHERE p.id = ANY (p_keys)
   GROUP BY p.id, x.day, sa.platform
$$;

-- mv_daily_post_metrics as the sum of the rollup, with the columns and NULL rules of 040 (a share
-- or a rate without a denominator is NULL; a sum over no metric row is 0). Its full rebuild reads
-- this; a bucket recompute reads it through the bucket's index range.
CREATE VIEW dbops.mv_daily_post_metrics_rollup AS
WITH g AS (
  SELECT r.workspace_id, r.day, r.platform, r.campaign_id,
         count(*) FILTER (WHERE r.published_targets > 0) AS posts_published,
         count(*) FILTER (WHERE r.published_targets > 0 AND r.ai_generated) AS ai_generated_posts,
         count(*) FILTER (WHERE r.metric_rows > 0) AS posts_with_metrics,
         coalesce(sum(r.impressions), 0)::bigint AS impressions, coalesce(sum(r.reach), 0)::bigint AS reach,
         coalesce(sum(r.likes), 0)::bigint AS likes, coalesce(sum(r.comments), 0)::bigint AS comments,
         coalesce(sum(r.shares), 0)::bigint AS shares, coalesce(sum(r.saves), 0)::bigint AS saves,
         coalesce(sum(r.clicks), 0)::bigint AS clicks
    FROM dbops.analytics_post_days r
   GROUP BY 1, 2, 3, 4
)
SELECT g.workspace_id, g.day, g.platform, g.campaign_id, g.posts_published, g.ai_generated_posts,
       round(g.ai_generated_posts::numeric / nullif(g.posts_published, 0), 4) AS ai_generated_share,
       g.posts_with_metrics, g.impressions, g.reach, g.likes, g.comments, g.shares, g.saves, g.clicks,
       g.likes + g.comments + g.shares + g.saves AS engagements,
       round((g.likes + g.comments + g.shares + g.saves)::numeric / nullif(g.impressions, 0), 6) AS engagement_rate
  FROM g;
COMMENT ON VIEW dbops.mv_daily_post_metrics_rollup IS
  'public.mv_daily_post_metrics summed from dbops.analytics_post_days (its full rebuild since 093; dbops.mv_daily_post_metrics_live is the 040 definition over the base tables)';

-- Nothing logs mv_daily_post_metrics buckets any more (the rollup's deltas below keep it); should one be logged
-- (by hand), it is recomputed from the rollup as well, never from the base tables, so the
-- relation stays the sum of the rollup the deltas apply to.
CREATE OR REPLACE FUNCTION dbops.analytics_rows_daily_post_metrics(p_keys bigint[], p_days date[], p_now timestamptz)
RETURNS SETOF public.mv_daily_post_metrics LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT v.*
    FROM (SELECT DISTINCT k, d FROM unnest(p_keys, p_days) AS u(k, d)) b
   -- OFFSET 0: one index range per bucket, whatever the planner guesses of the arrays.
   CROSS JOIN LATERAL (SELECT * FROM dbops.mv_daily_post_metrics_rollup x WHERE x.workspace_id = b.k AND x.day = b.d OFFSET 0) v
$$;

-- ---------------------------------------------------------------------------------------------
-- Register the rollup (view 8), refreshed before mv_daily_post_metrics (refresh_order 10)
-- ---------------------------------------------------------------------------------------------
INSERT INTO dbops.materialized_views (view_name, refresh_order) VALUES ('dbops.analytics_post_days', 5)
ON CONFLICT (view_name) DO NOTHING;

-- A relation summed from another is stale while the other is: its pending changes count too.
ALTER TABLE dbops.analytics_relations ADD COLUMN fed_by smallint REFERENCES dbops.analytics_relations (view_id);
COMMENT ON COLUMN dbops.analytics_relations.fed_by IS
  'The relation this one is computed from (kept by its deltas): its unapplied changes count in this one''s staleness';

INSERT INTO dbops.analytics_relations (view_id, view_name, key_column, day_column, unique_columns, rows_function, clock_function, live_source)
VALUES (8, 'dbops.analytics_post_days', 'post_id', NULL, '{post_id,day,platform}',
        'dbops.analytics_rows_post_days', NULL, 'dbops.analytics_post_days_live');
UPDATE dbops.analytics_relations SET fed_by = 8, live_source = 'dbops.mv_daily_post_metrics_rollup' WHERE view_id = 1;

CREATE OR REPLACE FUNCTION dbops.analytics_pending_since(p_view_id smallint, p_now timestamptz DEFAULT now())
RETURNS timestamptz
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r dbops.analytics_relations;
  v_logged timestamptz;
  v_clock timestamptz;
  v_feed timestamptz;
BEGIN
  SELECT * INTO r FROM dbops.analytics_relations WHERE view_id = p_view_id;
  IF NOT FOUND THEN RETURN NULL; END IF;
  SELECT min(changed_at) INTO v_logged FROM dbops.analytics_changes WHERE view_id = p_view_id;
  IF r.clock_function IS NOT NULL AND r.clock_through IS NOT NULL AND r.clock_through < p_now THEN
    EXECUTE format('SELECT min(changed_at) FROM %s($1, $2)', r.clock_function) INTO v_clock USING r.clock_through, p_now;
  END IF;
  IF r.fed_by IS NOT NULL THEN
    v_feed := dbops.analytics_pending_since(r.fed_by, p_now);
  END IF;
  RETURN least(v_logged, v_clock, v_feed);
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- The rollup's writes carry their differences into mv_daily_post_metrics in the same statement:
-- the counts and sums of the changed rows (new rows added, old rows taken away) per bucket, the
-- share and the rate recomputed from the new totals, and a row left with no post published and
-- none measured deleted (the 040 definition has no such row). Only the refresh machinery writes
-- the rollup, one batch at a time under its advisory lock, so no two deltas race; a rebuild of
-- mv_daily_post_metrics is kept apart by its own lock (below).
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION dbops.analytics_post_days_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  -- The changed rollup rows, signed: +1 for what the statement wrote, -1 for what it replaced.
  v_rows text := CASE TG_OP WHEN 'INSERT' THEN 'SELECT 1 AS s, * FROM new_rows'
                            WHEN 'UPDATE' THEN 'SELECT 1 AS s, * FROM new_rows UNION ALL SELECT -1, * FROM old_rows'
                            ELSE 'SELECT -1 AS s, * FROM old_rows' END;
BEGIN
  -- mv_daily_post_metrics's own lock, held to commit: a full rebuild of it (which holds the same
  -- lock) either sees these deltas or runs before them, never overwrites them from an older snapshot.
  PERFORM pg_advisory_xact_lock(hashtext('dbops.analytics_refresh'), 1);
  -- Waiting for a full rebuild (from this rollup): deltas would land on rows about to be replaced.
  IF (SELECT needs_full FROM dbops.analytics_relations WHERE view_id = 1) THEN
    RETURN NULL;
  END IF;
  EXECUTE format($f$
    WITH d AS (
      SELECT x.workspace_id, x.day, x.platform, x.campaign_id,
             sum(x.s * (x.published_targets > 0)::int) AS posts_published,
             sum(x.s * (x.published_targets > 0 AND x.ai_generated)::int) AS ai_generated_posts,
             sum(x.s * (x.metric_rows > 0)::int) AS posts_with_metrics,
             sum(x.s * coalesce(x.impressions, 0)) AS impressions, sum(x.s * coalesce(x.reach, 0)) AS reach,
             sum(x.s * coalesce(x.likes, 0)) AS likes, sum(x.s * coalesce(x.comments, 0)) AS comments,
             sum(x.s * coalesce(x.shares, 0)) AS shares, sum(x.s * coalesce(x.saves, 0)) AS saves,
             sum(x.s * coalesce(x.clicks, 0)) AS clicks
        FROM (%s) x
       GROUP BY 1, 2, 3, 4
    )
    INSERT INTO public.mv_daily_post_metrics AS t
    SELECT d.workspace_id, d.day, d.platform, d.campaign_id, d.posts_published, d.ai_generated_posts,
           round(d.ai_generated_posts::numeric / nullif(d.posts_published, 0), 4),
           d.posts_with_metrics, d.impressions, d.reach, d.likes, d.comments, d.shares, d.saves, d.clicks,
           d.likes + d.comments + d.shares + d.saves,
           round((d.likes + d.comments + d.shares + d.saves)::numeric / nullif(d.impressions, 0), 6)
      FROM d
     WHERE (d.posts_published, d.ai_generated_posts, d.posts_with_metrics, d.impressions, d.reach, d.likes, d.comments,
            d.shares, d.saves, d.clicks) IS DISTINCT FROM (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    ON CONFLICT (workspace_id, day, platform, campaign_id) DO UPDATE SET
      posts_published = t.posts_published + excluded.posts_published,
      ai_generated_posts = t.ai_generated_posts + excluded.ai_generated_posts,
      ai_generated_share = round((t.ai_generated_posts + excluded.ai_generated_posts)::numeric
                                 / nullif(t.posts_published + excluded.posts_published, 0), 4),
      posts_with_metrics = t.posts_with_metrics + excluded.posts_with_metrics,
      impressions = t.impressions + excluded.impressions,
      reach = t.reach + excluded.reach,
      likes = t.likes + excluded.likes,
      comments = t.comments + excluded.comments,
      shares = t.shares + excluded.shares,
      saves = t.saves + excluded.saves,
      clicks = t.clicks + excluded.clicks,
      engagements = t.engagements + excluded.engagements,
      engagement_rate = round((t.engagements + excluded.engagements)::numeric / nullif(t.impressions + excluded.impressions, 0), 6)$f$,
    v_rows);
  EXECUTE format($f$
    DELETE FROM public.mv_daily_post_metrics t
     USING (SELECT DISTINCT x.workspace_id, x.day, x.platform, x.campaign_id FROM (%s) x) k
     WHERE t.workspace_id = k.workspace_id AND t.day = k.day AND t.platform = k.platform AND t.campaign_id = k.campaign_id
       AND t.posts_published = 0 AND t.posts_with_metrics = 0$f$,
    v_rows);
  RETURN NULL;
END;
$$;
CREATE TRIGGER analytics_post_days_insert AFTER INSERT ON dbops.analytics_post_days REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION dbops.analytics_post_days_apply();
CREATE TRIGGER analytics_post_days_update AFTER UPDATE ON dbops.analytics_post_days REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION dbops.analytics_post_days_apply();
CREATE TRIGGER analytics_post_days_delete AFTER DELETE ON dbops.analytics_post_days REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION dbops.analytics_post_days_apply();
REVOKE EXECUTE ON FUNCTION dbops.analytics_post_days_apply() FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- The sources log the rollup's posts (view 8) where they logged mv_daily_post_metrics buckets
-- (view 1, which nothing logs any more); everything else as 071
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
       SELECT 7, x.c, '-infinity'::date
         FROM (VALUES (o.campaign_id), (n.campaign_id)) x(c)
        WHERE o.campaign_id IS DISTINCT FROM n.campaign_id
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
       (7, o.campaign_id, '-infinity'::date),
       -- Its rollup rows go when the refresh finds the post gone.
       (8, o.id, '-infinity'::date)) b(view_id, key_id, day)
     WHERE b.key_id IS NOT NULL AND b.day IS NOT NULL;
  END IF;
  RETURN NULL;
END;
$$;

-- The statement trigger above now logs a deleted post's rollup; the row trigger that looked up
-- its days before the cascade is not needed.
DROP TRIGGER posts_analytics_before_delete ON public.posts;
DROP FUNCTION dbops.capture_post_delete();

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
      JOIN public.posts po ON po.id = c.old_post
      JOIN public.posts pn ON pn.id = c.new_post
     CROSS JOIN LATERAL (
       SELECT 8::smallint, x.post, '-infinity'::date FROM (VALUES (c.old_post), (c.new_post)) x(post)
       UNION ALL SELECT 6, x.post, '-infinity'::date FROM (VALUES (c.old_post), (c.new_post)) x(post)
       UNION ALL SELECT 7, x.c, '-infinity'::date FROM (VALUES (po.campaign_id), (pn.campaign_id)) x(c) WHERE c.old_post <> c.new_post
     ) b(view_id, key_id, day)
     WHERE b.key_id IS NOT NULL;
  END IF;
  RETURN NULL;
END;
$$;

-- Before a target goes (its metrics cascade after it): its post's totals and campaign. Its rollup
-- rows need only the post id, which the deleted row carries even when the post is going too.
CREATE OR REPLACE FUNCTION dbops.capture_post_target_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  INSERT INTO dbops.analytics_changes (view_id, key_id, day)
  SELECT b.view_id, b.key_id, b.day
    FROM (VALUES (8::smallint, OLD.post_id, '-infinity'::date)) b(view_id, key_id, day)
  UNION
  SELECT b.view_id, b.key_id, b.day
    FROM public.posts p
   CROSS JOIN LATERAL (VALUES (6::smallint, p.id, '-infinity'::date), (7, p.campaign_id, '-infinity'::date)) b(view_id, key_id, day)
   WHERE p.id = OLD.post_id AND b.key_id IS NOT NULL;
  RETURN OLD;
END;
$$;

-- A late metric row (a post published months ago) lands in its post's rollup, whose refresh
-- carries it into the metric day's bucket, whatever the day of the write.
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
     (6, CASE WHEN p.status = 'PUBLISHED' THEN p.id END, '-infinity'::date),
     (7, p.campaign_id, '-infinity'::date)) b(view_id, key_id, day)
   WHERE b.key_id IS NOT NULL;
  RETURN NULL;
END;
$$;

-- An account's platform (or workspace) change moves its targets' rollup rows and its
-- conversations' rows.
CREATE OR REPLACE FUNCTION dbops.capture_social_accounts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  WITH changed AS (
    SELECT n.id
      FROM old_rows o JOIN new_rows n ON n.id = o.id
     WHERE (o.platform, o.workspace_id) IS DISTINCT FROM (n.platform, n.workspace_id)
  )
  INSERT INTO dbops.analytics_changes (view_id, key_id, day)
  SELECT DISTINCT 8::smallint, pt.post_id, '-infinity'::date
    FROM changed a
    JOIN public.post_targets pt ON pt.social_account_id = a.id
  UNION
  SELECT 3::smallint, c.workspace_id, (c.created_at AT TIME ZONE 'UTC')::date
    FROM changed a JOIN public.conversations c ON c.social_account_id = a.id;
  RETURN NULL;
END;
$$;

-- Only the refresh machinery writes the rollup; the application has no business in dbops.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'platform_app') THEN
    REVOKE ALL ON dbops.analytics_post_days FROM platform_app;
  END IF;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- 070's batch, taking its buckets off the log in one index range instead of a join
-- ---------------------------------------------------------------------------------------------
-- Since the sources log posts for the rollup, a spec-rate hour leaves about 125,000 log rows for
-- it (one per post per 1,000-row statement). 070 took a batch with DELETE ... USING the picked
-- buckets, a join whose cost depends on the plan the log's statistics give it (autovacuum
-- analyzes the log at any point of its hourly fill and drain). In the benchmark one rollup batch
-- ran into the task's 5-minute statement timeout; the cause was not pinned down (a batch of the
-- same size on a copy of the data took 0.9 s, with sound plans). Now the batch is a prefix of the
-- log in its index order: the last bucket of the first p_batch (day, key) pairs bounds one range
-- DELETE, one pass whatever the plan.
CREATE OR REPLACE FUNCTION dbops.analytics_refresh_batch(p_view text, p_batch integer DEFAULT 500, p_now timestamptz DEFAULT NULL)
RETURNS TABLE (buckets integer, rows_changed bigint, more boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r dbops.analytics_relations;
  v_now timestamptz := coalesce(p_now, clock_timestamp());
  v_keys bigint[];
  v_days date[];
  v_last_day date;
  v_last_key bigint;
BEGIN
  IF p_batch IS NULL OR p_batch < 1 OR p_batch > 100000 THEN
    RAISE EXCEPTION 'batch size must be between 1 and 100000, got %', coalesce(p_batch::text, 'NULL') USING ERRCODE = '22023';
  END IF;
  r := dbops.analytics_relation(p_view);
  -- Two refreshes of one relation would recompute the same buckets from different snapshots.
  PERFORM pg_advisory_xact_lock(hashtext('dbops.analytics_refresh'), r.view_id);

  IF r.clock_function IS NOT NULL AND r.clock_through IS NOT NULL AND r.clock_through <> v_now THEN
    EXECUTE format('INSERT INTO dbops.analytics_changes (view_id, key_id, day, changed_at)
                    SELECT $1, key_id, day, changed_at FROM %s($2, $3)', r.clock_function)
      USING r.view_id, least(r.clock_through, v_now), greatest(r.clock_through, v_now);
  END IF;
  IF r.clock_function IS NOT NULL AND r.clock_through IS NOT NULL THEN
    UPDATE dbops.analytics_relations SET clock_through = v_now WHERE view_id = r.view_id;
  END IF;

  SELECT x.day, x.key_id INTO v_last_day, v_last_key
    FROM (SELECT DISTINCT l.day, l.key_id FROM dbops.analytics_changes l WHERE l.view_id = r.view_id
           ORDER BY l.day, l.key_id LIMIT p_batch) x
   ORDER BY x.day DESC, x.key_id DESC
   LIMIT 1;
  IF FOUND THEN
    WITH taken AS (
      DELETE FROM dbops.analytics_changes l
       WHERE l.view_id = r.view_id AND (l.day, l.key_id) <= (v_last_day, v_last_key)
      RETURNING l.key_id, l.day
    )
    SELECT array_agg(t.key_id), array_agg(t.day) INTO v_keys, v_days FROM (SELECT DISTINCT key_id, day FROM taken) t;
  END IF;

  buckets := coalesce(cardinality(v_keys), 0);
  rows_changed := 0;
  IF buckets > 0 THEN
    EXECUTE dbops.analytics_apply_sql(r.view_id) INTO rows_changed USING v_keys, v_days, v_now;
  END IF;
  more := EXISTS (SELECT 1 FROM dbops.analytics_changes l WHERE l.view_id = r.view_id);
  IF NOT more AND NOT r.needs_full AND r.populated_at IS NULL THEN
    UPDATE dbops.analytics_relations SET populated_at = clock_timestamp() WHERE view_id = r.view_id;
  END IF;
  RETURN NEXT;
END;
$$;
REVOKE EXECUTE ON FUNCTION dbops.analytics_refresh_batch(text, integer, timestamptz) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- Full rebuild (074) with the feed rules:
--   * a relation computed from another is not rebuilt from it while that one is unbuilt or awaits
--     its own rebuild (an empty or broken rollup would wipe mv_daily_post_metrics): refused, so
--     the task reports the failure and the relation keeps its rows;
--   * rebuilding a feeder marks what it feeds for a full rebuild in the same transaction: its
--     triggers then skip the deltas (a rollup restored after a TRUNCATE would otherwise be added
--     on top of what its dependant still holds), and the dependant is summed anew next, in
--     refresh order.
-- ---------------------------------------------------------------------------------------------
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
    IF f.needs_full OR f.populated_at IS NULL THEN
      RAISE EXCEPTION '% is summed from %, which is not built yet: rebuild % first (full=true rebuilds both, in order)',
        r.view_name, f.view_name, f.view_name USING ERRCODE = '55000';
    END IF;
  END IF;
  UPDATE dbops.analytics_relations SET needs_full = true WHERE fed_by = r.view_id;
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
REVOKE EXECUTE ON FUNCTION dbops.analytics_rebuild(text, timestamptz) FROM PUBLIC;

-- The next refresh run fills the rollup (a full rebuild; no deltas while mv_daily_post_metrics
-- waits for its own) and then rebuilds mv_daily_post_metrics as its sum. Readers keep the rows
-- they have until that diff replaces them.
UPDATE dbops.analytics_relations SET needs_full = true WHERE view_id IN (1, 8);
