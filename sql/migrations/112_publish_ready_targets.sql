-- Each publish_ready entry carries its post's pending targets, so the claim reads no post_targets.
--
-- Since 107 the claim read the batch's pending targets along post_targets_post_pending_idx: one
-- index descent per post. On a 200,000-post copy, the claim of 50 rolled back, alternated 1,000 at
-- a time: p50 0.83-1.36 ms with the read, 0.73-1.16 without (pgbench, whole transaction); through
-- node-postgres 1.23-1.71 and 1.05-1.48. The target list of a post nobody holds changes only when
-- its targets are edited, so it is kept with the entry instead: computed when the entry is made (publish_ready_add, publish_ready_move: a post queued or its
-- lease ended), refreshed when an unheld post's targets change (publish_ready_retarget, after each
-- statement on post_targets), and handed out by the claim from the rows it deletes.
--
-- An edit of the targets that commits while an entry is being made, by a transaction that cannot
-- see the entry yet, can leave the entry with the list as of before the edit, until the post is
-- claimed: a target added then is published late (the worker leaves it unreported, the post keeps
-- its lease until release-stuck-claims requeues it, listed afresh), a target removed then is still
-- handed out. That is the race the claim's own read of post_targets had before 112 with an edit
-- concurrent to the claim. Locking the pending targets FOR SHARE while making an entry closes it,
-- but the lock stays on every target until its publish: in the benchmark's order (a burst handed
-- out, handed back, drained through the lifecycle) 30,000 posts took 0.429 ms of server CPU each
-- with the lock, 0.361-0.363 without, 0.377-0.388 before 112.

-- The pending targets of one post. PL/pgSQL so a session plans the read once: as a SQL function,
-- handing back 30,000 leases took 3.5-4.3 s instead of 1.2. Volatile, so each call reads what has
-- committed by then: a refresh that waited on another's row lock must not write the list it saw before.
CREATE FUNCTION public.publish_pending_targets(p_post_id bigint, OUT target_ids bigint[], OUT account_ids bigint[])
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  SELECT coalesce(array_agg(pt.id ORDER BY pt.id), '{}'), coalesce(array_agg(pt.social_account_id ORDER BY pt.id), '{}')
    INTO target_ids, account_ids
    FROM public.post_targets pt
   WHERE pt.post_id = p_post_id AND pt.status = 'pending';
END;
$$;

-- After each statement on post_targets: the unheld posts whose pending targets it changed get
-- their entries' lists again. Held posts (a report settling targets) have no entry and cost a
-- primary-key probe each.
CREATE FUNCTION public.publish_ready_retarget() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_posts bigint[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    v_posts := ARRAY(SELECT DISTINCT n.post_id FROM new_rows n WHERE n.status = 'pending');
  ELSIF TG_OP = 'DELETE' THEN
    v_posts := ARRAY(SELECT DISTINCT o.post_id FROM old_rows o WHERE o.status = 'pending');
  ELSE
    v_posts := ARRAY(
      SELECT DISTINCT p.post_id
        FROM old_rows o
        JOIN new_rows n ON n.id = o.id
       CROSS JOIN LATERAL (VALUES (o.post_id), (n.post_id)) AS p (post_id)
       WHERE (o.status = 'pending' OR n.status = 'pending')
         AND (o.status, o.post_id, o.social_account_id) IS DISTINCT FROM (n.status, n.post_id, n.social_account_id));
  END IF;
  IF cardinality(v_posts) > 0 THEN
    UPDATE public.publish_ready r
       SET (target_ids, account_ids) = (SELECT t.target_ids, t.account_ids FROM public.publish_pending_targets(r.post_id) t)
      FROM public.publish_queue q
     WHERE q.post_id = ANY (v_posts)
       AND q.lease_token IS NULL
       AND r.due_at = q.due_at AND r.post_id = q.post_id;
  END IF;
  RETURN NULL;
END;
$$;

-- First the triggers on post_targets (from here its writers wait for this transaction), then
-- publish_ready: a report holding post_targets may still write publish_ready through the queue
-- triggers before this migration locks it, so the two never wait on each other.
CREATE TRIGGER post_targets_publish_ready_insert AFTER INSERT ON public.post_targets
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.publish_ready_retarget();
CREATE TRIGGER post_targets_publish_ready_update AFTER UPDATE ON public.post_targets
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.publish_ready_retarget();
CREATE TRIGGER post_targets_publish_ready_delete AFTER DELETE ON public.post_targets
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.publish_ready_retarget();

ALTER TABLE public.publish_ready ADD COLUMN target_ids bigint[], ADD COLUMN account_ids bigint[];
COMMENT ON COLUMN public.publish_ready.target_ids IS
  'publishing queue: the post''s pending targets, in id order, handed out by the claim (112)';
COMMENT ON COLUMN public.publish_ready.account_ids IS
  'publishing queue: the social account of each of target_ids, in the same order (112)';

-- An entry made or remade always carries the list as of now, an existing one included.
CREATE OR REPLACE FUNCTION public.publish_ready_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.publish_ready AS r (due_at, post_id, target_ids, account_ids)
  SELECT NEW.due_at, NEW.post_id, t.target_ids, t.account_ids FROM public.publish_pending_targets(NEW.post_id) t
  ON CONFLICT ON CONSTRAINT publish_ready_pkey DO UPDATE SET target_ids = EXCLUDED.target_ids, account_ids = EXCLUDED.account_ids;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION public.publish_ready_move() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.lease_token IS NULL THEN
    DELETE FROM public.publish_ready r WHERE r.due_at = OLD.due_at AND r.post_id = OLD.post_id;
  END IF;
  INSERT INTO public.publish_ready AS r (due_at, post_id, target_ids, account_ids)
  SELECT NEW.due_at, NEW.post_id, t.target_ids, t.account_ids FROM public.publish_pending_targets(NEW.post_id) t
  ON CONFLICT ON CONSTRAINT publish_ready_pkey DO UPDATE SET target_ids = EXCLUDED.target_ids, account_ids = EXCLUDED.account_ids;
  RETURN NULL;
END;
$$;

-- Every entry today. post_targets' writers wait on the triggers' lock and publish_queue's on the
-- ALTER's until commit, so no list changes meanwhile.
UPDATE public.publish_ready r
   SET (target_ids, account_ids) = (SELECT t.target_ids, t.account_ids FROM public.publish_pending_targets(r.post_id) t);
ALTER TABLE public.publish_ready ALTER COLUMN target_ids SET NOT NULL, ALTER COLUMN account_ids SET NOT NULL;

-- The claim: 110's, its targets from the entries it takes.
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
  -- (by ctid: the row lock keeps it) with their targets. Each is leased only if its queue row is
  -- still unheld; the UPDATE locks the row and rechecks that after any wait. A HOT update: no index
  -- covers the lease columns. Each lease gets a fresh token that complete and fail must present.
  RETURN QUERY
  WITH picked AS (
    DELETE FROM public.publish_ready r
     WHERE r.ctid = ANY (ARRAY(
             SELECT x.ctid FROM public.publish_ready x
              WHERE x.due_at <= v_due
              ORDER BY x.due_at, x.post_id
              LIMIT p_batch_size
                FOR UPDATE SKIP LOCKED))
    RETURNING r.post_id, r.target_ids, r.account_ids
  ), leased AS (
    UPDATE public.publish_queue q
       SET lease_token = nextval('public.publish_queue_lease_token_seq'),
           leased_by = p_worker_id,
           lease_until = now() + make_interval(secs => p_lease_seconds),
           claims = q.claims + 1
     WHERE q.post_id = ANY (ARRAY(SELECT picked.post_id FROM picked))
       AND q.lease_token IS NULL
    RETURNING q.post_id, q.lease_token, q.lease_until, q.claims, q.scheduled_at
  )
  SELECT l.post_id, l.lease_token, l.lease_until, l.claims, l.scheduled_at, p.target_ids, p.account_ids
    FROM leased l
    JOIN picked p ON p.post_id = l.post_id;
END;
$$;

COMMENT ON INDEX public.post_targets_post_pending_idx IS
  'publishing queue: a post''s pending targets with their accounts, for its publish_ready entry (public.publish_pending_targets, 112)';

REVOKE EXECUTE ON FUNCTION public.publish_pending_targets(bigint), public.publish_ready_retarget() FROM PUBLIC;
DO $$
BEGIN
  -- The application's writes of post_targets and of the queue fire these.
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'platform_app') THEN
    GRANT EXECUTE ON FUNCTION public.publish_pending_targets(bigint), public.publish_ready_retarget() TO platform_app;
  END IF;
END;
$$;
