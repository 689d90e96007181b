-- Change capture for the incremental analytics (070): after each statement on a source table,
-- one INSERT ... SELECT DISTINCT of the touched bucket keys into dbops.analytics_changes, read
-- from the statement's transition tables (REFERENCING NEW TABLE / OLD TABLE). A 1000-row batch
-- of mentions costs one small insert of its distinct (workspace, day) pairs, not a row trigger
-- per row. PostgreSQL allows transition tables on a partitioned table's own statement trigger
-- (they collect the rows of every partition), which is how listening_mentions is captured.
--
-- A transition-table trigger fires for one event only, so each table has three triggers on one
-- function that branches on TG_OP.
--
-- The functions run inside the application's writing transactions, as the application's
-- least-privilege role: SECURITY DEFINER (owner: the migration user) lets them append to the
-- dbops log and read the parent rows a bucket needs, with a pinned search_path.
--
-- Deletes that cascade: a cascaded child delete runs after its parent row is gone, so the child's
-- statement trigger can no longer find the parent's workspace. Deleting a post or a target is
-- rare, so a BEFORE DELETE row trigger on each logs the buckets of its children while they still
-- exist. TRUNCATE is not captured: after one, run the task with full=true.

-- ---------------------------------------------------------------------------------------------
-- posts: workspace activity (2), post engagement (6), campaign totals (7), daily post metrics (1)
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION dbops.capture_posts() RETURNS trigger
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
     ) b(view_id, key_id, day)
     WHERE b.key_id IS NOT NULL AND b.day IS NOT NULL;
    -- A post moved to another campaign (or workspace, or its AI flag fixed): every day its
    -- targets were published or measured, in the old and the new bucket.
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT DISTINCT 1::smallint, w.ws, d.day
      FROM old_rows o
      JOIN new_rows n ON n.id = o.id
      JOIN public.post_targets pt ON pt.post_id = n.id
     CROSS JOIN LATERAL (VALUES (o.workspace_id), (n.workspace_id)) w(ws)
     CROSS JOIN LATERAL (
       SELECT (pt.published_at AT TIME ZONE 'UTC')::date WHERE pt.status = 'published'
       UNION SELECT m.metric_date FROM public.post_metrics_daily m WHERE m.post_target_id = pt.id
     ) d(day)
     WHERE (o.campaign_id, o.ai_generated, o.workspace_id) IS DISTINCT FROM (n.campaign_id, n.ai_generated, n.workspace_id)
       AND d.day IS NOT NULL;
  ELSE
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT DISTINCT b.view_id, b.key_id, b.day
      FROM old_rows o
     CROSS JOIN LATERAL (VALUES
       (2::smallint, o.workspace_id, (o.created_at AT TIME ZONE 'UTC')::date),
       (2, o.workspace_id, (o.scheduled_at AT TIME ZONE 'UTC')::date),
       (2, o.workspace_id, (o.published_at AT TIME ZONE 'UTC')::date),
       (6, o.id, '-infinity'::date),
       (7, o.campaign_id, '-infinity'::date)) b(view_id, key_id, day)
     WHERE b.key_id IS NOT NULL AND b.day IS NOT NULL;
  END IF;
  RETURN NULL;
END;
$$;

-- Before a post goes, the days its targets were published or measured (its targets and their
-- metrics are about to be deleted by the cascade, after the post row is gone).
CREATE FUNCTION dbops.capture_post_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  INSERT INTO dbops.analytics_changes (view_id, key_id, day)
  SELECT DISTINCT 1::smallint, OLD.workspace_id, d.day
    FROM public.post_targets pt
   CROSS JOIN LATERAL (
     SELECT (pt.published_at AT TIME ZONE 'UTC')::date WHERE pt.status = 'published'
     UNION SELECT m.metric_date FROM public.post_metrics_daily m WHERE m.post_target_id = pt.id
   ) d(day)
   WHERE pt.post_id = OLD.id AND d.day IS NOT NULL;
  RETURN OLD;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- post_targets: daily post metrics (1), post engagement (6), campaign totals (7)
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION dbops.capture_post_targets() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT DISTINCT b.view_id, b.key_id, b.day
      FROM new_rows n
      JOIN public.posts p ON p.id = n.post_id
     CROSS JOIN LATERAL (VALUES
       (1::smallint, p.workspace_id, CASE WHEN n.status = 'published' THEN (n.published_at AT TIME ZONE 'UTC')::date END),
       (6, CASE WHEN p.status = 'PUBLISHED' THEN p.id END, '-infinity'::date)) b(view_id, key_id, day)
     WHERE b.key_id IS NOT NULL AND b.day IS NOT NULL;
  ELSIF TG_OP = 'UPDATE' THEN
    WITH changed AS (
      SELECT o.id, o.post_id AS old_post, n.post_id AS new_post, o.status AS old_status, n.status AS new_status,
             o.published_at AS old_published, n.published_at AS new_published,
             (o.post_id, o.social_account_id) IS DISTINCT FROM (n.post_id, n.social_account_id) AS moved
        FROM old_rows o JOIN new_rows n ON n.id = o.id
       WHERE (o.status, o.published_at, o.post_id, o.social_account_id) IS DISTINCT FROM (n.status, n.published_at, n.post_id, n.social_account_id)
    )
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT DISTINCT b.view_id, b.key_id, b.day
      FROM changed c
      JOIN public.posts po ON po.id = c.old_post
      JOIN public.posts pn ON pn.id = c.new_post
     CROSS JOIN LATERAL (
       SELECT 1::smallint, po.workspace_id, (c.old_published AT TIME ZONE 'UTC')::date WHERE c.old_status = 'published'
       UNION ALL SELECT 1, pn.workspace_id, (c.new_published AT TIME ZONE 'UTC')::date WHERE c.new_status = 'published'
       UNION ALL SELECT 1, x.ws, m.metric_date
         FROM public.post_metrics_daily m CROSS JOIN (VALUES (po.workspace_id), (pn.workspace_id)) x(ws)
        WHERE c.moved AND m.post_target_id = c.id
       UNION ALL SELECT 6, x.post, '-infinity'::date FROM (VALUES (c.old_post), (c.new_post)) x(post)
       UNION ALL SELECT 7, x.c, '-infinity'::date FROM (VALUES (po.campaign_id), (pn.campaign_id)) x(c) WHERE c.old_post <> c.new_post
     ) b(view_id, key_id, day)
     WHERE b.key_id IS NOT NULL AND b.day IS NOT NULL;
  END IF;
  RETURN NULL;
END;
$$;

-- Before a target goes: its publishing day and its metric days (the metrics cascade after it).
-- When the post itself is being deleted the post is already gone here, and capture_post_delete
-- logged these.
CREATE FUNCTION dbops.capture_post_target_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  INSERT INTO dbops.analytics_changes (view_id, key_id, day)
  SELECT DISTINCT b.view_id, b.key_id, b.day
    FROM public.posts p
   CROSS JOIN LATERAL (
     SELECT 1::smallint, p.workspace_id, (OLD.published_at AT TIME ZONE 'UTC')::date WHERE OLD.status = 'published'
     UNION ALL SELECT 1, p.workspace_id, m.metric_date FROM public.post_metrics_daily m WHERE m.post_target_id = OLD.id
     UNION ALL SELECT 6, p.id, '-infinity'::date
     UNION ALL SELECT 7, p.campaign_id, '-infinity'::date
   ) b(view_id, key_id, day)
   WHERE p.id = OLD.post_id AND b.key_id IS NOT NULL AND b.day IS NOT NULL;
  RETURN OLD;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- post_metrics_daily: daily post metrics (1) by metric day, post engagement (6), campaign (7)
-- ---------------------------------------------------------------------------------------------
-- A late metric row (a post published months ago) lands in its own metric day's bucket and in
-- its post's totals, whatever the day of the write.
CREATE FUNCTION dbops.capture_post_metrics() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_targets bigint[];
  v_days date[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(post_target_id), array_agg(metric_date) INTO v_targets, v_days
      FROM (SELECT DISTINCT post_target_id, metric_date FROM new_rows) r;
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT array_agg(post_target_id), array_agg(metric_date) INTO v_targets, v_days
      FROM (SELECT post_target_id, metric_date FROM old_rows UNION SELECT post_target_id, metric_date FROM new_rows) r;
  ELSE
    SELECT array_agg(post_target_id), array_agg(metric_date) INTO v_targets, v_days
      FROM (SELECT DISTINCT post_target_id, metric_date FROM old_rows) r;
  END IF;
  INSERT INTO dbops.analytics_changes (view_id, key_id, day)
  SELECT DISTINCT b.view_id, b.key_id, b.day
    FROM unnest(v_targets, v_days) AS m(post_target_id, metric_date)
    JOIN public.post_targets pt ON pt.id = m.post_target_id
    JOIN public.posts p ON p.id = pt.post_id
   CROSS JOIN LATERAL (VALUES
     (1::smallint, p.workspace_id, m.metric_date),
     (6, CASE WHEN p.status = 'PUBLISHED' THEN p.id END, '-infinity'::date),
     (7, p.campaign_id, '-infinity'::date)) b(view_id, key_id, day)
   WHERE b.key_id IS NOT NULL;
  RETURN NULL;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- social_accounts: a platform (or workspace) change moves its targets' and conversations' rows
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION dbops.capture_social_accounts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  WITH changed AS (
    SELECT n.id, o.workspace_id AS old_ws, n.workspace_id AS new_ws
      FROM old_rows o JOIN new_rows n ON n.id = o.id
     WHERE (o.platform, o.workspace_id) IS DISTINCT FROM (n.platform, n.workspace_id)
  )
  INSERT INTO dbops.analytics_changes (view_id, key_id, day)
  SELECT DISTINCT 1::smallint, p.workspace_id, d.day
    FROM changed a
    JOIN public.post_targets pt ON pt.social_account_id = a.id
    JOIN public.posts p ON p.id = pt.post_id
   CROSS JOIN LATERAL (
     SELECT (pt.published_at AT TIME ZONE 'UTC')::date WHERE pt.status = 'published'
     UNION SELECT m.metric_date FROM public.post_metrics_daily m WHERE m.post_target_id = pt.id
   ) d(day)
   WHERE d.day IS NOT NULL
  UNION
  SELECT 3::smallint, c.workspace_id, (c.created_at AT TIME ZONE 'UTC')::date
    FROM changed a JOIN public.conversations c ON c.social_account_id = a.id;
  RETURN NULL;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- conversations (3) by workspace and UTC day opened
-- ---------------------------------------------------------------------------------------------
-- Inbox activity that the metrics do not read (last_message_at, assignee, tags, priority) is
-- filtered out, so a new message bumping last_message_at logs nothing.
CREATE FUNCTION dbops.capture_conversations() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT DISTINCT 3::smallint, workspace_id, (created_at AT TIME ZONE 'UTC')::date FROM new_rows;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT DISTINCT 3::smallint, x.ws, (x.at AT TIME ZONE 'UTC')::date
      FROM old_rows o
      JOIN new_rows n ON n.id = o.id
     CROSS JOIN LATERAL (VALUES (o.workspace_id, o.created_at), (n.workspace_id, n.created_at)) x(ws, at)
     WHERE (o.workspace_id, o.social_account_id, o.type, o.status, o.sentiment, o.created_at, o.first_response_at,
            o.resolved_at, o.first_response_due_at, o.resolution_due_at)
           IS DISTINCT FROM
           (n.workspace_id, n.social_account_id, n.type, n.status, n.sentiment, n.created_at, n.first_response_at,
            n.resolved_at, n.first_response_due_at, n.resolution_due_at);
  ELSE
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT DISTINCT 3::smallint, workspace_id, (created_at AT TIME ZONE 'UTC')::date FROM old_rows;
  END IF;
  RETURN NULL;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- listening_mentions (4), the hot ingest path: one DISTINCT over the batch, no lookups
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION dbops.capture_listening_mentions() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT DISTINCT 4::smallint, workspace_id, (published_at AT TIME ZONE 'UTC')::date FROM new_rows;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT 4::smallint, workspace_id, (published_at AT TIME ZONE 'UTC')::date FROM old_rows
     UNION SELECT 4::smallint, workspace_id, (published_at AT TIME ZONE 'UTC')::date FROM new_rows;
  ELSE
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT DISTINCT 4::smallint, workspace_id, (published_at AT TIME ZONE 'UTC')::date FROM old_rows;
  END IF;
  RETURN NULL;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- influencers, their accounts and collaborations (5) by influencer
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION dbops.capture_influencers() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO dbops.analytics_changes (view_id, key_id, day) SELECT DISTINCT 5::smallint, id, '-infinity'::date FROM new_rows;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT 5::smallint, id, '-infinity'::date FROM old_rows UNION SELECT 5::smallint, id, '-infinity'::date FROM new_rows;
  ELSE
    INSERT INTO dbops.analytics_changes (view_id, key_id, day) SELECT DISTINCT 5::smallint, id, '-infinity'::date FROM old_rows;
  END IF;
  RETURN NULL;
END;
$$;

CREATE FUNCTION dbops.capture_influencer_children() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO dbops.analytics_changes (view_id, key_id, day) SELECT DISTINCT 5::smallint, influencer_id, '-infinity'::date FROM new_rows;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO dbops.analytics_changes (view_id, key_id, day)
    SELECT 5::smallint, influencer_id, '-infinity'::date FROM old_rows UNION SELECT 5::smallint, influencer_id, '-infinity'::date FROM new_rows;
  ELSE
    INSERT INTO dbops.analytics_changes (view_id, key_id, day) SELECT DISTINCT 5::smallint, influencer_id, '-infinity'::date FROM old_rows;
  END IF;
  RETURN NULL;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- The triggers
-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
  t record;
BEGIN
  FOR t IN SELECT * FROM (VALUES
      ('posts', 'capture_posts', true, true, true),
      ('post_targets', 'capture_post_targets', true, true, false),
      ('post_metrics_daily', 'capture_post_metrics', true, true, true),
      ('social_accounts', 'capture_social_accounts', false, true, false),
      ('conversations', 'capture_conversations', true, true, true),
      ('listening_mentions', 'capture_listening_mentions', true, true, true),
      ('influencers', 'capture_influencers', true, true, true),
      ('influencer_accounts', 'capture_influencer_children', true, true, true),
      ('influencer_collaborations', 'capture_influencer_children', true, true, true)) AS x(tbl, fn, ins, upd, del)
  LOOP
    IF t.ins THEN
      EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON public.%I REFERENCING NEW TABLE AS new_rows
                      FOR EACH STATEMENT EXECUTE FUNCTION dbops.%I()', t.tbl || '_analytics_insert', t.tbl, t.fn);
    END IF;
    IF t.upd THEN
      EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON public.%I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                      FOR EACH STATEMENT EXECUTE FUNCTION dbops.%I()', t.tbl || '_analytics_update', t.tbl, t.fn);
    END IF;
    IF t.del THEN
      EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON public.%I REFERENCING OLD TABLE AS old_rows
                      FOR EACH STATEMENT EXECUTE FUNCTION dbops.%I()', t.tbl || '_analytics_delete', t.tbl, t.fn);
    END IF;
    EXECUTE format('REVOKE EXECUTE ON FUNCTION dbops.%I() FROM PUBLIC', t.fn);
  END LOOP;
END;
$$;

CREATE TRIGGER posts_analytics_before_delete BEFORE DELETE ON public.posts
  FOR EACH ROW EXECUTE FUNCTION dbops.capture_post_delete();
CREATE TRIGGER post_targets_analytics_before_delete BEFORE DELETE ON public.post_targets
  FOR EACH ROW EXECUTE FUNCTION dbops.capture_post_target_delete();
REVOKE EXECUTE ON FUNCTION dbops.capture_post_delete() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION dbops.capture_post_target_delete() FROM PUBLIC;
