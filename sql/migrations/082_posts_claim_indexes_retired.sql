-- dbops:no-transaction
-- The posts-based claim is gone (080 moved the queue into publish_queue), and with it the only
-- readers of three partial indexes of 030 on posts: the claim's due scan, the stuck-claim reaper's
-- and the worker hand-back's. No query of sql/queries, no task and no library call filters posts
-- by SCHEDULED due time or by PUBLISHING claims any more. Each index still cost an entry written
-- by every status change into or out of SCHEDULED/PUBLISHING: a post's publishing lifecycle
-- writes posts twice or three times.
--
-- CONCURRENTLY: no lock that blocks the posts writers; IF EXISTS: a re-run after a crash part-way
-- is safe (each statement runs on its own, outside a transaction).
DROP INDEX CONCURRENTLY IF EXISTS public.posts_scheduled_due_idx;
DROP INDEX CONCURRENTLY IF EXISTS public.posts_publishing_claimed_idx;
DROP INDEX CONCURRENTLY IF EXISTS public.posts_publishing_worker_idx;
