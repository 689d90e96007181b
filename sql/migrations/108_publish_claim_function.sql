-- The claim as a function, so a worker's session plans it once.
--
-- scheduled_post_claim.sql sent the claim as a statement of its own, planned on every call: 0.5 ms
-- of its 3.2 ms p95 on the medium data was planning, for a statement whose plan never changes (due
-- posts oldest first along publish_queue_due_idx, a batch's targets by post). In PL/pgSQL its plan
-- is cached for the session, and force_generic_plan keeps the planner from trying a custom plan
-- per call first. A function rather than a prepared statement: the plan lives in the server
-- session whatever the client, and RDS Proxy need not pin a connection to keep one.
-- Same statement, same rows as 080's claim; the pending targets come from 107's index.
CREATE FUNCTION public.publish_claim(p_due_before timestamptz, p_batch_size integer, p_worker_id text, p_lease_seconds double precision)
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
  -- Due posts oldest first, skipping the ones other workers hold or are locking right now; each
  -- leased row is a HOT update (no index covers the lease columns), with a fresh token that
  -- complete and fail must present.
  RETURN QUERY
  WITH picked AS (
    SELECT q.post_id
      FROM public.publish_queue q
     WHERE q.due_at <= v_due
       AND q.lease_token IS NULL
     ORDER BY q.due_at
     LIMIT p_batch_size
       FOR UPDATE SKIP LOCKED
  ), leased AS (
    UPDATE public.publish_queue q
       SET lease_token = nextval('public.publish_queue_lease_token_seq'),
           leased_by = p_worker_id,
           lease_until = now() + make_interval(secs => p_lease_seconds),
           claims = q.claims + 1
     WHERE q.post_id = ANY (ARRAY(SELECT picked.post_id FROM picked))
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
COMMENT ON FUNCTION public.publish_claim(timestamptz, integer, text, double precision) IS
  'publishing queue: lease up to p_batch_size posts due by p_due_before (NULL: now), oldest first, with their pending targets (scheduled_post_claim.sql)';

REVOKE EXECUTE ON FUNCTION public.publish_claim(timestamptz, integer, text, double precision) FROM PUBLIC;
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'platform_app') THEN
    GRANT EXECUTE ON FUNCTION public.publish_claim(timestamptz, integer, text, double precision) TO platform_app;
  END IF;
END;
$$;
