-- dbops:no-transaction
-- 072 built these two for the per-day recompute of mv_daily_post_metrics (a day's published
-- targets, a day's metric rows). Since 093 that relation is kept by deltas of the per-post rollup,
-- whose refresh reads a post's targets and metric rows by post (post_targets_post_status_idx,
-- post_metrics_daily_target_date_key); nothing reads these any more, and every published target
-- and every metric row still paid an entry in them. DROP INDEX CONCURRENTLY: no lock that blocks
-- the writers (one statement at a time, outside a transaction; IF EXISTS so a re-run is safe).
DROP INDEX CONCURRENTLY IF EXISTS public.post_targets_published_day_idx;
DROP INDEX CONCURRENTLY IF EXISTS public.post_metrics_daily_metric_date_idx;
