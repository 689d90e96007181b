-- name: scheduled_post_claim
-- description: Publishing queue: a publisher claims a batch of due SCHEDULED posts, oldest first, and moves them to PUBLISHING in one statement; SKIP LOCKED lets many publishers claim side by side without waiting on each other or claiming a post twice.
-- expects-index: posts_scheduled_due_idx
-- writes: true
-- param: $1 due_before timestamptz: claim posts scheduled at or before this instant, normally now()
-- param: $2 batch_size integer: posts claimed at once, 50 typically (1-1000)
-- param: $3 worker_id text: the claiming publisher's id (e.g. Lambda request id), stored in claimed_by so stuck claims can be traced and released
UPDATE public.posts p
   SET status = 'PUBLISHING',
       claimed_at = now(),
       claimed_by = $3::text,
       publish_attempts = p.publish_attempts + 1
 WHERE p.id IN (SELECT due.id
                  FROM public.posts due
                 WHERE due.status = 'SCHEDULED'
                   AND due.scheduled_at <= $1::timestamptz
                 ORDER BY due.scheduled_at
                 LIMIT $2::integer
                   FOR UPDATE SKIP LOCKED)
RETURNING p.id, p.workspace_id, p.scheduled_at, p.publish_attempts;
