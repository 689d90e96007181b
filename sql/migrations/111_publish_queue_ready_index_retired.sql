-- dbops:no-transaction
-- 109's index of unheld queue rows has no reader since 110: the claim walks publish_ready. Kept,
-- it would still make every claim a non-HOT update (lease_token is in its predicate).
--
-- CONCURRENTLY: no lock that blocks the workers; IF EXISTS: a re-run after a crash is safe.
DROP INDEX CONCURRENTLY IF EXISTS public.publish_queue_ready_idx;
