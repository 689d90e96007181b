-- 101 left a fifth of each page free on every analytics relation, so that the refresh's rewrites
-- stay on their page (HOT). Two relations cannot gain from it: their rewrites change an indexed
-- column, and such an update is never HOT, whatever the free space.
--   * analytics_post_engagement: its top-posts index holds engagements, which every new metric
--     row of the post changes.
--   * mv_influencer_metrics: ROI and followers, which its refresh recomputes, are indexed.
-- Their pages go back to full (the default, 100) from the next write; the other six keep 80.
ALTER TABLE public.analytics_post_engagement RESET (fillfactor);
ALTER TABLE public.mv_influencer_metrics RESET (fillfactor);
