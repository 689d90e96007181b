-- scheduled_post_claim.sql as it was before publish_queue (080): an update of posts into its
-- indexes. The baseline schema has no publish_queue, so this is its claim; $4 (the lease) is only
-- bound.
UPDATE public.posts p
   SET status = 'PUBLISHING',
       claimed_at = now(),
       claimed_by = $3::text,
       publish_attempts = p.publish_attempts + 1
 WHERE p.id IN (SELECT due.id
                  FROM public.posts due
                 WHERE due.status = 'SCHEDULED'
                   AND due.scheduled_at <= $1::timestamptz
                   AND $4::double precision > 0
                 ORDER BY due.scheduled_at
                 LIMIT $2::integer
                   FOR UPDATE SKIP LOCKED)
RETURNING p.id AS post_id, p.workspace_id, p.scheduled_at, p.publish_attempts;
