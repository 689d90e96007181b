-- name: scheduled_post_claim
-- description: Publishing queue: a worker leases a batch of due posts, oldest first, in one call. The lease lives in publish_queue (080), a narrow table with three small indexes, so posts is not written at all; the claim reads only posts nobody holds (109); SKIP LOCKED lets many workers claim side by side without waiting on each other or claiming a post twice. Each row carries a fresh lease token that complete/fail must present, and the post's pending targets, kept with its publish_ready entry (112), so the claim reads no post_targets. The statement lives in public.publish_claim (108), so a worker's session plans it once.
-- expects-index: publish_ready_pkey
-- writes: true
-- param: $1 due_before timestamptz: claim posts due at or before this instant, normally now()
-- param: $2 batch_size integer: posts claimed at once, 50 typically (1-1000)
-- param: $3 worker_id text: the claiming worker's id (e.g. host and process), so it can hand its leases back on shutdown
-- param: $4 lease_seconds double precision: how long the worker may take before release-stuck-claims requeues the post (120 typically)
-- publish_claim leases at most $2 posts; the LIMIT states that bound where the pattern is read.
SELECT c.post_id, c.lease_token, c.lease_until, c.attempt, c.scheduled_at, c.target_ids, c.account_ids
  FROM public.publish_claim($1::timestamptz, $2::integer, $3::text, $4::double precision) c
 LIMIT $2::integer
