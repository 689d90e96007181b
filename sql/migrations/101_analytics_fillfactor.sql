-- Free space on the pages of the analytics relations whose refresh rewrites rows in place without
-- changing an indexed column: the rollup and the daily relations (a recent post's or the day's
-- rows, each hour, as metrics and mentions come in) and the campaign totals. With full pages each
-- such update was non-HOT, a new entry in every index of the relation: measured on the medium
-- data, 144 of 136,356 updates of dbops.analytics_post_days were HOT. A fifth of each page left
-- free keeps the new version on its page. It applies to pages written from now on (a rebuild
-- rewrites only rows that differ; VACUUM FULL would repack the old pages).
-- Left as they are: analytics_post_engagement (its top-posts index holds engagements) and
-- mv_influencer_metrics (ROI and followers are indexed): their rewrites change an indexed column,
-- so no free space would make them HOT.
ALTER TABLE dbops.analytics_post_days SET (fillfactor = 80);
ALTER TABLE public.mv_daily_post_metrics SET (fillfactor = 80);
ALTER TABLE public.mv_daily_workspace_activity SET (fillfactor = 80);
ALTER TABLE public.mv_conversation_metrics SET (fillfactor = 80);
ALTER TABLE public.mv_listening_sentiment_trends SET (fillfactor = 80);
ALTER TABLE public.analytics_campaign_totals SET (fillfactor = 80);
