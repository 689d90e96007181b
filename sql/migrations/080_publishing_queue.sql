-- The publishing queue's state lives in a narrow table of its own, not in posts.
--
-- posts carries 15 indexes, and the old claim (status SCHEDULED -> PUBLISHING, claimed_at,
-- claimed_by, publish_attempts) touched indexed columns, so every claimed post wrote a new entry
-- into each of them. publish_queue has one row per post waiting to be published, two small indexes,
-- and the claim changes only columns no index covers (lease_token, leased_by, lease_until, claims):
-- with fillfactor 70 it is a HOT update on the same page, no index write at all.
--
-- posts.status still tells every reader where a post is, changed once per lifecycle transition:
--   SCHEDULED   queued (held by a worker or not; publish_queue says which),
--   PUBLISHING  at least one target is live, others still pending (a retry is waiting),
--   PUBLISHED   every target finished and at least one was published,
--   FAILED      every target finished and none was published.
-- A claim does not write posts; nor does a retry after the first success.
--
-- Fencing: each claim draws a new lease_token. complete and fail must present it; a report with a
-- token that is no longer the post's current one (its lease was requeued, or another worker
-- re-claimed the post) changes nothing. A report on an expired lease that nobody has superseded
-- yet is accepted: it is still the only attempt, and refusing it would only cause a second publish.

CREATE SEQUENCE public.publish_queue_lease_token_seq AS bigint CACHE 100;

CREATE TABLE public.publish_queue (
  post_id       bigint PRIMARY KEY REFERENCES public.posts (id) ON DELETE CASCADE,
  -- When the post was due; never changes while queued. Lag and success rate are measured from it.
  scheduled_at  timestamptz NOT NULL,
  -- When the next attempt may start: scheduled_at, later a retry's backoff.
  due_at        timestamptz NOT NULL,
  lease_token   bigint,
  leased_by     text CHECK (char_length(leased_by) <= 200),
  lease_until   timestamptz,
  -- Backoff of the targets that failed in the current lease; becomes due_at when the lease ends.
  retry_at      timestamptz,
  claims        integer NOT NULL DEFAULT 0 CHECK (claims >= 0),
  retries       integer NOT NULL DEFAULT 0 CHECK (retries >= 0),
  CONSTRAINT publish_queue_lease_complete CHECK ((lease_token IS NULL) = (lease_until IS NULL) AND (lease_token IS NULL) = (leased_by IS NULL))
) WITH (
  fillfactor = 70,
  -- A queue is all updates and deletes: vacuum often, by row count, not by table share.
  autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
  autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 5000
);
COMMENT ON TABLE public.publish_queue IS
  'publishing queue: one row per SCHEDULED or PUBLISHING post, kept by triggers on posts; claims lease rows here, never update posts';

-- The claim walks this oldest first and skips held rows (lease_token is not indexed, so a claim
-- stays HOT; the rows it skips are the few hundred in flight). Lag, requeue and release scan the
-- due range too: every held row is due, since only due rows are claimed.
CREATE INDEX publish_queue_due_idx ON public.publish_queue (due_at);
COMMENT ON INDEX public.publish_queue_due_idx IS
  'publishing queue: claim due posts oldest first (scheduled_post_claim.sql), stuck-lease requeue, worker release, queue lag';
-- retries changes only on a failure, so this predicate does not cost the claim its HOT update.
CREATE INDEX publish_queue_retry_idx ON public.publish_queue (due_at) WHERE retries > 0;
COMMENT ON INDEX public.publish_queue_retry_idx IS
  'publishing queue: posts waiting for a retry after a transient failure (PublishRetryBacklog)';

-- Finished lifecycles, one row per post (the latest if a failed post was scheduled again): the
-- success rate is read from here by due time, without scanning posts.
CREATE TABLE public.publish_outcomes (
  post_id            bigint PRIMARY KEY,
  scheduled_at       timestamptz NOT NULL,
  finished_at        timestamptz NOT NULL DEFAULT now(),
  outcome            text NOT NULL CHECK (outcome IN ('published', 'failed')),
  claims             integer NOT NULL CHECK (claims >= 0),
  published_targets  integer NOT NULL CHECK (published_targets >= 0),
  failed_targets     integer NOT NULL CHECK (failed_targets >= 0)
);
CREATE INDEX publish_outcomes_scheduled_idx ON public.publish_outcomes (scheduled_at);
COMMENT ON INDEX public.publish_outcomes_scheduled_idx IS
  'publishing queue: outcomes of posts due in a window (PublishSuccessRate), and the retention delete';

-- Which lease last reported on a target: a target is "reported in this lease" when it carries the
-- lease's token, so the post's lease ends when no pending target is left unreported.
ALTER TABLE public.post_targets ADD COLUMN last_lease_token bigint;

-- ---------------------------------------------------------------------------------------------
-- posts -> publish_queue: whoever writes posts, a SCHEDULED post is queued and a post that leaves
-- the publishing states leaves the queue.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION public.publish_queue_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'SCHEDULED' THEN
    INSERT INTO public.publish_queue AS q (post_id, scheduled_at, due_at)
    VALUES (NEW.id, NEW.scheduled_at, NEW.scheduled_at)
    ON CONFLICT (post_id) DO UPDATE
      SET scheduled_at = EXCLUDED.scheduled_at, due_at = EXCLUDED.due_at
      WHERE q.scheduled_at IS DISTINCT FROM EXCLUDED.scheduled_at;
  ELSIF NEW.status <> 'PUBLISHING' THEN
    DELETE FROM public.publish_queue WHERE post_id = NEW.id;
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER posts_publish_queue_insert AFTER INSERT ON public.posts
  FOR EACH ROW WHEN (NEW.status = 'SCHEDULED') EXECUTE FUNCTION public.publish_queue_sync();
CREATE TRIGGER posts_publish_queue_update AFTER UPDATE OF status, scheduled_at ON public.posts
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.scheduled_at IS DISTINCT FROM NEW.scheduled_at)
  EXECUTE FUNCTION public.publish_queue_sync();

-- Posts already SCHEDULED (a deployed database, the benchmark's loaded data) join the queue.
-- A PUBLISHING post claimed the old way is queued as due, unheld: its claim had no lease.
INSERT INTO public.publish_queue (post_id, scheduled_at, due_at)
SELECT id, coalesce(scheduled_at, created_at), coalesce(scheduled_at, created_at)
  FROM public.posts
 WHERE status IN ('SCHEDULED', 'PUBLISHING')
ON CONFLICT (post_id) DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- Settling a post after a report, under the lock of its queue row (an internal step).
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION public.publish_settle_locked(p_post_id bigint, p_lease_token bigint)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_q public.publish_queue%ROWTYPE;
  v_unreported integer;
  v_pending integer;
  v_published integer;
  v_failed integer;
  v_first_published timestamptz;
  v_last_error text;
BEGIN
  SELECT * INTO v_q FROM public.publish_queue WHERE post_id = p_post_id AND lease_token = p_lease_token;
  IF NOT FOUND THEN
    RETURN 'stale';
  END IF;
  SELECT count(*) FILTER (WHERE t.status = 'pending' AND t.last_lease_token IS DISTINCT FROM p_lease_token),
         count(*) FILTER (WHERE t.status = 'pending'),
         count(*) FILTER (WHERE t.status = 'published'),
         count(*) FILTER (WHERE t.status = 'failed'),
         min(t.published_at),
         (array_agg(t.last_error ORDER BY t.updated_at DESC) FILTER (WHERE t.status = 'failed'))[1]
    INTO v_unreported, v_pending, v_published, v_failed, v_first_published, v_last_error
    FROM public.post_targets t
   WHERE t.post_id = p_post_id;

  IF v_pending > 0 THEN
    -- The first live target moves the post to PUBLISHING, once.
    IF v_published > 0 THEN
      UPDATE public.posts
         SET status = 'PUBLISHING', claimed_at = now(), claimed_by = v_q.leased_by
       WHERE id = p_post_id AND status = 'SCHEDULED';
    END IF;
    IF v_unreported > 0 THEN
      RETURN 'recorded';
    END IF;
    -- Every target was reported and some wait for a retry: the lease ends, the backoff starts.
    UPDATE public.publish_queue
       SET lease_token = NULL, leased_by = NULL, lease_until = NULL,
           due_at = coalesce(retry_at, now()), retry_at = NULL
     WHERE post_id = p_post_id;
    RETURN 'retry-scheduled';
  END IF;

  -- Every target finished: the post's final status. Leaving PUBLISHING/SCHEDULED removes the
  -- queue row (publish_queue_sync).
  UPDATE public.posts
     SET status = CASE WHEN v_published > 0 THEN 'PUBLISHED' ELSE 'FAILED' END::public.post_status,
         published_at = CASE WHEN v_published > 0 THEN v_first_published ELSE published_at END,
         claimed_at = NULL, claimed_by = NULL,
         publish_attempts = v_q.claims,
         last_error = CASE WHEN v_failed > 0 THEN coalesce(v_last_error, 'failed') END
   WHERE id = p_post_id;
  INSERT INTO public.publish_outcomes AS o (post_id, scheduled_at, outcome, claims, published_targets, failed_targets)
  VALUES (p_post_id, v_q.scheduled_at, CASE WHEN v_published > 0 THEN 'published' ELSE 'failed' END, v_q.claims, v_published, v_failed)
  ON CONFLICT (post_id) DO UPDATE
    SET scheduled_at = EXCLUDED.scheduled_at, finished_at = EXCLUDED.finished_at, outcome = EXCLUDED.outcome,
        claims = EXCLUDED.claims, published_targets = EXCLUDED.published_targets, failed_targets = EXCLUDED.failed_targets;
  DELETE FROM public.publish_queue WHERE post_id = p_post_id;
  RETURN CASE WHEN v_published > 0 THEN 'post-published' ELSE 'post-failed' END;
END;
$$;
COMMENT ON FUNCTION public.publish_settle_locked(bigint, bigint) IS
  'publishing queue: after a report, end the lease (retry) or finish the post; the caller holds the queue row lock';

-- A claimed post with no pending target left (none to begin with, or all finished by an earlier
-- lease that crashed before settling): the worker settles it instead of publishing.
CREATE FUNCTION public.publish_settle(p_post_id bigint, p_lease_token bigint)
RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM public.publish_queue WHERE post_id = p_post_id AND lease_token = p_lease_token FOR UPDATE;
  IF NOT FOUND THEN
    RETURN 'stale';
  END IF;
  RETURN public.publish_settle_locked(p_post_id, p_lease_token);
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- Recording one target's report under the fence (an internal step; complete, fail and report
-- settle afterwards). A report carries either the platform's external post id (published) or an
-- error (failed; retryable or not).
--
-- Retryable with attempts left: the target stays pending and the post's next attempt waits
-- base * 2^(attempts-1) seconds (capped), of which a random half is jitter, so a platform outage
-- does not bring every retry back in the same second. Otherwise the target is FAILED with the error.
--
-- result: stale (the token is not the post's current lease: nothing changed), not-pending (the
-- target had finished, or was already reported in this lease: nothing changed), recorded.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION public.publish_record(
  p_target_id bigint,
  p_lease_token bigint,
  p_external_post_id text,
  p_error text,
  p_retryable boolean,
  p_max_attempts integer,
  p_base_delay_seconds double precision,
  p_max_delay_seconds double precision,
  OUT result text,
  OUT post_id bigint
)
LANGUAGE plpgsql AS $$
DECLARE
  v_status public.post_target_status;
  v_attempts integer;
  v_delay double precision;
BEGIN
  IF p_target_id IS NULL OR p_lease_token IS NULL THEN
    RAISE EXCEPTION 'publish: target id and lease token are required' USING ERRCODE = '22004';
  END IF;
  IF (p_external_post_id IS NULL) = (p_error IS NULL) THEN
    RAISE EXCEPTION 'publish: target % needs either an external post id or an error, not both or neither', p_target_id USING ERRCODE = '22023';
  END IF;
  IF p_external_post_id IS NOT NULL AND (btrim(p_external_post_id) = '' OR char_length(p_external_post_id) > 500) THEN
    RAISE EXCEPTION 'publish: external post id must be 1-500 characters' USING ERRCODE = '22023';
  END IF;
  IF p_error IS NOT NULL THEN
    IF btrim(p_error) = '' THEN
      RAISE EXCEPTION 'publish: an error text is required' USING ERRCODE = '22023';
    END IF;
    IF p_retryable IS NULL THEN
      RAISE EXCEPTION 'publish: a failure must say whether it is retryable' USING ERRCODE = '22004';
    END IF;
    IF p_max_attempts IS NULL OR p_max_attempts NOT BETWEEN 1 AND 100 THEN
      RAISE EXCEPTION 'publish: max attempts must be 1-100, got %', p_max_attempts USING ERRCODE = '22023';
    END IF;
    IF p_base_delay_seconds IS NULL OR p_max_delay_seconds IS NULL OR p_base_delay_seconds <= 0 OR p_max_delay_seconds < p_base_delay_seconds THEN
      RAISE EXCEPTION 'publish: delays must satisfy 0 < base <= max, got base % max %', p_base_delay_seconds, p_max_delay_seconds USING ERRCODE = '22023';
    END IF;
  END IF;
  SELECT t.post_id INTO post_id FROM public.post_targets t WHERE t.id = p_target_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'publish: post target % does not exist', p_target_id USING ERRCODE = '22023';
  END IF;
  -- The fence: only the current lease may report. The row lock orders concurrent reports of one post.
  PERFORM 1 FROM public.publish_queue q WHERE q.post_id = publish_record.post_id AND q.lease_token = p_lease_token FOR UPDATE;
  IF NOT FOUND THEN
    result := 'stale';
    RETURN;
  END IF;
  IF p_external_post_id IS NOT NULL THEN
    UPDATE public.post_targets
       SET status = 'published', external_post_id = p_external_post_id, published_at = now(),
           attempts = attempts + 1, last_error = NULL, last_lease_token = p_lease_token
     WHERE id = p_target_id AND status = 'pending' AND last_lease_token IS DISTINCT FROM p_lease_token;
    result := CASE WHEN FOUND THEN 'recorded' ELSE 'not-pending' END;
    RETURN;
  END IF;
  UPDATE public.post_targets
     SET attempts = attempts + 1,
         last_error = left(p_error, 2000),
         last_lease_token = p_lease_token,
         status = CASE WHEN p_retryable AND attempts + 1 < p_max_attempts THEN 'pending' ELSE 'failed' END::public.post_target_status
   WHERE id = p_target_id AND status = 'pending' AND last_lease_token IS DISTINCT FROM p_lease_token
  RETURNING status, attempts INTO v_status, v_attempts;
  IF NOT FOUND THEN
    result := 'not-pending';
    RETURN;
  END IF;
  IF v_status = 'pending' THEN
    v_delay := least(p_max_delay_seconds, p_base_delay_seconds * power(2, v_attempts - 1));
    v_delay := v_delay / 2 + random() * v_delay / 2;
    UPDATE public.publish_queue q
       SET retry_at = greatest(coalesce(q.retry_at, '-infinity'), now() + make_interval(secs => v_delay)),
           retries = q.retries + 1
     WHERE q.post_id = publish_record.post_id;
  END IF;
  result := 'recorded';
END;
$$;

-- complete: one target is live on its platform. Returns stale, not-pending, or (recorded) what
-- the post became: recorded (other targets still to report in this lease), retry-scheduled,
-- post-published, post-failed.
CREATE FUNCTION public.publish_complete(p_target_id bigint, p_lease_token bigint, p_external_post_id text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  IF p_external_post_id IS NULL THEN
    RAISE EXCEPTION 'publish_complete: external post id must be 1-500 characters' USING ERRCODE = '22023';
  END IF;
  r := public.publish_record(p_target_id, p_lease_token, p_external_post_id, NULL, NULL, NULL, NULL, NULL);
  IF r.result <> 'recorded' THEN
    RETURN r.result;
  END IF;
  RETURN public.publish_settle_locked(r.post_id, p_lease_token);
END;
$$;

-- fail: one target's attempt failed (see publish_record for the retry rule). Same results as complete.
CREATE FUNCTION public.publish_fail(
  p_target_id bigint,
  p_lease_token bigint,
  p_error text,
  p_retryable boolean,
  p_max_attempts integer DEFAULT 5,
  p_base_delay_seconds double precision DEFAULT 30,
  p_max_delay_seconds double precision DEFAULT 3600
)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  IF p_error IS NULL THEN
    RAISE EXCEPTION 'publish_fail: an error text is required' USING ERRCODE = '22023';
  END IF;
  IF p_retryable IS NULL THEN
    RAISE EXCEPTION 'publish_fail: retryable is required' USING ERRCODE = '22004';
  END IF;
  r := public.publish_record(p_target_id, p_lease_token, NULL, p_error, p_retryable, p_max_attempts, p_base_delay_seconds, p_max_delay_seconds);
  IF r.result <> 'recorded' THEN
    RETURN r.result;
  END IF;
  RETURN public.publish_settle_locked(r.post_id, p_lease_token);
END;
$$;

-- report: a worker's whole batch in one short transaction, the same rules as complete and fail
-- per target (element i of each array is one report; external id for a success, error for a
-- failure). Each post is settled once, after all its reports, which is what makes a batch cheap.
-- Reports are applied in post order, so two batches never lock the same posts in opposite orders.
CREATE FUNCTION public.publish_report(
  p_target_ids bigint[],
  p_lease_tokens bigint[],
  p_external_post_ids text[],
  p_errors text[],
  p_retryable boolean[],
  p_max_attempts integer DEFAULT 5,
  p_base_delay_seconds double precision DEFAULT 30,
  p_max_delay_seconds double precision DEFAULT 3600
)
RETURNS TABLE (target_id bigint, result text)
LANGUAGE plpgsql AS $$
DECLARE
  v_n integer := coalesce(cardinality(p_target_ids), 0);
  v_item record;
  v_rec record;
  v_settled jsonb := '{}';
  v_results text[] := '{}';
  v_posts bigint[] := '{}';
  v_tokens bigint[] := '{}';
  i integer;
BEGIN
  IF v_n > 10000 THEN
    RAISE EXCEPTION 'publish_report: at most 10000 reports per call, got %', v_n USING ERRCODE = '22023';
  END IF;
  IF coalesce(cardinality(p_lease_tokens), 0) <> v_n OR coalesce(cardinality(p_external_post_ids), 0) <> v_n
     OR coalesce(cardinality(p_errors), 0) <> v_n OR coalesce(cardinality(p_retryable), 0) <> v_n THEN
    RAISE EXCEPTION 'publish_report: the five arrays must have the same length (% target ids)', v_n USING ERRCODE = '22023';
  END IF;
  FOR v_item IN
    SELECT u.ord, u.tid, u.tok, u.ext, u.err, u.retry
      FROM unnest(p_target_ids, p_lease_tokens, p_external_post_ids, p_errors, p_retryable) WITH ORDINALITY AS u (tid, tok, ext, err, retry, ord)
      LEFT JOIN public.post_targets t ON t.id = u.tid
     ORDER BY t.post_id, u.ord
  LOOP
    v_rec := public.publish_record(v_item.tid, v_item.tok, v_item.ext, v_item.err, v_item.retry, p_max_attempts, p_base_delay_seconds, p_max_delay_seconds);
    v_results[v_item.ord] := v_rec.result;
    v_posts[v_item.ord] := v_rec.post_id;
    v_tokens[v_item.ord] := v_item.tok;
  END LOOP;
  FOR i IN 1 .. v_n LOOP
    IF v_results[i] = 'recorded' THEN
      IF NOT v_settled ? (v_posts[i]::text || ':' || v_tokens[i]::text) THEN
        v_settled := v_settled || jsonb_build_object(v_posts[i]::text || ':' || v_tokens[i]::text, public.publish_settle_locked(v_posts[i], v_tokens[i]));
      END IF;
      v_results[i] := v_settled ->> (v_posts[i]::text || ':' || v_tokens[i]::text);
    END IF;
  END LOOP;
  RETURN QUERY SELECT u.tid, u.res FROM unnest(p_target_ids, v_results) AS u (tid, res);
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- release: a worker shutting down hands back the leases it holds. They go to the front of the
-- queue (their due_at is unchanged), or to their backoff if a target already failed in the lease.
-- A handed-back claim does not count as an attempt.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION public.publish_release(p_worker_id text)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_released integer;
BEGIN
  IF p_worker_id IS NULL OR btrim(p_worker_id) = '' THEN
    RAISE EXCEPTION 'publish_release: worker id is required' USING ERRCODE = '22023';
  END IF;
  UPDATE public.publish_queue
     SET lease_token = NULL, leased_by = NULL, lease_until = NULL,
         due_at = coalesce(retry_at, due_at), retry_at = NULL, claims = greatest(claims - 1, 0)
   WHERE due_at <= now() AND leased_by = p_worker_id;
  GET DIAGNOSTICS v_released = ROW_COUNT;
  RETURN v_released;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- requeue: the release-stuck-claims task (every minute, as dbops_maintenance). Leases that expired
-- go back to the queue; a post whose lease expired p_max_claims times is a poison pill (its worker
-- dies on it every time) and its pending targets fail, so it cannot block a worker forever.
-- SECURITY DEFINER with a pinned search_path: the maintenance role reads no platform data itself.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION dbops.release_stuck_claims(p_max_claims integer DEFAULT 10, p_limit integer DEFAULT 10000, p_dry_run boolean DEFAULT false)
RETURNS TABLE (requeued integer, abandoned integer, oldest_expired_seconds double precision)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_post record;
  v_requeued integer := 0;
  v_abandoned integer := 0;
  v_oldest double precision;
BEGIN
  IF p_max_claims IS NULL OR p_max_claims NOT BETWEEN 1 AND 1000 THEN
    RAISE EXCEPTION 'release_stuck_claims: max claims must be 1-1000, got %', p_max_claims USING ERRCODE = '22023';
  END IF;
  IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000000 THEN
    RAISE EXCEPTION 'release_stuck_claims: limit must be 1-1000000, got %', p_limit USING ERRCODE = '22023';
  END IF;
  SELECT extract(epoch FROM now() - min(q.lease_until)) INTO v_oldest
    FROM public.publish_queue q WHERE q.due_at <= now() AND q.lease_until < now();
  IF p_dry_run THEN
    SELECT count(*) FILTER (WHERE q.claims < p_max_claims), count(*) FILTER (WHERE q.claims >= p_max_claims)
      INTO v_requeued, v_abandoned
      FROM (SELECT q.claims FROM public.publish_queue q WHERE q.due_at <= now() AND q.lease_until < now() LIMIT p_limit) q;
    RETURN QUERY SELECT v_requeued, v_abandoned, coalesce(v_oldest, 0);
    RETURN;
  END IF;

  WITH stuck AS (
    SELECT q.post_id FROM public.publish_queue q
     WHERE q.due_at <= now() AND q.lease_until < now() AND q.claims < p_max_claims
     LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  )
  UPDATE public.publish_queue q
     SET lease_token = NULL, leased_by = NULL, lease_until = NULL, due_at = coalesce(q.retry_at, q.due_at), retry_at = NULL
    FROM stuck WHERE q.post_id = stuck.post_id;
  GET DIAGNOSTICS v_requeued = ROW_COUNT;

  FOR v_post IN
    SELECT q.post_id, q.lease_token, q.claims FROM public.publish_queue q
     WHERE q.due_at <= now() AND q.lease_until < now() AND q.claims >= p_max_claims
     LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  LOOP
    UPDATE public.post_targets
       SET status = 'failed', attempts = attempts + 1, last_lease_token = v_post.lease_token,
           last_error = format('abandoned: the lease expired %s times without a report', v_post.claims)
     WHERE post_id = v_post.post_id AND status = 'pending';
    PERFORM public.publish_settle_locked(v_post.post_id, v_post.lease_token);
    v_abandoned := v_abandoned + 1;
  END LOOP;
  RETURN QUERY SELECT v_requeued, v_abandoned, coalesce(v_oldest, 0);
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- The queue's health, for PublishQueueLagSeconds, StuckClaims, PublishRetryBacklog and
-- PublishSuccessRate (published by release-stuck-claims each minute). Counts only: no post data.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION dbops.publish_queue_stats(p_window interval DEFAULT interval '1 hour')
RETURNS TABLE (
  due_unheld bigint,
  lag_seconds double precision,
  held bigint,
  expired_leases bigint,
  retry_backlog bigint,
  window_published bigint,
  window_failed bigint,
  success_percent double precision,
  window_targets_published bigint,
  window_targets_failed bigint,
  target_success_percent double precision
)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF p_window IS NULL OR p_window <= interval '0' OR p_window > interval '31 days' THEN
    RAISE EXCEPTION 'publish_queue_stats: window must be positive and at most 31 days, got %', p_window USING ERRCODE = '22023';
  END IF;
  RETURN QUERY
  WITH due AS (
    SELECT count(*) FILTER (WHERE q.lease_token IS NULL OR q.lease_until < now()) AS unheld,
           count(*) FILTER (WHERE q.lease_until >= now()) AS held,
           count(*) FILTER (WHERE q.lease_until < now()) AS expired,
           min(q.due_at) FILTER (WHERE q.lease_token IS NULL OR q.lease_until < now()) AS oldest
      FROM public.publish_queue q
     WHERE q.due_at <= now()
  ), retry AS (
    SELECT count(*) AS backlog FROM public.publish_queue q WHERE q.retries > 0 AND q.due_at > now()
  ), outcome AS (
    SELECT count(*) FILTER (WHERE o.outcome = 'published') AS published,
           count(*) FILTER (WHERE o.outcome = 'failed') AS failed,
           coalesce(sum(o.published_targets), 0)::bigint AS t_published,
           coalesce(sum(o.failed_targets), 0)::bigint AS t_failed
      FROM public.publish_outcomes o
     WHERE o.scheduled_at >= now() - p_window AND o.scheduled_at <= now()
  )
  SELECT due.unheld, coalesce(extract(epoch FROM now() - due.oldest)::double precision, 0), due.held, due.expired, retry.backlog,
         outcome.published, outcome.failed,
         CASE WHEN outcome.published + outcome.failed > 0 THEN (100.0 * outcome.published / (outcome.published + outcome.failed))::double precision END,
         outcome.t_published, outcome.t_failed,
         CASE WHEN outcome.t_published + outcome.t_failed > 0 THEN (100.0 * outcome.t_published / (outcome.t_published + outcome.t_failed))::double precision END
    FROM due, retry, outcome;
END;
$$;

-- Finished outcomes are kept for the success-rate windows and a week of history.
CREATE FUNCTION dbops.prune_publish_outcomes(p_keep interval DEFAULT interval '7 days', p_limit integer DEFAULT 50000)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_deleted integer;
BEGIN
  IF p_keep IS NULL OR p_keep < interval '1 day' THEN
    RAISE EXCEPTION 'prune_publish_outcomes: keep at least 1 day, got %', p_keep USING ERRCODE = '22023';
  END IF;
  DELETE FROM public.publish_outcomes o
   WHERE o.post_id IN (SELECT x.post_id FROM public.publish_outcomes x WHERE x.scheduled_at < now() - p_keep LIMIT p_limit);
  GET DIAGNOSTICS v_deleted = ROW_COUNT;
  RETURN v_deleted;
END;
$$;

REVOKE EXECUTE ON FUNCTION dbops.release_stuck_claims(integer, integer, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION dbops.publish_queue_stats(interval) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION dbops.prune_publish_outcomes(interval, integer) FROM PUBLIC;
-- The lifecycle runs with the application's own rights (it owns the rows it changes); nobody else calls it.
REVOKE EXECUTE ON FUNCTION public.publish_settle_locked(bigint, bigint), public.publish_settle(bigint, bigint),
                           public.publish_record(bigint, bigint, text, text, boolean, integer, double precision, double precision),
                           public.publish_report(bigint[], bigint[], text[], text[], boolean[], integer, double precision, double precision),
                           public.publish_complete(bigint, bigint, text),
                           public.publish_fail(bigint, bigint, text, boolean, integer, double precision, double precision),
                           public.publish_release(text) FROM PUBLIC;

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'dbops_maintenance') THEN
    GRANT EXECUTE ON FUNCTION dbops.release_stuck_claims(integer, integer, boolean),
                              dbops.publish_queue_stats(interval),
                              dbops.prune_publish_outcomes(interval, integer) TO dbops_maintenance;
  END IF;
  -- The platform application's role (065): the claim is a plain statement on publish_queue, the
  -- other steps are these functions.
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'platform_app') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON public.publish_queue, public.publish_outcomes TO platform_app;
    GRANT USAGE ON SEQUENCE public.publish_queue_lease_token_seq TO platform_app;
    GRANT EXECUTE ON FUNCTION public.publish_settle_locked(bigint, bigint), public.publish_settle(bigint, bigint),
                              public.publish_record(bigint, bigint, text, text, boolean, integer, double precision, double precision),
                              public.publish_report(bigint[], bigint[], text[], text[], boolean[], integer, double precision, double precision),
                              public.publish_complete(bigint, bigint, text),
                              public.publish_fail(bigint, bigint, text, boolean, integer, double precision, double precision),
                              public.publish_release(text),
                              public.publish_queue_sync() TO platform_app;
  END IF;
END;
$$;
