-- Performance indexes on the monthly-partitioned tables listening_mentions and security_audit_logs.
--
-- CREATE INDEX on a partitioned parent builds the index on every partition and records it on
-- the parent, so each partition dbops.create_monthly_partitions makes later gets it too.
-- CONCURRENTLY is refused on a partitioned parent, so this file is transactional. On a live
-- database with big partitions, the zero-downtime route is per partition: CREATE INDEX ON ONLY
-- the parent (invalid), CREATE INDEX CONCURRENTLY on each partition, then ALTER INDEX ... ATTACH
-- PARTITION each one; the parent index turns valid once all are attached. At deploy time these
-- tables are new, so the plain form holds its lock for moments.
--
-- Same rules as 030: every index serves a named query pattern (COMMENT ON INDEX), no index is a
-- left prefix of another with the same predicate, no volatile or stable function in a predicate.

-- ---------------------------------------------------------------------------------------------
-- listening_mentions (partitioned monthly by published_at)
-- ---------------------------------------------------------------------------------------------
-- Per-query volume and sentiment over a date range: partition pruning on published_at picks the
-- months, this index the query's rows, and the INCLUDE columns make it an index-only scan.
CREATE INDEX IF NOT EXISTS listening_mentions_query_published_idx
  ON public.listening_mentions (listening_query_id, published_at)
  INCLUDE (workspace_id, sentiment, sentiment_score, engagement);
COMMENT ON INDEX public.listening_mentions_query_published_idx IS
  'mention volume and sentiment over time for a listening query and date range, index-only (mention_volume_sentiment.sql); FK listening_queries ON DELETE CASCADE';

CREATE INDEX IF NOT EXISTS listening_mentions_query_engagement_idx
  ON public.listening_mentions (listening_query_id, engagement DESC);
COMMENT ON INDEX public.listening_mentions_query_engagement_idx IS
  'top mentions widget: a listening query''s most engaging mentions in the selected months (pruning picks the months, the index the order)';

CREATE INDEX IF NOT EXISTS listening_mentions_workspace_published_idx
  ON public.listening_mentions (workspace_id, published_at DESC);
COMMENT ON INDEX public.listening_mentions_workspace_published_idx IS
  'mention feed: all mentions of a workspace, newest first, filtered by platform/sentiment; FK workspaces ON DELETE CASCADE';

CREATE INDEX IF NOT EXISTS listening_mentions_influencer_idx
  ON public.listening_mentions (workspace_id, published_at DESC) INCLUDE (author_reach) WHERE is_influencer;
COMMENT ON INDEX public.listening_mentions_influencer_idx IS
  'influencer mentions feed: mentions of a workspace by known influencers, newest first';

CREATE INDEX IF NOT EXISTS listening_mentions_negative_idx
  ON public.listening_mentions (workspace_id, published_at DESC) WHERE sentiment = 'negative';
COMMENT ON INDEX public.listening_mentions_negative_idx IS
  'crisis alerting: negative mentions of a workspace in the last window, newest first';

CREATE INDEX IF NOT EXISTS listening_mentions_unscored_idx
  ON public.listening_mentions (collected_at) WHERE sentiment IS NULL;
COMMENT ON INDEX public.listening_mentions_unscored_idx IS
  'sentiment scoring worker: mentions not scored yet, oldest collected first (the queue empties as they are scored)';

CREATE INDEX IF NOT EXISTS listening_mentions_author_idx
  ON public.listening_mentions (platform, lower(author_handle), published_at DESC);
COMMENT ON INDEX public.listening_mentions_author_idx IS
  'author profile: recent mentions by one author on a platform (case-insensitive handle), newest first';

CREATE INDEX IF NOT EXISTS listening_mentions_author_handle_trgm_idx
  ON public.listening_mentions USING gin (author_handle gin_trgm_ops);
COMMENT ON INDEX public.listening_mentions_author_handle_trgm_idx IS
  'mention search by author handle substring: author_handle ILIKE ''%fragment%'' (trigram)';

CREATE INDEX IF NOT EXISTS listening_mentions_keywords_gin_idx
  ON public.listening_mentions USING gin (keywords);
COMMENT ON INDEX public.listening_mentions_keywords_gin_idx IS
  'array contains: mentions that matched given keywords (keywords @> $n), e.g. the keyword drill-down of a trend chart';

-- Rows arrive in collection order, so collected_at follows the physical order inside a partition.
CREATE INDEX IF NOT EXISTS listening_mentions_collected_at_brin
  ON public.listening_mentions USING brin (collected_at);
COMMENT ON INDEX public.listening_mentions_collected_at_brin IS
  'ingest monitoring: mentions collected in the last window (throughput, crawler lag), append-only BRIN';

-- ---------------------------------------------------------------------------------------------
-- security_audit_logs (partitioned monthly by occurred_at)
-- ---------------------------------------------------------------------------------------------
CREATE INDEX IF NOT EXISTS security_audit_logs_workspace_occurred_idx
  ON public.security_audit_logs (workspace_id, occurred_at DESC);
COMMENT ON INDEX public.security_audit_logs_workspace_occurred_idx IS
  'audit log: one workspace''s events in a time range, newest first, limited (audit_log_range.sql)';

CREATE INDEX IF NOT EXISTS security_audit_logs_workspace_action_idx
  ON public.security_audit_logs (workspace_id, action, occurred_at DESC);
COMMENT ON INDEX public.security_audit_logs_workspace_action_idx IS
  'audit log filtered by action: one workspace''s events of one action (e.g. member.removed) in a time range, newest first';

CREATE INDEX IF NOT EXISTS security_audit_logs_system_idx
  ON public.security_audit_logs (occurred_at DESC) WHERE workspace_id IS NULL;
COMMENT ON INDEX public.security_audit_logs_system_idx IS
  'platform admin console: system events (no workspace) in a time range, newest first';

CREATE INDEX IF NOT EXISTS security_audit_logs_user_occurred_idx
  ON public.security_audit_logs (user_id, occurred_at DESC) WHERE user_id IS NOT NULL;
COMMENT ON INDEX public.security_audit_logs_user_occurred_idx IS
  'user activity trail: one user''s security events, newest first (account takeover investigation, GDPR export)';

CREATE INDEX IF NOT EXISTS security_audit_logs_action_occurred_idx
  ON public.security_audit_logs (action, occurred_at DESC);
COMMENT ON INDEX public.security_audit_logs_action_occurred_idx IS
  'security alerting: all events of one action across workspaces in the last window (e.g. api_key.created, sso.disabled)';

CREATE INDEX IF NOT EXISTS security_audit_logs_login_failures_idx
  ON public.security_audit_logs (ip_address, occurred_at DESC) WHERE action = 'auth.login_failed';
COMMENT ON INDEX public.security_audit_logs_login_failures_idx IS
  'brute-force guard at sign-in: failed logins from one IP address in the last minutes';

CREATE INDEX IF NOT EXISTS security_audit_logs_ip_gist_idx
  ON public.security_audit_logs USING gist (ip_address inet_ops) WHERE ip_address IS NOT NULL;
COMMENT ON INDEX public.security_audit_logs_ip_gist_idx IS
  'incident investigation: events from an address or subnet (ip_address <<= $n::cidr), GiST inet_ops';

CREATE INDEX IF NOT EXISTS security_audit_logs_resource_idx
  ON public.security_audit_logs (resource_type, resource_id, occurred_at DESC) WHERE resource_id IS NOT NULL;
COMMENT ON INDEX public.security_audit_logs_resource_idx IS
  'resource history: every security event about one resource (a post, an API key, a member), newest first';

CREATE INDEX IF NOT EXISTS security_audit_logs_metadata_gin_idx
  ON public.security_audit_logs USING gin (metadata jsonb_path_ops);
COMMENT ON INDEX public.security_audit_logs_metadata_gin_idx IS
  'audit search by detail: events whose metadata contains a document (metadata @> $n::jsonb, e.g. {"session_id": ...})';

-- Append-only within each partition: occurred_at follows the physical order, so a BRIN of a few
-- pages serves whole-platform range scans (SIEM export, compliance reports) that no workspace
-- bounds; a single workspace's range uses the btree above.
CREATE INDEX IF NOT EXISTS security_audit_logs_occurred_at_brin
  ON public.security_audit_logs USING brin (occurred_at);
COMMENT ON INDEX public.security_audit_logs_occurred_at_brin IS
  'SIEM export and compliance reports: all events in a time range across workspaces (append-only, BRIN)';
