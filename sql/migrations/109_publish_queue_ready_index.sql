-- dbops:no-transaction
-- The claim reads only posts nobody holds.
--
-- The claim walked publish_queue_due_idx, which holds every queued post, held or not, and dropped
-- the held ones by reading their rows: 080 kept the lease columns out of every index so that a
-- claim stays a HOT update. That is cheap while leases are short, and costs a row read per held
-- post per claim while they are not: in a burst, when publishers hold thousands of posts for the
-- seconds their platform calls take, each claim walks past all of them. Handing out a burst of
-- 100,000 (8 workers leasing batches of 50 and reporting nothing, the medium benchmark), each claim
-- read on average half the burst's rows: 8,688 claims/s at 0.204 ms of server CPU per post, against
-- 23,958 claims/s at 0.057 ms with this index.
--
-- This one holds only the rows a claim may take. A claim is then no longer HOT (lease_token is in
-- the predicate): each leased row writes a new entry into the primary key and publish_queue_due_idx
-- and leaves this index's entry behind, dead once the claim commits (the next scan marks it, as it
-- does for the rows a publish deletes). That costs a claim of 50 on its own about half a
-- millisecond (the benchmark's rolled-back claim: p50 1.2 to 1.7 ms), and the drain through the
-- whole lifecycle about nothing (3,790-3,977 posts/s before, 3,847 after), since there the held
-- rows are the few hundred in flight. release-stuck-claims, release and the queue metrics keep
-- reading publish_queue_due_idx, since they want held rows too. Built concurrently: workers claim
-- and report while it builds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS publish_queue_ready_idx
  ON public.publish_queue (due_at) WHERE lease_token IS NULL;
COMMENT ON INDEX public.publish_queue_ready_idx IS
  'publishing queue: due posts nobody holds, oldest first (scheduled_post_claim.sql, public.publish_claim)';
