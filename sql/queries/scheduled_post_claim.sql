-- name: scheduled_post_claim
-- description: Publishing queue: a worker leases a batch of due posts, oldest first, in one statement. The lease lives in publish_queue (080), a narrow table whose claim columns no index covers, so the update is HOT and posts is not written at all; SKIP LOCKED lets many workers claim side by side without waiting on each other or claiming a post twice. Each row carries a fresh lease token that complete/fail must present, and the post's pending targets.
-- expects-index: publish_queue_due_idx
-- writes: true
-- param: $1 due_before timestamptz: claim posts due at or before this instant, normally now()
-- param: $2 batch_size integer: posts claimed at once, 50 typically (1-1000)
-- param: $3 worker_id text: the claiming worker's id (e.g. host and process), so it can hand its leases back on shutdown
-- param: $4 lease_seconds double precision: how long the worker may take before release-stuck-claims requeues the post (120 typically)
-- The batch's pending targets are read in one scan of post_targets for all leased posts (one
-- sort, grouped by post), not one aggregate per post.
WITH picked AS (
  SELECT q.post_id
    FROM public.publish_queue q
   WHERE q.due_at <= $1::timestamptz
     AND q.lease_token IS NULL
   ORDER BY q.due_at
   LIMIT $2::integer
     FOR UPDATE SKIP LOCKED
), leased AS (
  UPDATE public.publish_queue q
     SET lease_token = nextval('public.publish_queue_lease_token_seq'),
         leased_by = $3::text,
         lease_until = now() + make_interval(secs => $4::double precision),
         claims = q.claims + 1
   WHERE q.post_id = ANY (ARRAY(SELECT picked.post_id FROM picked))
  RETURNING q.post_id, q.lease_token, q.lease_until, q.claims, q.scheduled_at
), pending AS (
  SELECT pt.post_id, array_agg(pt.id ORDER BY pt.id) AS target_ids, array_agg(pt.social_account_id ORDER BY pt.id) AS account_ids
    FROM public.post_targets pt
   WHERE pt.post_id = ANY (ARRAY(SELECT leased.post_id FROM leased))
     AND pt.status = 'pending'
   GROUP BY pt.post_id
)
SELECT l.post_id, l.lease_token, l.lease_until, l.claims AS attempt, l.scheduled_at,
       coalesce(t.target_ids, '{}') AS target_ids, coalesce(t.account_ids, '{}') AS account_ids
  FROM leased l
  LEFT JOIN pending t ON t.post_id = l.post_id
