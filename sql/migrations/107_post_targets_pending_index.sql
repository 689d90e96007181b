-- dbops:no-transaction
-- The claim returns each leased post's pending targets (scheduled_post_claim.sql). It read them
-- through post_targets_post_status_idx, which lacks the account, so every target was a heap
-- visit: 150 for a batch of 50 posts, about 0.8 ms of a 2 ms claim on the medium data. This one
-- holds only pending targets (the queue's, a few per queued post), with what the claim returns, so
-- the read is index-only where the page is all-visible, as autovacuum leaves a post created ahead
-- of its slot. A publish adds nothing to it: a target leaving 'pending' fails the predicate, and
-- status is already indexed, so no update that was HOT loses it. Built concurrently: publishers
-- and the platform write post_targets while it builds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS post_targets_post_pending_idx
  ON public.post_targets (post_id) INCLUDE (id, social_account_id) WHERE status = 'pending';
COMMENT ON INDEX public.post_targets_post_pending_idx IS
  'publishing queue: a leased post''s pending targets with their accounts, index-only (scheduled_post_claim.sql, public.publish_claim)';
