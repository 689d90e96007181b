-- publish_report, set-based: a worker's batch is a handful of statements, not a few per target.
--
-- 080's publish_report called publish_record per target (a FOR UPDATE of the queue row, then one
-- UPDATE of the target, each firing the analytics capture's statement triggers) and then
-- publish_settle_locked per post (re-reading its targets, updating posts, the outcome, the queue
-- row): about 700 statements for a batch of 50 posts with 3 targets each, plus the triggers
-- each one fires. Here the batch is:
--   1. validation of the arrays (no table read), then one lookup of the targets' posts;
--   2. one statement locking the batch's queue rows that carry the reported token (the fence), in
--      post order, so two batches never lock the same posts in opposite orders;
--   3. one UPDATE of every fenced pending target, with the retry backoff of their posts in the same
--      statement;
--   4. one settle of every post that had a report recorded (publish_settle_posts): one UPDATE of
--      posts, one INSERT of outcomes, one DELETE and one UPDATE of publish_queue.
-- The rules and results are 080's, per target and per post. complete and fail are a report of one,
-- and publish_settle_locked a settle of one, so each rule lives once, in the two functions below.

-- ---------------------------------------------------------------------------------------------
-- Settling posts after their reports, under the lock of their queue rows (an internal step).
-- Per (post, lease token): stale if the token is not the post's lease any more; otherwise by its
-- targets: every target finished -> PUBLISHED (at least one published) or FAILED, the outcome
-- recorded and the queue row gone; a target still pending -> the post is PUBLISHING once one is
-- live, and the lease ends (due_at = its backoff) when every pending target was reported in it
-- (retry-scheduled), else the lease goes on (recorded).
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION public.publish_settle_posts(p_post_ids bigint[], p_lease_tokens bigint[])
RETURNS TABLE (post_id bigint, result text)
LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(cardinality(p_post_ids), 0) <> coalesce(cardinality(p_lease_tokens), 0) THEN
    RAISE EXCEPTION 'publish_settle_posts: post ids and lease tokens must have the same length' USING ERRCODE = '22023';
  END IF;
  RETURN QUERY
  WITH lease AS (
    SELECT DISTINCT u.post_id, u.tok FROM unnest(p_post_ids, p_lease_tokens) AS u (post_id, tok)
  ), s AS (
    SELECT q.post_id, q.lease_token, q.leased_by, q.scheduled_at, q.claims, q.retry_at,
           count(t.id) FILTER (WHERE t.status = 'pending' AND t.last_lease_token IS DISTINCT FROM q.lease_token) AS unreported,
           count(t.id) FILTER (WHERE t.status = 'pending') AS pending,
           count(t.id) FILTER (WHERE t.status = 'published') AS published,
           count(t.id) FILTER (WHERE t.status = 'failed') AS failed,
           min(t.published_at) AS first_published,
           -- The latest failure's error; targets failed in one transaction share updated_at, so the id decides.
           (array_agg(t.last_error ORDER BY t.updated_at DESC, t.id DESC) FILTER (WHERE t.status = 'failed'))[1] AS last_error
      FROM lease l
      JOIN public.publish_queue q ON q.post_id = l.post_id AND q.lease_token = l.tok
      LEFT JOIN public.post_targets t ON t.post_id = q.post_id
     GROUP BY q.post_id
  ), post_status AS (
    -- Final status, or SCHEDULED -> PUBLISHING with the first live target (once). Leaving
    -- SCHEDULED/PUBLISHING also removes the queue row (publish_queue_sync, after this statement).
    UPDATE public.posts p
       SET status = CASE WHEN s.pending > 0 THEN 'PUBLISHING' WHEN s.published > 0 THEN 'PUBLISHED' ELSE 'FAILED' END::public.post_status,
           published_at = CASE WHEN s.pending = 0 AND s.published > 0 THEN s.first_published ELSE p.published_at END,
           claimed_at = CASE WHEN s.pending > 0 THEN now() END,
           claimed_by = CASE WHEN s.pending > 0 THEN s.leased_by END,
           publish_attempts = CASE WHEN s.pending = 0 THEN s.claims ELSE p.publish_attempts END,
           last_error = CASE WHEN s.pending > 0 THEN p.last_error WHEN s.failed > 0 THEN coalesce(s.last_error, 'failed') END
      FROM s
     WHERE p.id = s.post_id
       AND (s.pending = 0 OR (s.published > 0 AND p.status = 'SCHEDULED'))
  ), outcome AS (
    INSERT INTO public.publish_outcomes AS o (post_id, scheduled_at, outcome, claims, published_targets, failed_targets)
    SELECT s.post_id, s.scheduled_at, CASE WHEN s.published > 0 THEN 'published' ELSE 'failed' END, s.claims, s.published, s.failed
      FROM s
     WHERE s.pending = 0
    ON CONFLICT ON CONSTRAINT publish_outcomes_pkey DO UPDATE
      SET scheduled_at = EXCLUDED.scheduled_at, finished_at = EXCLUDED.finished_at, outcome = EXCLUDED.outcome,
          claims = EXCLUDED.claims, published_targets = EXCLUDED.published_targets, failed_targets = EXCLUDED.failed_targets
  ), dequeued AS (
    DELETE FROM public.publish_queue q USING s WHERE q.post_id = s.post_id AND s.pending = 0
  ), lease_ended AS (
    -- Every pending target was reported in this lease and waits for a retry: the backoff starts.
    UPDATE public.publish_queue q
       SET lease_token = NULL, leased_by = NULL, lease_until = NULL, due_at = coalesce(s.retry_at, now()), retry_at = NULL
      FROM s
     WHERE q.post_id = s.post_id AND s.pending > 0 AND s.unreported = 0
  )
  SELECT l.post_id,
         CASE WHEN s.post_id IS NULL THEN 'stale'
              WHEN s.pending = 0 AND s.published > 0 THEN 'post-published'
              WHEN s.pending = 0 THEN 'post-failed'
              WHEN s.unreported > 0 THEN 'recorded'
              ELSE 'retry-scheduled' END
    FROM lease l
    LEFT JOIN s ON s.post_id = l.post_id AND s.lease_token = l.tok;
END;
$$;
COMMENT ON FUNCTION public.publish_settle_posts(bigint[], bigint[]) IS
  'publishing queue: after reports, end each post''s lease (retry) or finish the post; the caller holds the queue row locks';

-- The single-post settle of 080 (publish_settle, release_stuck_claims' abandon path) is a settle of one.
CREATE OR REPLACE FUNCTION public.publish_settle_locked(p_post_id bigint, p_lease_token bigint)
RETURNS text
LANGUAGE sql AS $$
  SELECT coalesce((SELECT s.result FROM public.publish_settle_posts(ARRAY[p_post_id], ARRAY[p_lease_token]) s), 'stale');
$$;

-- ---------------------------------------------------------------------------------------------
-- report: a worker's whole batch (element i of each array is one report: an external id for a
-- success, an error and whether it is retryable for a failure). Per target, as in 080:
--   stale        the token is not the post's current lease (requeued, re-claimed, finished): nothing changed;
--   not-pending  the target had finished, or was already reported in this lease (a repeat in the
--                same batch included: the first one counts): nothing changed;
--   otherwise    what its post became: recorded, retry-scheduled, post-published, post-failed.
-- A success makes the target published; a retryable failure with attempts left keeps it pending
-- and its post waits base * 2^(attempts-1) seconds (capped), a random half of it jitter, the
-- longest of its targets' waits; any other failure makes it failed with the error.
-- Bad input (missing ids, neither or both of external id and error, an unknown target) is refused
-- whole, before anything is written.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION public.publish_report(
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
  v_bad record;
  v_missing bigint;
  v_item_posts bigint[];
  v_fenced_posts bigint[];
  v_fenced_tokens bigint[];
  v_recorded_ords bigint[];
  v_recorded_posts bigint[];
  v_recorded_tokens bigint[];
  v_settled_posts bigint[];
  v_settled_results text[];
BEGIN
  IF v_n > 10000 THEN
    RAISE EXCEPTION 'publish_report: at most 10000 reports per call, got %', v_n USING ERRCODE = '22023';
  END IF;
  IF coalesce(cardinality(p_lease_tokens), 0) <> v_n OR coalesce(cardinality(p_external_post_ids), 0) <> v_n
     OR coalesce(cardinality(p_errors), 0) <> v_n OR coalesce(cardinality(p_retryable), 0) <> v_n THEN
    RAISE EXCEPTION 'publish_report: the five arrays must have the same length (% target ids)', v_n USING ERRCODE = '22023';
  END IF;
  IF v_n = 0 THEN
    RETURN;
  END IF;

  -- The first bad report, in the order given, with 080's message for it.
  SELECT u.tid, u.problem INTO v_bad
    FROM (
      SELECT u.ord, u.tid,
             CASE WHEN u.tid IS NULL OR u.tok IS NULL THEN 'ids'
                  WHEN (u.ext IS NULL) = (u.err IS NULL) THEN 'one-of'
                  WHEN u.ext IS NOT NULL AND (btrim(u.ext) = '' OR char_length(u.ext) > 500) THEN 'external'
                  WHEN u.err IS NOT NULL AND btrim(u.err) = '' THEN 'error'
                  WHEN u.err IS NOT NULL AND u.retry IS NULL THEN 'retryable'
                  WHEN u.err IS NOT NULL AND (p_max_attempts IS NULL OR p_max_attempts NOT BETWEEN 1 AND 100) THEN 'attempts'
                  WHEN u.err IS NOT NULL AND (p_base_delay_seconds IS NULL OR p_max_delay_seconds IS NULL OR p_base_delay_seconds <= 0
                                              OR p_max_delay_seconds < p_base_delay_seconds) THEN 'delays'
             END AS problem
        FROM unnest(p_target_ids, p_lease_tokens, p_external_post_ids, p_errors, p_retryable) WITH ORDINALITY AS u (tid, tok, ext, err, retry, ord)
    ) u
   WHERE u.problem IS NOT NULL
   ORDER BY u.ord
   LIMIT 1;
  IF FOUND THEN
    CASE v_bad.problem
      WHEN 'ids' THEN
        RAISE EXCEPTION 'publish: target id and lease token are required' USING ERRCODE = '22004';
      WHEN 'one-of' THEN
        RAISE EXCEPTION 'publish: target % needs either an external post id or an error, not both or neither', v_bad.tid USING ERRCODE = '22023';
      WHEN 'external' THEN
        RAISE EXCEPTION 'publish: external post id must be 1-500 characters' USING ERRCODE = '22023';
      WHEN 'error' THEN
        RAISE EXCEPTION 'publish: an error text is required' USING ERRCODE = '22023';
      WHEN 'retryable' THEN
        RAISE EXCEPTION 'publish: a failure must say whether it is retryable' USING ERRCODE = '22004';
      WHEN 'attempts' THEN
        RAISE EXCEPTION 'publish: max attempts must be 1-100, got %', p_max_attempts USING ERRCODE = '22023';
      ELSE
        RAISE EXCEPTION 'publish: delays must satisfy 0 < base <= max, got base % max %', p_base_delay_seconds, p_max_delay_seconds USING ERRCODE = '22023';
    END CASE;
  END IF;

  -- Each report's post; an unknown target refuses the batch.
  SELECT array_agg(t.post_id ORDER BY u.ord), (array_agg(u.tid ORDER BY u.ord) FILTER (WHERE t.id IS NULL))[1]
    INTO v_item_posts, v_missing
    FROM unnest(p_target_ids) WITH ORDINALITY AS u (tid, ord)
    LEFT JOIN public.post_targets t ON t.id = u.tid;
  IF v_missing IS NOT NULL THEN
    RAISE EXCEPTION 'publish: post target % does not exist', v_missing USING ERRCODE = '22023';
  END IF;

  -- The fence: lock the queue rows whose current lease is a reported token, in post order. The
  -- filter uses only the row's own columns, so a row changed while we waited for its lock is
  -- re-checked against its new lease_token. Reports are matched to a locked row by the exact
  -- (post, token) pair below; a row locked through another post's token is left alone.
  SELECT array_agg(q.post_id ORDER BY q.post_id), array_agg(q.lease_token ORDER BY q.post_id)
    INTO v_fenced_posts, v_fenced_tokens
    FROM (
      SELECT q.post_id, q.lease_token
        FROM public.publish_queue q
       WHERE q.post_id = ANY (v_item_posts) AND q.lease_token = ANY (p_lease_tokens)
       ORDER BY q.post_id
         FOR UPDATE
    ) q;

  IF v_fenced_posts IS NOT NULL THEN
    -- Every fenced report of a pending target not yet reported in this lease, the first of repeats.
    WITH item AS (
      SELECT DISTINCT ON (u.tid) u.tid, u.tok, u.ext, u.err, u.retry, u.ord
        FROM unnest(p_target_ids, p_lease_tokens, p_external_post_ids, p_errors, p_retryable, v_item_posts)
             WITH ORDINALITY AS u (tid, tok, ext, err, retry, post_id, ord)
        JOIN unnest(v_fenced_posts, v_fenced_tokens) AS f (post_id, tok) ON f.post_id = u.post_id AND f.tok = u.tok
       ORDER BY u.tid, u.ord
    ), recorded AS (
      UPDATE public.post_targets t
         SET status = CASE WHEN i.ext IS NOT NULL THEN 'published'
                           WHEN i.retry AND t.attempts + 1 < p_max_attempts THEN 'pending'
                           ELSE 'failed' END::public.post_target_status,
             external_post_id = coalesce(i.ext, t.external_post_id),
             published_at = CASE WHEN i.ext IS NOT NULL THEN now() ELSE t.published_at END,
             attempts = t.attempts + 1,
             last_error = CASE WHEN i.ext IS NULL THEN left(i.err, 2000) END,
             last_lease_token = i.tok
        FROM item i
       WHERE t.id = i.tid AND t.status = 'pending' AND t.last_lease_token IS DISTINCT FROM i.tok
      RETURNING i.ord, i.tok, t.post_id, t.status, t.attempts
    ), backoff AS (
      -- A post waits as long as the longest backoff among its retried targets (each jittered).
      UPDATE public.publish_queue q
         SET retry_at = greatest(coalesce(q.retry_at, '-infinity'), now() + make_interval(secs => b.delay)),
             retries = q.retries + b.retried
        FROM (
          SELECT r.post_id, count(*)::integer AS retried, max(d.delay / 2 + random() * d.delay / 2) AS delay
            FROM recorded r
           CROSS JOIN LATERAL (SELECT least(p_max_delay_seconds, p_base_delay_seconds * power(2, r.attempts - 1)) AS delay) d
           WHERE r.status = 'pending'
           GROUP BY r.post_id
        ) b
       WHERE q.post_id = b.post_id
    )
    SELECT array_agg(r.ord), array_agg(r.post_id), array_agg(r.tok)
      INTO v_recorded_ords, v_recorded_posts, v_recorded_tokens
      FROM recorded r;
  END IF;

  IF v_recorded_posts IS NOT NULL THEN
    SELECT array_agg(s.post_id), array_agg(s.result)
      INTO v_settled_posts, v_settled_results
      FROM public.publish_settle_posts(v_recorded_posts, v_recorded_tokens) s;
  END IF;

  RETURN QUERY
  SELECT u.tid,
         CASE WHEN f.post_id IS NULL THEN 'stale'
              WHEN NOT coalesce(u.ord = ANY (v_recorded_ords), false) THEN 'not-pending'
              ELSE s.res END
    FROM unnest(p_target_ids, p_lease_tokens, v_item_posts) WITH ORDINALITY AS u (tid, tok, post_id, ord)
    LEFT JOIN unnest(v_fenced_posts, v_fenced_tokens) AS f (post_id, tok) ON f.post_id = u.post_id AND f.tok = u.tok
    LEFT JOIN unnest(v_settled_posts, v_settled_results) AS s (post_id, res) ON s.post_id = u.post_id
   ORDER BY u.ord;
END;
$$;

-- complete and fail: a report of one (their own argument checks first, as in 080).
CREATE OR REPLACE FUNCTION public.publish_complete(p_target_id bigint, p_lease_token bigint, p_external_post_id text)
RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  IF p_external_post_id IS NULL THEN
    RAISE EXCEPTION 'publish_complete: external post id must be 1-500 characters' USING ERRCODE = '22023';
  END IF;
  RETURN (SELECT r.result FROM public.publish_report(ARRAY[p_target_id], ARRAY[p_lease_token], ARRAY[p_external_post_id], ARRAY[NULL::text], ARRAY[NULL::boolean]) r);
END;
$$;

CREATE OR REPLACE FUNCTION public.publish_fail(
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
BEGIN
  IF p_error IS NULL THEN
    RAISE EXCEPTION 'publish_fail: an error text is required' USING ERRCODE = '22023';
  END IF;
  IF p_retryable IS NULL THEN
    RAISE EXCEPTION 'publish_fail: retryable is required' USING ERRCODE = '22004';
  END IF;
  RETURN (SELECT r.result FROM public.publish_report(ARRAY[p_target_id], ARRAY[p_lease_token], ARRAY[NULL::text], ARRAY[p_error], ARRAY[p_retryable],
                                                     p_max_attempts, p_base_delay_seconds, p_max_delay_seconds) r);
END;
$$;

-- 080's per-target step; nothing calls it now (its rules are publish_report's).
DROP FUNCTION public.publish_record(bigint, bigint, text, text, boolean, integer, double precision, double precision);

REVOKE EXECUTE ON FUNCTION public.publish_settle_posts(bigint[], bigint[]) FROM PUBLIC;
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'platform_app') THEN
    GRANT EXECUTE ON FUNCTION public.publish_settle_posts(bigint[], bigint[]) TO platform_app;
  END IF;
END;
$$;
