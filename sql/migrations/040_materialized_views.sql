-- Pre-aggregated analytics. Every view is created WITH NO DATA: aggregating inside a deploy
-- transaction on a live database would hold locks for minutes. The refresh task fills them (a
-- plain refresh first, CONCURRENTLY after) and records each run in dbops.mv_refresh_log.
-- Each view has a UNIQUE index on plain, never-NULL columns, which REFRESH ... CONCURRENTLY needs.
-- Days are UTC calendar days, whatever the session time zone of whoever refreshes.

-- ---------------------------------------------------------------------------------------------
-- mv_daily_post_metrics: per workspace, UTC day, platform and campaign
-- ---------------------------------------------------------------------------------------------
-- Publishing (targets published that day) and performance (metrics collected for that day) are
-- aggregated separately, then joined, so neither multiplies the other.
-- campaign_id is 0 for posts outside any campaign: REFRESH ... CONCURRENTLY needs a unique key on
-- never-NULL columns. It is the key's last column, so a per-workspace/day/platform read sums over
-- it along the key, and the campaign list (campaign_performance.sql) reads a campaign's rows
-- instead of its posts' live metrics. A post has one campaign, so summing the distinct-post
-- counts over campaigns stays exact.
CREATE MATERIALIZED VIEW public.mv_daily_post_metrics AS
WITH published AS (
  SELECT p.workspace_id,
         (pt.published_at AT TIME ZONE 'UTC')::date AS day,
         sa.platform,
         coalesce(p.campaign_id, 0) AS campaign_id,
         count(DISTINCT pt.post_id) AS posts_published,
         count(DISTINCT pt.post_id) FILTER (WHERE p.ai_generated) AS ai_generated_posts
  FROM public.post_targets pt
  JOIN public.posts p ON p.id = pt.post_id
  JOIN public.social_accounts sa ON sa.id = pt.social_account_id
  WHERE pt.status = 'published'
  GROUP BY 1, 2, 3, 4
),
performance AS (
  SELECT p.workspace_id,
         m.metric_date AS day,
         sa.platform,
         coalesce(p.campaign_id, 0) AS campaign_id,
         count(DISTINCT pt.post_id) AS posts_with_metrics,
         sum(m.impressions)::bigint AS impressions,
         sum(m.reach)::bigint AS reach,
         sum(m.likes)::bigint AS likes,
         sum(m.comments)::bigint AS comments,
         sum(m.shares)::bigint AS shares,
         sum(m.saves)::bigint AS saves,
         sum(m.clicks)::bigint AS clicks
  FROM public.post_metrics_daily m
  JOIN public.post_targets pt ON pt.id = m.post_target_id
  JOIN public.posts p ON p.id = pt.post_id
  JOIN public.social_accounts sa ON sa.id = pt.social_account_id
  GROUP BY 1, 2, 3, 4
)
SELECT coalesce(pub.workspace_id, perf.workspace_id) AS workspace_id,
       coalesce(pub.day, perf.day) AS day,
       coalesce(pub.platform, perf.platform) AS platform,
       coalesce(pub.campaign_id, perf.campaign_id) AS campaign_id,
       coalesce(pub.posts_published, 0) AS posts_published,
       coalesce(pub.ai_generated_posts, 0) AS ai_generated_posts,
       round(pub.ai_generated_posts::numeric / nullif(pub.posts_published, 0), 4) AS ai_generated_share,
       coalesce(perf.posts_with_metrics, 0) AS posts_with_metrics,
       coalesce(perf.impressions, 0) AS impressions,
       coalesce(perf.reach, 0) AS reach,
       coalesce(perf.likes, 0) AS likes,
       coalesce(perf.comments, 0) AS comments,
       coalesce(perf.shares, 0) AS shares,
       coalesce(perf.saves, 0) AS saves,
       coalesce(perf.clicks, 0) AS clicks,
       coalesce(perf.likes + perf.comments + perf.shares + perf.saves, 0) AS engagements,
       -- Interactions per impression; NULL when nothing was shown.
       round((perf.likes + perf.comments + perf.shares + perf.saves)::numeric / nullif(perf.impressions, 0), 6) AS engagement_rate
FROM published pub
FULL JOIN performance perf
  ON perf.workspace_id = pub.workspace_id AND perf.day = pub.day AND perf.platform = pub.platform
 AND perf.campaign_id = pub.campaign_id
WITH NO DATA;

CREATE UNIQUE INDEX mv_daily_post_metrics_key ON public.mv_daily_post_metrics (workspace_id, day, platform, campaign_id);

-- ---------------------------------------------------------------------------------------------
-- mv_daily_workspace_activity: per workspace and UTC day
-- ---------------------------------------------------------------------------------------------
-- Three events per post (created, scheduled for, published), each on its own day. The status_*
-- columns are the current status of the posts created that day.
CREATE MATERIALIZED VIEW public.mv_daily_workspace_activity AS
WITH events AS (
  SELECT workspace_id, (created_at AT TIME ZONE 'UTC')::date AS day, 'created'::text AS event,
         status, ai_generated, author_id
    FROM public.posts
  UNION ALL
  SELECT workspace_id, (scheduled_at AT TIME ZONE 'UTC')::date, 'scheduled', status, ai_generated, author_id
    FROM public.posts WHERE scheduled_at IS NOT NULL
  UNION ALL
  SELECT workspace_id, (published_at AT TIME ZONE 'UTC')::date, 'published', status, ai_generated, author_id
    FROM public.posts WHERE published_at IS NOT NULL
)
SELECT workspace_id,
       day,
       count(*) FILTER (WHERE event = 'created') AS posts_created,
       count(*) FILTER (WHERE event = 'scheduled') AS posts_scheduled,
       count(*) FILTER (WHERE event = 'published') AS posts_published,
       count(*) FILTER (WHERE event = 'created' AND ai_generated) AS ai_generated_created,
       count(DISTINCT author_id) FILTER (WHERE event = 'created') AS active_authors,
       count(*) FILTER (WHERE event = 'created' AND status = 'DRAFT') AS status_draft,
       count(*) FILTER (WHERE event = 'created' AND status = 'PENDING_APPROVAL') AS status_pending_approval,
       count(*) FILTER (WHERE event = 'created' AND status = 'APPROVED') AS status_approved,
       count(*) FILTER (WHERE event = 'created' AND status = 'SCHEDULED') AS status_scheduled,
       count(*) FILTER (WHERE event = 'created' AND status = 'PUBLISHING') AS status_publishing,
       count(*) FILTER (WHERE event = 'created' AND status = 'PUBLISHED') AS status_published,
       count(*) FILTER (WHERE event = 'created' AND status = 'FAILED') AS status_failed,
       count(*) FILTER (WHERE event = 'created' AND status = 'ARCHIVED') AS status_archived
FROM events
GROUP BY workspace_id, day
WITH NO DATA;

CREATE UNIQUE INDEX mv_daily_workspace_activity_key ON public.mv_daily_workspace_activity (workspace_id, day);

-- ---------------------------------------------------------------------------------------------
-- mv_conversation_metrics: per workspace, UTC day opened, platform and conversation type
-- ---------------------------------------------------------------------------------------------
-- A breach is a deadline missed, or a deadline already past at refresh time with no answer yet.
CREATE MATERIALIZED VIEW public.mv_conversation_metrics AS
SELECT c.workspace_id,
       (c.created_at AT TIME ZONE 'UTC')::date AS day,
       sa.platform,
       c.type,
       count(*) AS conversations,
       count(*) FILTER (WHERE c.status = 'open') AS open_count,
       count(*) FILTER (WHERE c.status = 'pending') AS pending_count,
       count(*) FILTER (WHERE c.status = 'resolved') AS resolved_count,
       count(*) FILTER (WHERE c.status = 'closed') AS closed_count,
       count(*) FILTER (WHERE c.first_response_at IS NOT NULL) AS responded_count,
       round(avg(extract(epoch FROM c.first_response_at - c.created_at)), 3) AS avg_first_response_seconds,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.first_response_at - c.created_at)))::numeric, 3)
         AS median_first_response_seconds,
       round(avg(extract(epoch FROM c.resolved_at - c.created_at)), 3) AS avg_resolution_seconds,
       round(count(*) FILTER (WHERE c.status IN ('resolved', 'closed'))::numeric / count(*), 4) AS resolution_rate,
       count(*) FILTER (WHERE c.sentiment = 'positive') AS positive_count,
       count(*) FILTER (WHERE c.sentiment = 'neutral') AS neutral_count,
       count(*) FILTER (WHERE c.sentiment = 'negative') AS negative_count,
       count(*) FILTER (WHERE c.sentiment = 'mixed') AS mixed_count,
       count(*) FILTER (WHERE c.sentiment IS NULL) AS unscored_count,
       count(*) FILTER (WHERE c.first_response_due_at < coalesce(c.first_response_at, now())) AS first_response_sla_breaches,
       count(*) FILTER (WHERE c.resolution_due_at < coalesce(c.resolved_at, now())) AS resolution_sla_breaches
FROM public.conversations c
JOIN public.social_accounts sa ON sa.id = c.social_account_id
GROUP BY 1, 2, 3, 4
WITH NO DATA;

CREATE UNIQUE INDEX mv_conversation_metrics_key ON public.mv_conversation_metrics (workspace_id, day, platform, type);

-- ---------------------------------------------------------------------------------------------
-- mv_listening_sentiment_trends: per workspace, listening query and UTC day
-- ---------------------------------------------------------------------------------------------
CREATE MATERIALIZED VIEW public.mv_listening_sentiment_trends AS
SELECT m.workspace_id,
       m.listening_query_id,
       (m.published_at AT TIME ZONE 'UTC')::date AS day,
       count(*) AS mentions,
       count(*) FILTER (WHERE m.sentiment = 'positive') AS positive_count,
       count(*) FILTER (WHERE m.sentiment = 'neutral') AS neutral_count,
       count(*) FILTER (WHERE m.sentiment = 'negative') AS negative_count,
       count(*) FILTER (WHERE m.sentiment = 'mixed') AS mixed_count,
       count(*) FILTER (WHERE m.sentiment IS NULL) AS unscored_count,
       round(avg(m.sentiment_score), 4) AS avg_sentiment_score,
       count(*) FILTER (WHERE m.is_influencer) AS influencer_mentions,
       count(DISTINCT m.author_handle) AS unique_authors,
       sum(m.author_reach)::bigint AS total_reach,
       sum(m.engagement)::bigint AS total_engagement
FROM public.listening_mentions m
GROUP BY 1, 2, 3
WITH NO DATA;

CREATE UNIQUE INDEX mv_listening_sentiment_trends_key
  ON public.mv_listening_sentiment_trends (workspace_id, listening_query_id, day);

-- ---------------------------------------------------------------------------------------------
-- mv_influencer_metrics: per influencer
-- ---------------------------------------------------------------------------------------------
-- Accounts and collaborations are aggregated apart (no fan-out). Money and results count every
-- collaboration that was not cancelled. ROI = (revenue - cost) / cost, NULL when nothing was paid.
CREATE MATERIALIZED VIEW public.mv_influencer_metrics AS
WITH accounts AS (
  SELECT influencer_id,
         count(*) AS accounts,
         sum(followers)::bigint AS total_followers,
         round(avg(engagement_rate), 4) AS avg_engagement_rate
  FROM public.influencer_accounts
  GROUP BY influencer_id
),
collaborations AS (
  SELECT influencer_id,
         count(*) AS collaborations,
         count(*) FILTER (WHERE status = 'active') AS active_collaborations,
         count(*) FILTER (WHERE status = 'completed') AS completed_collaborations,
         coalesce(sum(compensation) FILTER (WHERE status <> 'cancelled'), 0) AS total_compensation,
         coalesce(sum(attributed_revenue) FILTER (WHERE status <> 'cancelled'), 0) AS attributed_revenue,
         coalesce(sum(conversions) FILTER (WHERE status <> 'cancelled'), 0)::bigint AS conversions,
         coalesce(sum(engagements) FILTER (WHERE status <> 'cancelled'), 0)::bigint AS engagements
  FROM public.influencer_collaborations
  GROUP BY influencer_id
)
SELECT i.id AS influencer_id,
       i.workspace_id,
       i.name,
       coalesce(i.category, '') AS category,
       coalesce(a.accounts, 0) AS accounts,
       coalesce(a.total_followers, 0) AS total_followers,
       a.avg_engagement_rate,
       coalesce(c.collaborations, 0) AS collaborations,
       coalesce(c.active_collaborations, 0) AS active_collaborations,
       coalesce(c.completed_collaborations, 0) AS completed_collaborations,
       coalesce(c.total_compensation, 0) AS total_compensation,
       coalesce(c.attributed_revenue, 0) AS attributed_revenue,
       coalesce(c.conversions, 0) AS conversions,
       coalesce(c.engagements, 0) AS engagements,
       round((c.attributed_revenue - c.total_compensation) / nullif(c.total_compensation, 0), 4) AS roi,
       round(c.total_compensation / nullif(c.conversions, 0), 2) AS cost_per_conversion,
       round(c.total_compensation / nullif(c.engagements, 0), 4) AS cost_per_engagement
FROM public.influencers i
LEFT JOIN accounts a ON a.influencer_id = i.id
LEFT JOIN collaborations c ON c.influencer_id = i.id
WITH NO DATA;

CREATE UNIQUE INDEX mv_influencer_metrics_key ON public.mv_influencer_metrics (influencer_id);

-- ---------------------------------------------------------------------------------------------
-- Registry, refresh log, freshness
-- ---------------------------------------------------------------------------------------------
CREATE TABLE dbops.materialized_views (
  view_name      text PRIMARY KEY CHECK (view_name ~ '^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$'),
  refresh_order  integer NOT NULL,
  -- A view never refreshed successfully counts its staleness from here, so its alarm can fire.
  registered_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dbops.materialized_views IS 'Materialized views the refresh task keeps fresh, refreshed in refresh_order.';

INSERT INTO dbops.materialized_views (view_name, refresh_order) VALUES
  ('public.mv_daily_post_metrics', 10),
  ('public.mv_daily_workspace_activity', 20),
  ('public.mv_conversation_metrics', 30),
  ('public.mv_listening_sentiment_trends', 40),
  ('public.mv_influencer_metrics', 50)
ON CONFLICT (view_name) DO NOTHING;

-- Postgres keeps no record of when a materialized view was refreshed; this table does.
CREATE TABLE dbops.mv_refresh_log (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  view_name    text NOT NULL REFERENCES dbops.materialized_views (view_name) ON DELETE CASCADE,
  mode         text NOT NULL CHECK (mode IN ('concurrently', 'complete')),
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz NOT NULL,
  duration_ms  integer NOT NULL CHECK (duration_ms >= 0),
  succeeded    boolean NOT NULL,
  error        text,
  CONSTRAINT mv_refresh_log_finished_after_start CHECK (finished_at >= started_at),
  CONSTRAINT mv_refresh_log_failure_has_error CHECK (succeeded OR error IS NOT NULL)
);
-- mv_freshness reads the latest successful run per view.
CREATE INDEX mv_refresh_log_view_finished_idx ON dbops.mv_refresh_log (view_name, finished_at DESC) WHERE succeeded;

CREATE VIEW dbops.mv_freshness AS
SELECT r.view_name,
       coalesce(m.ispopulated, false) AS populated,
       last.finished_at AS last_refreshed_at,
       extract(epoch FROM now() - last.finished_at)::double precision AS staleness_seconds,
       extract(epoch FROM now() - coalesce(last.finished_at, r.registered_at))::double precision AS age_seconds
FROM dbops.materialized_views r
LEFT JOIN pg_catalog.pg_matviews m
  ON format('%s.%s', m.schemaname, m.matviewname) = r.view_name
LEFT JOIN LATERAL (
  SELECT l.finished_at FROM dbops.mv_refresh_log l
   WHERE l.view_name = r.view_name AND l.succeeded
   ORDER BY l.finished_at DESC LIMIT 1
) last ON true;
COMMENT ON VIEW dbops.mv_freshness IS
  'Per registered view: populated or not, last successful refresh, its age in seconds (NULL when never refreshed), '
  'and age_seconds: since the last success, or since registration when there was none (what the staleness metric publishes).';
