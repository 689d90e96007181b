-- The posts a claim may take live in a table of their own, so a claim is a HOT update again.
--
-- 109 gave the claim an index of unheld rows only, (due_at) WHERE lease_token IS NULL. That spared
-- each claim from reading the held rows, but a column in an index predicate counts as indexed:
-- the claim stopped being HOT and wrote a primary-key and a (due_at) entry for every post it
-- leased. The claim of 50 alone went from p95 1.91 to 2.41 ms on the medium benchmark data (its
-- goal is 2 ms).
--
-- Here the unheld rows are listed in publish_ready, (due_at, post_id) and nothing else. A claim
-- deletes the rows it picks from there (a delete writes no index entry) and leases the matching
-- publish_queue rows with a HOT update: no index covers the lease columns once 111 drops 109's
-- index. On a 200,000-post copy, 400 claims of 50 each, rolled back: p50/p95 1.33-1.68/1.75-2.69 ms
-- with 109's index, 0.98/1.26-1.44 ms this way.
--
-- publish_queue stays the truth; publish_ready is a list of candidates. Triggers on publish_queue
-- add a row when a queue row is inserted unheld or its lease ends (release, requeue, a retry's
-- backoff), move it when an unheld row's due_at changes, and remove it when an unheld row goes.
-- The claim is the one writer that leases, and it removes its rows itself, so no trigger runs on
-- the claim's path, nor on the delete of a held row that finishes a post. The claim leases a
-- candidate only if its queue row is still unheld (a row lock and a recheck), so a candidate left
-- behind by any other path costs one claim one row, never a double lease; and every path that
-- makes a row claimable goes through the triggers, so no unheld post is ever left unlisted.
CREATE TABLE public.publish_ready (
  due_at  timestamptz NOT NULL,
  post_id bigint NOT NULL,
  -- The claim's walk, oldest first; also what the triggers delete by. A primary key so that
  -- logical replication (a blue/green deployment) can replicate the claim's deletes.
  CONSTRAINT publish_ready_pkey PRIMARY KEY (due_at, post_id)
) WITH (
  -- Insert and delete only: vacuum by row count, as publish_queue.
  autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
  autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 5000,
  autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 5000
);
COMMENT ON TABLE public.publish_ready IS
  'publishing queue: the unheld publish_queue rows a claim may take, kept by triggers on publish_queue; the claim deletes what it leases';
COMMENT ON INDEX public.publish_ready_pkey IS
  'publishing queue: claim unheld due posts oldest first (scheduled_post_claim.sql, public.publish_claim)';

-- One job per case; each trigger's WHEN says when it runs.
CREATE FUNCTION public.publish_ready_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.publish_ready (due_at, post_id) VALUES (NEW.due_at, NEW.post_id) ON CONFLICT DO NOTHING;
  RETURN NULL;
END;
$$;

CREATE FUNCTION public.publish_ready_remove() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM public.publish_ready r WHERE r.due_at = OLD.due_at AND r.post_id = OLD.post_id;
  RETURN NULL;
END;
$$;

CREATE FUNCTION public.publish_ready_move() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.lease_token IS NULL THEN
    DELETE FROM public.publish_ready r WHERE r.due_at = OLD.due_at AND r.post_id = OLD.post_id;
  END IF;
  INSERT INTO public.publish_ready (due_at, post_id) VALUES (NEW.due_at, NEW.post_id) ON CONFLICT DO NOTHING;
  RETURN NULL;
END;
$$;

CREATE TRIGGER publish_queue_ready_insert AFTER INSERT ON public.publish_queue
  FOR EACH ROW WHEN (NEW.lease_token IS NULL) EXECUTE FUNCTION public.publish_ready_add();
-- A lease ends (release, requeue, retry backoff) or an unheld row is rescheduled. Not the claim:
-- its new lease_token is not NULL.
CREATE TRIGGER publish_queue_ready_update AFTER UPDATE OF lease_token, due_at ON public.publish_queue
  FOR EACH ROW WHEN (NEW.lease_token IS NULL AND (OLD.lease_token IS NOT NULL OR OLD.due_at IS DISTINCT FROM NEW.due_at))
  EXECUTE FUNCTION public.publish_ready_move();
-- An unheld row goes (a cancelled or deleted post). Not a finished post: its row is held.
CREATE TRIGGER publish_queue_ready_delete AFTER DELETE ON public.publish_queue
  FOR EACH ROW WHEN (OLD.lease_token IS NULL) EXECUTE FUNCTION public.publish_ready_remove();

-- Every unheld row today. In this migration's transaction, after the triggers: the trigger DDL
-- holds publish_queue against writers until commit, so no row is missed or listed twice.
INSERT INTO public.publish_ready (due_at, post_id)
SELECT q.due_at, q.post_id FROM public.publish_queue q WHERE q.lease_token IS NULL
ON CONFLICT DO NOTHING;

-- The claim: 108's contract (arguments, checks, rows), the candidates from publish_ready.
CREATE OR REPLACE FUNCTION public.publish_claim(p_due_before timestamptz, p_batch_size integer, p_worker_id text, p_lease_seconds double precision)
RETURNS TABLE (post_id bigint, lease_token bigint, lease_until timestamptz, attempt integer, scheduled_at timestamptz,
               target_ids bigint[], account_ids bigint[])
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  -- NULL: due by the database's clock.
  v_due timestamptz := coalesce(p_due_before, now());
BEGIN
  IF p_batch_size IS NULL OR p_batch_size NOT BETWEEN 1 AND 1000 THEN
    RAISE EXCEPTION 'publish_claim: batch size must be 1-1000, got %', coalesce(p_batch_size::text, 'NULL') USING ERRCODE = '22023';
  END IF;
  IF p_worker_id IS NULL OR btrim(p_worker_id) = '' OR char_length(p_worker_id) > 200 THEN
    RAISE EXCEPTION 'publish_claim: worker id must be 1-200 characters' USING ERRCODE = '22023';
  END IF;
  IF p_lease_seconds IS NULL OR NOT (p_lease_seconds BETWEEN 1 AND 3600) THEN
    RAISE EXCEPTION 'publish_claim: lease must be 1-3600 seconds, got %', coalesce(p_lease_seconds::text, 'NULL') USING ERRCODE = '22023';
  END IF;
  -- Candidates oldest first, skipping those another claim is taking right now, taken off the list
  -- (by ctid: the row lock keeps it). Each is leased only if its queue row is still unheld; the
  -- UPDATE locks the row and rechecks that after any wait. A HOT update: no index covers the lease
  -- columns. Each lease gets a fresh token that complete and fail must present.
  RETURN QUERY
  WITH picked AS (
    DELETE FROM public.publish_ready r
     WHERE r.ctid = ANY (ARRAY(
             SELECT x.ctid FROM public.publish_ready x
              WHERE x.due_at <= v_due
              ORDER BY x.due_at, x.post_id
              LIMIT p_batch_size
                FOR UPDATE SKIP LOCKED))
    RETURNING r.post_id
  ), leased AS (
    UPDATE public.publish_queue q
       SET lease_token = nextval('public.publish_queue_lease_token_seq'),
           leased_by = p_worker_id,
           lease_until = now() + make_interval(secs => p_lease_seconds),
           claims = q.claims + 1
     WHERE q.post_id = ANY (ARRAY(SELECT picked.post_id FROM picked))
       AND q.lease_token IS NULL
    RETURNING q.post_id, q.lease_token, q.lease_until, q.claims, q.scheduled_at
  ), pending AS (
    -- One scan for the whole batch, grouped by post; index-only along 107's index.
    SELECT pt.post_id, array_agg(pt.id ORDER BY pt.id) AS target_ids, array_agg(pt.social_account_id ORDER BY pt.id) AS account_ids
      FROM public.post_targets pt
     WHERE pt.post_id = ANY (ARRAY(SELECT leased.post_id FROM leased))
       AND pt.status = 'pending'
     GROUP BY pt.post_id
  )
  SELECT l.post_id, l.lease_token, l.lease_until, l.claims, l.scheduled_at,
         coalesce(t.target_ids, '{}'::bigint[]), coalesce(t.account_ids, '{}'::bigint[])
    FROM leased l
    LEFT JOIN pending t ON t.post_id = l.post_id;
END;
$$;

REVOKE EXECUTE ON FUNCTION public.publish_ready_add(), public.publish_ready_remove(), public.publish_ready_move() FROM PUBLIC;
DO $$
BEGIN
  -- The application claims (a delete here, FOR UPDATE needs UPDATE) and its queue writes fire the triggers.
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'platform_app') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON public.publish_ready TO platform_app;
    GRANT EXECUTE ON FUNCTION public.publish_ready_add(), public.publish_ready_remove(), public.publish_ready_move() TO platform_app;
  END IF;
END;
$$;
