-- dbops:no-transaction
-- Performance indexes on the platform's plain (non-partitioned) tables.
--
-- Every index is built CONCURRENTLY, so a live table keeps taking writes while it builds; that
-- cannot run inside a transaction, hence the marker above: the runner sends one statement at a
-- time, drops an INVALID leftover of a crashed build first, and IF NOT EXISTS makes a re-run safe.
--
-- Rules this file keeps (test/sql/indexes.test.ts checks them):
-- * each index serves a query pattern, named in its COMMENT ON INDEX (the files in sql/queries/
--   are the hottest of them and test/sql/query-plans.test.ts proves the planner uses them);
-- * no index is a left prefix of another with the same predicate (the longer one serves both);
-- * partial-index predicates use only immutable expressions: never now()/current_timestamp,
--   whose value at build time would freeze into the index. "Due" is decided by the query;
-- * a foreign key that is the target of ON DELETE CASCADE / SET NULL / RESTRICT checks gets an
--   index leading with its column (else each parent delete scans the child table), usually a
--   composite that a query needs anyway. Partial "WHERE col IS NOT NULL" suffices for nullable
--   keys: the referential check looks for rows equal to the deleted key, never for NULLs.
-- Indexes on the partitioned parents are in 031 (CONCURRENTLY is refused on a partitioned table).

-- ---------------------------------------------------------------------------------------------
-- users: sign-in, admin search, account hygiene
-- ---------------------------------------------------------------------------------------------
-- Sign-in itself uses users_email_lower_key (010), the unique lower(email) index.
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_active_last_login_idx
  ON public.users (last_login_at) WHERE is_active;
COMMENT ON INDEX public.users_active_last_login_idx IS
  'auth: dormant-account sweep, active users whose last sign-in is before a cutoff (oldest first), and the recently-active list (backward scan)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_trgm_idx
  ON public.users USING gin (email gin_trgm_ops);
COMMENT ON INDEX public.users_email_trgm_idx IS
  'admin/support user search: email ILIKE ''%fragment%'' (trigram)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS users_display_name_trgm_idx
  ON public.users USING gin (display_name gin_trgm_ops);
COMMENT ON INDEX public.users_display_name_trgm_idx IS
  'member picker / mention autocomplete: display_name ILIKE ''%fragment%'' (trigram)';

-- Users are only ever appended, so created_at follows the physical order: a BRIN of a few pages
-- answers date-range scans that a btree would answer with megabytes of index.
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_created_at_brin
  ON public.users USING brin (created_at);
COMMENT ON INDEX public.users_created_at_brin IS
  'growth analytics: sign-ups in a created_at range (append-only, BRIN)';

-- ---------------------------------------------------------------------------------------------
-- workspaces and membership: tenancy and authorization
-- ---------------------------------------------------------------------------------------------
CREATE INDEX CONCURRENTLY IF NOT EXISTS workspaces_name_trgm_idx
  ON public.workspaces USING gin (name gin_trgm_ops);
COMMENT ON INDEX public.workspaces_name_trgm_idx IS
  'admin/support workspace search: name ILIKE ''%fragment%'' (trigram)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS workspaces_created_at_brin
  ON public.workspaces USING brin (created_at);
COMMENT ON INDEX public.workspaces_created_at_brin IS
  'growth analytics: workspaces created in a date range (append-only, BRIN)';

-- The unique (workspace_id, user_id) key serves "members of a workspace"; this is the other way.
CREATE INDEX CONCURRENTLY IF NOT EXISTS workspace_members_user_idx
  ON public.workspace_members (user_id) INCLUDE (workspace_id, role);
COMMENT ON INDEX public.workspace_members_user_idx IS
  'authorization at sign-in: the workspaces and roles of one user (index-only); FK users ON DELETE CASCADE';

CREATE INDEX CONCURRENTLY IF NOT EXISTS workspace_members_workspace_role_idx
  ON public.workspace_members (workspace_id, role) INCLUDE (user_id);
COMMENT ON INDEX public.workspace_members_workspace_role_idx IS
  'authorization/notifications: owners and admins of a workspace (approvals, billing mail), index-only';

-- ---------------------------------------------------------------------------------------------
-- social_accounts: platform operations
-- ---------------------------------------------------------------------------------------------
CREATE INDEX CONCURRENTLY IF NOT EXISTS social_accounts_workspace_platform_idx
  ON public.social_accounts (workspace_id, platform) INCLUDE (status, handle);
COMMENT ON INDEX public.social_accounts_workspace_platform_idx IS
  'workspace isolation: connected accounts of a workspace, optionally one platform (composer account picker); FK workspaces ON DELETE CASCADE';

CREATE INDEX CONCURRENTLY IF NOT EXISTS social_accounts_token_expiry_idx
  ON public.social_accounts (token_expires_at) WHERE status = 'active';
COMMENT ON INDEX public.social_accounts_token_expiry_idx IS
  'token refresher: active accounts whose OAuth token expires before a given time, soonest first';

CREATE INDEX CONCURRENTLY IF NOT EXISTS social_accounts_platform_status_idx
  ON public.social_accounts (platform, status);
COMMENT ON INDEX public.social_accounts_platform_status_idx IS
  'platform operations: all accounts of one platform in a status (API outage pause/resume, forced re-auth after a platform policy change)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS social_accounts_needs_attention_idx
  ON public.social_accounts (workspace_id, status) WHERE status <> 'active';
COMMENT ON INDEX public.social_accounts_needs_attention_idx IS
  'workspace banner: accounts of a workspace that are expired, disconnected or suspended and need reconnecting';

CREATE INDEX CONCURRENTLY IF NOT EXISTS social_accounts_handle_trgm_idx
  ON public.social_accounts USING gin (handle gin_trgm_ops);
COMMENT ON INDEX public.social_accounts_handle_trgm_idx IS
  'account search by handle substring: handle ILIKE ''%fragment%'' (trigram)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS social_accounts_connected_by_idx
  ON public.social_accounts (connected_by) WHERE connected_by IS NOT NULL;
COMMENT ON INDEX public.social_accounts_connected_by_idx IS
  'FK users ON DELETE SET NULL: accounts a deleted user connected; also "accounts I connected"';

-- ---------------------------------------------------------------------------------------------
-- campaigns
-- ---------------------------------------------------------------------------------------------
CREATE INDEX CONCURRENTLY IF NOT EXISTS campaigns_workspace_status_idx
  ON public.campaigns (workspace_id, status, start_date DESC, id DESC);
COMMENT ON INDEX public.campaigns_workspace_status_idx IS
  'campaign performance: campaigns of a workspace in one status, newest start first (campaign_performance.sql); FK workspaces ON DELETE CASCADE';

CREATE INDEX CONCURRENTLY IF NOT EXISTS campaigns_workspace_created_idx
  ON public.campaigns (workspace_id, created_at DESC);
COMMENT ON INDEX public.campaigns_workspace_created_idx IS
  'campaign list: all campaigns of a workspace, most recently created first, paginated';

CREATE INDEX CONCURRENTLY IF NOT EXISTS campaigns_workspace_dates_idx
  ON public.campaigns (workspace_id, start_date, end_date);
COMMENT ON INDEX public.campaigns_workspace_dates_idx IS
  'campaign calendar: campaigns of a workspace overlapping a date range (start_date <= range end, end_date >= range start)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS campaigns_active_end_date_idx
  ON public.campaigns (end_date) WHERE status = 'active';
COMMENT ON INDEX public.campaigns_active_end_date_idx IS
  'campaign closer job: active campaigns whose end_date has passed, to mark them completed';

CREATE INDEX CONCURRENTLY IF NOT EXISTS campaigns_tags_gin_idx
  ON public.campaigns USING gin (tags);
COMMENT ON INDEX public.campaigns_tags_gin_idx IS
  'tag search: campaigns whose tags contain all given tags (tags @> $n) or any (tags && $n)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS campaigns_name_trgm_idx
  ON public.campaigns USING gin (name gin_trgm_ops);
COMMENT ON INDEX public.campaigns_name_trgm_idx IS
  'campaign picker: name ILIKE ''%fragment%'' (trigram)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS campaigns_created_by_idx
  ON public.campaigns (created_by) WHERE created_by IS NOT NULL;
COMMENT ON INDEX public.campaigns_created_by_idx IS
  'FK users ON DELETE SET NULL: campaigns a deleted user created';

-- ---------------------------------------------------------------------------------------------
-- posts: scheduling, publishing queue, content lists, search
-- ---------------------------------------------------------------------------------------------
-- The publishing queue. Only SCHEDULED rows are in it, so it stays small however many posts
-- exist, and a claimed post leaves it the moment its status changes. The due test
-- (scheduled_at <= now) belongs in the query: a now() here would be evaluated once, at build.
CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_scheduled_due_idx
  ON public.posts (scheduled_at) WHERE status = 'SCHEDULED';
COMMENT ON INDEX public.posts_scheduled_due_idx IS
  'scheduled post processing: claim due SCHEDULED posts oldest first, FOR UPDATE SKIP LOCKED (scheduled_post_claim.sql)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_publishing_claimed_idx
  ON public.posts (claimed_at) WHERE status = 'PUBLISHING';
COMMENT ON INDEX public.posts_publishing_claimed_idx IS
  'scheduled post processing: stuck-claim reaper, PUBLISHING posts claimed before a cutoff go back to SCHEDULED';

-- A worker that shuts down (deploy, scale-in) hands its own claims back at once instead of
-- leaving them for the reaper.
CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_publishing_worker_idx
  ON public.posts (claimed_by) WHERE status = 'PUBLISHING';
COMMENT ON INDEX public.posts_publishing_worker_idx IS
  'scheduled post processing: a stopping publisher releases the PUBLISHING posts it claimed (claimed_by = its id) back to SCHEDULED';

CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_failed_retry_idx
  ON public.posts (updated_at) INCLUDE (publish_attempts) WHERE status = 'FAILED';
COMMENT ON INDEX public.posts_failed_retry_idx IS
  'scheduled post processing: automatic retry of FAILED posts, oldest failure first, attempts checked from the index';

CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_workspace_status_updated_idx
  ON public.posts (workspace_id, status, updated_at DESC);
COMMENT ON INDEX public.posts_workspace_status_updated_idx IS
  'post status: posts of a workspace in one status by last change (drafts, approval queue, failed list); FK workspaces ON DELETE CASCADE';

CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_workspace_created_idx
  ON public.posts (workspace_id, created_at DESC);
COMMENT ON INDEX public.posts_workspace_created_idx IS
  'post list: all posts of a workspace, newest first, keyset paginated; also full_text_search.sql''s newest-first walk when a common word matches most posts';

CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_workspace_updated_idx
  ON public.posts (workspace_id, updated_at);
COMMENT ON INDEX public.posts_workspace_updated_idx IS
  'delta sync: posts of a workspace changed since a client''s cursor (mobile/offline clients, webhooks)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_workspace_calendar_idx
  ON public.posts (workspace_id, scheduled_at) WHERE scheduled_at IS NOT NULL;
COMMENT ON INDEX public.posts_workspace_calendar_idx IS
  'content calendar: posts of a workspace scheduled within a date range';

CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_workspace_published_idx
  ON public.posts (workspace_id, published_at DESC) WHERE status = 'PUBLISHED';
COMMENT ON INDEX public.posts_workspace_published_idx IS
  'dashboard analytics: published posts of a workspace in a date range, top performers (dashboard_analytics.sql)';

-- id in INCLUDE: campaign_performance counts a campaign's posts by status and walks to their
-- targets from this index alone (index-only), without visiting each post's heap page.
CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_campaign_idx
  ON public.posts (campaign_id, status) INCLUDE (id) WHERE campaign_id IS NOT NULL;
COMMENT ON INDEX public.posts_campaign_idx IS
  'campaign performance: posts of a campaign by status and their ids, index-only (campaign_performance.sql); FK campaigns ON DELETE SET NULL';

CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_author_created_idx
  ON public.posts (author_id, created_at DESC);
COMMENT ON INDEX public.posts_author_created_idx IS
  '"my posts": posts by one author, newest first; FK users (no action): deleting a user must find its posts';

-- Tag and text search always run inside one workspace. A GIN on the array or tsvector alone
-- returns every tenant's matches (a common word: ~15% of all posts) to be ANDed with a workspace
-- bitmap; with workspace_id as a GIN column (btree_gin, 001) the index yields only the tenant's
-- rows. A multicolumn GIN answers a condition on any subset of its columns, so the same index
-- still serves tags/search_vector without a workspace filter (QueryBuilder.tagsContainAll,
-- tagsOverlap, fullTextSearch): no single-column twin is needed.
CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_workspace_tags_gin_idx
  ON public.posts USING gin (workspace_id, tags);
COMMENT ON INDEX public.posts_workspace_tags_gin_idx IS
  'tag search: a workspace''s posts whose tags contain all given tags, tags @> $n (tag_search.sql); also tags @> / && across workspaces';

CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_workspace_search_vector_gin_idx
  ON public.posts USING gin (workspace_id, search_vector);
COMMENT ON INDEX public.posts_workspace_search_vector_gin_idx IS
  'full-text search: a workspace''s posts matching websearch_to_tsquery(''english'', $n), best of the newest matches (full_text_search.sql); also search_vector @@ across workspaces';

CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_title_trgm_idx
  ON public.posts USING gin (title gin_trgm_ops);
COMMENT ON INDEX public.posts_title_trgm_idx IS
  'post picker: title ILIKE ''%fragment%'' where a word-based full-text match would miss partial words (trigram)';

-- ---------------------------------------------------------------------------------------------
-- post_targets: one row per post and destination account
-- ---------------------------------------------------------------------------------------------
-- The unique (post_id, social_account_id) key serves the per-post fan-out and the FK to posts.
-- Campaign and dashboard totals walk post -> targets -> metrics for hundreds or thousands of
-- posts. The unique key has post_id but not the target's id, so each step would visit the heap;
-- with id and status included it is an index-only scan (status decides whether the target can
-- have metrics at all, so unpublished targets cost no metrics lookup).
CREATE INDEX CONCURRENTLY IF NOT EXISTS post_targets_post_status_idx
  ON public.post_targets (post_id) INCLUDE (id, status);
COMMENT ON INDEX public.post_targets_post_status_idx IS
  'campaign performance and dashboard top posts: targets of a post with their id and status, index-only (campaign_performance.sql, dashboard_analytics.sql)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS post_targets_account_published_idx
  ON public.post_targets (social_account_id, published_at DESC);
COMMENT ON INDEX public.post_targets_account_published_idx IS
  'account publishing history: targets of one social account, latest publication first; FK social_accounts ON DELETE CASCADE';

CREATE INDEX CONCURRENTLY IF NOT EXISTS post_targets_account_in_flight_idx
  ON public.post_targets (social_account_id) WHERE status = 'publishing';
COMMENT ON INDEX public.post_targets_account_in_flight_idx IS
  'publisher rate limiting: count of targets currently publishing on one account before sending another';

CREATE INDEX CONCURRENTLY IF NOT EXISTS post_targets_external_post_idx
  ON public.post_targets (external_post_id) WHERE external_post_id IS NOT NULL;
COMMENT ON INDEX public.post_targets_external_post_idx IS
  'platform webhooks and metric collector: find the target of a platform post id (comment, insight and deletion events)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS post_targets_failed_retry_idx
  ON public.post_targets (updated_at) INCLUDE (attempts) WHERE status = 'failed';
COMMENT ON INDEX public.post_targets_failed_retry_idx IS
  'scheduled post processing: per-account retry of failed targets, oldest failure first, attempts read from the index';

CREATE INDEX CONCURRENTLY IF NOT EXISTS post_targets_publishing_stuck_idx
  ON public.post_targets (updated_at) WHERE status = 'publishing';
COMMENT ON INDEX public.post_targets_publishing_stuck_idx IS
  'scheduled post processing: reaper for targets stuck in publishing since before a cutoff (worker died mid-call)';

-- ---------------------------------------------------------------------------------------------
-- post_metrics_daily: the metric collector's upsert target
-- ---------------------------------------------------------------------------------------------
-- The unique (post_target_id, metric_date) key serves per-target lookups and the FK.
CREATE INDEX CONCURRENTLY IF NOT EXISTS post_metrics_daily_metric_date_brin
  ON public.post_metrics_daily USING brin (metric_date);
COMMENT ON INDEX public.post_metrics_daily_metric_date_brin IS
  'analytics retention and backfill: metric rows of a metric_date range (rows arrive day by day, BRIN)';

-- Totals of a target over all its days, index-only: campaign_performance and dashboard_analytics
-- sum thousands of targets per request, and a target's days sit on different heap pages (rows
-- arrive day by day), so the heap visits would double the pages read. The cost: the metric
-- columns are now indexed, so the collector's same-day re-upserts are no longer HOT updates;
-- a target's row for a day is rewritten a few times at most, while the reads run all day.
CREATE INDEX CONCURRENTLY IF NOT EXISTS post_metrics_daily_target_totals_idx
  ON public.post_metrics_daily (post_target_id)
  INCLUDE (impressions, reach, likes, comments, shares, saves, clicks);
COMMENT ON INDEX public.post_metrics_daily_target_totals_idx IS
  'campaign performance and dashboard top posts: a target''s metrics summed over all days, index-only (campaign_performance.sql, dashboard_analytics.sql)';

-- ---------------------------------------------------------------------------------------------
-- sla_policies
-- ---------------------------------------------------------------------------------------------
CREATE INDEX CONCURRENTLY IF NOT EXISTS sla_policies_workspace_priority_idx
  ON public.sla_policies (workspace_id, priority)
  INCLUDE (first_response_minutes, resolution_minutes) WHERE is_active;
COMMENT ON INDEX public.sla_policies_workspace_priority_idx IS
  'SLA assignment on conversation ingest: the active policy of a workspace for a priority, deadlines read from the index';

-- ---------------------------------------------------------------------------------------------
-- conversations: the inbox
-- ---------------------------------------------------------------------------------------------
-- The inbox query filters one status and sorts by last activity with (last_message_at, id) as
-- the keyset cursor; both sort columns are in the key so a page is a bounded index range.
CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_inbox_idx
  ON public.conversations (workspace_id, status, last_message_at DESC, id DESC);
COMMENT ON INDEX public.conversations_inbox_idx IS
  'inbox: conversations of a workspace filtered by status (and priority) sorted by last_message_at desc, keyset paginated (inbox_filter_sort.sql); FK workspaces ON DELETE CASCADE';

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_open_priority_idx
  ON public.conversations (workspace_id, priority, last_message_at DESC)
  WHERE status IN ('open', 'pending');
COMMENT ON INDEX public.conversations_open_priority_idx IS
  'inbox "urgent first" view: open/pending conversations of a workspace of one priority, latest activity first';

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_open_type_idx
  ON public.conversations (workspace_id, type, last_message_at DESC)
  WHERE status IN ('open', 'pending');
COMMENT ON INDEX public.conversations_open_type_idx IS
  'inbox tabs: open/pending comments, direct messages, mentions or reviews of a workspace, latest activity first';

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_account_last_message_idx
  ON public.conversations (social_account_id, last_message_at DESC);
COMMENT ON INDEX public.conversations_account_last_message_idx IS
  'inbox filtered to one connected account, latest activity first (the unique (social_account_id, external_thread_id) key cannot sort)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_assignee_idx
  ON public.conversations (assignee_id, status, last_message_at DESC) WHERE assignee_id IS NOT NULL;
COMMENT ON INDEX public.conversations_assignee_idx IS
  'inbox "assigned to me": an agent''s conversations in one status, latest activity first; FK users ON DELETE SET NULL';

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_unassigned_idx
  ON public.conversations (workspace_id, created_at)
  WHERE assignee_id IS NULL AND status IN ('open', 'pending');
COMMENT ON INDEX public.conversations_unassigned_idx IS
  'assignment queue: unassigned open/pending conversations of a workspace, oldest first (round-robin auto-assign)';

-- SLA deadlines: only conversations still waiting are in these, so they stay small.
CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_first_response_due_idx
  ON public.conversations (workspace_id, first_response_due_at)
  WHERE first_response_at IS NULL AND status IN ('open', 'pending');
COMMENT ON INDEX public.conversations_first_response_due_idx IS
  'SLA breach monitoring: unanswered conversations of a workspace whose first-response deadline is before a time, most overdue first (sla_breach_monitor.sql)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_resolution_due_idx
  ON public.conversations (workspace_id, resolution_due_at)
  WHERE resolved_at IS NULL AND status IN ('open', 'pending');
COMMENT ON INDEX public.conversations_resolution_due_idx IS
  'SLA breach monitoring: unresolved conversations of a workspace whose resolution deadline is before a time, most overdue first (sla_breach_monitor.sql)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_first_response_escalation_idx
  ON public.conversations (first_response_due_at)
  WHERE first_response_at IS NULL AND status IN ('open', 'pending');
COMMENT ON INDEX public.conversations_first_response_escalation_idx IS
  'SLA escalation notifier (every minute, all workspaces): unanswered conversations whose first-response deadline just passed';

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_resolved_idx
  ON public.conversations (workspace_id, resolved_at DESC) WHERE status IN ('resolved', 'closed');
COMMENT ON INDEX public.conversations_resolved_idx IS
  'inbox "done" tab and CSAT survey sender: conversations of a workspace resolved in a period, latest first';

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_negative_open_idx
  ON public.conversations (workspace_id, last_message_at DESC)
  WHERE sentiment = 'negative' AND status IN ('open', 'pending');
COMMENT ON INDEX public.conversations_negative_open_idx IS
  'escalation view: open/pending conversations of a workspace with negative sentiment, latest activity first';

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_workspace_created_idx
  ON public.conversations (workspace_id, created_at DESC);
COMMENT ON INDEX public.conversations_workspace_created_idx IS
  'conversation analytics: conversations of a workspace opened in a date range (today''s live figures beside mv_conversation_metrics)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_workspace_updated_idx
  ON public.conversations (workspace_id, updated_at);
COMMENT ON INDEX public.conversations_workspace_updated_idx IS
  'delta sync: conversations of a workspace changed since a realtime client''s cursor (reconnect catch-up)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_workspace_contact_idx
  ON public.conversations (workspace_id, lower(contact_handle), created_at DESC)
  WHERE contact_handle IS NOT NULL;
COMMENT ON INDEX public.conversations_workspace_contact_idx IS
  'contact history sidebar: earlier conversations with the same contact handle (case-insensitive), newest first';

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_contact_handle_trgm_idx
  ON public.conversations USING gin (contact_handle gin_trgm_ops);
COMMENT ON INDEX public.conversations_contact_handle_trgm_idx IS
  'inbox search by contact: contact_handle ILIKE ''%fragment%'' (trigram)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_tags_gin_idx
  ON public.conversations USING gin (tags);
COMMENT ON INDEX public.conversations_tags_gin_idx IS
  'inbox tag filter: conversations whose tags contain the given tags (tags @> $n)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_sla_policy_idx
  ON public.conversations (sla_policy_id) WHERE sla_policy_id IS NOT NULL;
COMMENT ON INDEX public.conversations_sla_policy_idx IS
  'FK sla_policies ON DELETE SET NULL; also re-computing deadlines of open conversations when a policy changes';

-- ---------------------------------------------------------------------------------------------
-- messages
-- ---------------------------------------------------------------------------------------------
-- The unique (conversation_id, external_message_id) key serves the FK and webhook dedupe.
CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_conversation_sent_idx
  ON public.messages (conversation_id, sent_at DESC);
COMMENT ON INDEX public.messages_conversation_sent_idx IS
  'conversation thread view: messages of a conversation, latest first, paginated';

CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_external_message_idx
  ON public.messages (external_message_id) WHERE external_message_id IS NOT NULL;
COMMENT ON INDEX public.messages_external_message_idx IS
  'platform webhooks: edit/delete events that carry only the platform''s message id (e.g. a deleted Instagram comment)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_author_user_idx
  ON public.messages (author_user_id, sent_at DESC) WHERE author_user_id IS NOT NULL;
COMMENT ON INDEX public.messages_author_user_idx IS
  'agent performance: replies sent by one team member in a period; FK users ON DELETE SET NULL';

CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_unscored_idx
  ON public.messages (created_at) WHERE sentiment IS NULL AND direction = 'inbound';
COMMENT ON INDEX public.messages_unscored_idx IS
  'sentiment scoring worker: inbound messages not scored yet, oldest first (the queue empties as they are scored)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_body_fts_idx
  ON public.messages USING gin (to_tsvector('english', body));
COMMENT ON INDEX public.messages_body_fts_idx IS
  'inbox search in message text: to_tsvector(''english'', body) @@ websearch_to_tsquery(''english'', $n)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_sent_at_brin
  ON public.messages USING brin (sent_at);
COMMENT ON INDEX public.messages_sent_at_brin IS
  'message volume analytics and retention: messages sent in a time range (append-mostly, BRIN)';

-- ---------------------------------------------------------------------------------------------
-- listening_queries
-- ---------------------------------------------------------------------------------------------
CREATE INDEX CONCURRENTLY IF NOT EXISTS listening_queries_keywords_gin_idx
  ON public.listening_queries USING gin (keywords);
COMMENT ON INDEX public.listening_queries_keywords_gin_idx IS
  'array contains: the queries that track a keyword (keywords @> ARRAY[$n]), for the crawler''s keyword fan-out';

CREATE INDEX CONCURRENTLY IF NOT EXISTS listening_queries_created_by_idx
  ON public.listening_queries (created_by) WHERE created_by IS NOT NULL;
COMMENT ON INDEX public.listening_queries_created_by_idx IS
  'FK users ON DELETE SET NULL: listening queries a deleted user created';

-- ---------------------------------------------------------------------------------------------
-- influencers
-- ---------------------------------------------------------------------------------------------
CREATE INDEX CONCURRENTLY IF NOT EXISTS influencers_workspace_category_idx
  ON public.influencers (workspace_id, category, name);
COMMENT ON INDEX public.influencers_workspace_category_idx IS
  'influencer directory: influencers of a workspace in a category, by name; FK workspaces ON DELETE CASCADE';

CREATE INDEX CONCURRENTLY IF NOT EXISTS influencers_workspace_created_idx
  ON public.influencers (workspace_id, created_at DESC);
COMMENT ON INDEX public.influencers_workspace_created_idx IS
  'influencer directory default sort: recently added influencers of a workspace, paginated';

CREATE INDEX CONCURRENTLY IF NOT EXISTS influencers_tags_gin_idx
  ON public.influencers USING gin (tags);
COMMENT ON INDEX public.influencers_tags_gin_idx IS
  'influencer tag search: influencers whose tags contain the given tags (tags @> $n)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS influencers_name_trgm_idx
  ON public.influencers USING gin (name gin_trgm_ops);
COMMENT ON INDEX public.influencers_name_trgm_idx IS
  'influencer search: name ILIKE ''%fragment%'' (trigram)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS influencer_accounts_platform_handle_idx
  ON public.influencer_accounts (platform, lower(handle)) INCLUDE (influencer_id);
COMMENT ON INDEX public.influencer_accounts_platform_handle_idx IS
  'listening ingest: is a mention''s author (platform, handle) a known influencer, case-insensitive (index-only)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS influencer_accounts_handle_trgm_idx
  ON public.influencer_accounts USING gin (handle gin_trgm_ops);
COMMENT ON INDEX public.influencer_accounts_handle_trgm_idx IS
  'influencer search by social handle substring: handle ILIKE ''%fragment%'' (trigram)';

CREATE INDEX CONCURRENTLY IF NOT EXISTS influencer_collaborations_influencer_status_idx
  ON public.influencer_collaborations (influencer_id, status)
  INCLUDE (compensation, attributed_revenue, conversions, engagements);
COMMENT ON INDEX public.influencer_collaborations_influencer_status_idx IS
  'influencer ROI: money and results of an influencer''s collaborations by status (index-only); FK influencers ON DELETE CASCADE';

CREATE INDEX CONCURRENTLY IF NOT EXISTS influencer_collaborations_influencer_start_idx
  ON public.influencer_collaborations (influencer_id, start_date DESC);
COMMENT ON INDEX public.influencer_collaborations_influencer_start_idx IS
  'influencer profile: collaboration timeline, most recent start first';

CREATE INDEX CONCURRENTLY IF NOT EXISTS influencer_collaborations_campaign_idx
  ON public.influencer_collaborations (campaign_id, influencer_id)
  INCLUDE (status, compensation, attributed_revenue, conversions, engagements)
  WHERE campaign_id IS NOT NULL;
COMMENT ON INDEX public.influencer_collaborations_campaign_idx IS
  'influencer ROI per campaign: collaborations of a campaign grouped by influencer, index-only (influencer_roi.sql); FK campaigns ON DELETE SET NULL';

CREATE INDEX CONCURRENTLY IF NOT EXISTS influencer_collaborations_active_end_idx
  ON public.influencer_collaborations (end_date) WHERE status = 'active';
COMMENT ON INDEX public.influencer_collaborations_active_end_idx IS
  'collaboration closer job: active collaborations whose end_date has passed';
