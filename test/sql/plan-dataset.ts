import { ClientBase } from 'pg';

/**
 * A dataset big enough that the planner's choices matter (a seq scan over tens of thousands of
 * rows costs more than an index path, so a missing or unusable index shows in the plan), built
 * set-based in a few seconds. It expects an empty platform schema (ids start at 1). Workspace
 * sizes are skewed like real tenants: workspace 1 holds ~7% of every table, a long tail holds
 * little. Times are relative to now(), spread over the last ~5 months, so range queries span
 * several monthly partitions.
 */
export const PLAN_DATASET_SIZES = {
  workspaces: 200,
  users: 2000,
  campaigns: 3000,
  posts: 80_000,
  conversations: 50_000,
  mentions: 100_000,
  influencers: 5000,
  collaborations: 20_000,
  auditEvents: 100_000,
} as const;

// A workspace id: 1 + floor(200 * r^2) puts ~7% of rows in workspace 1, ~3% in workspace 2 and a
// long tail of small tenants, as on a real multi-tenant platform.
const SKEWED_WORKSPACE = `(1 + floor(${PLAN_DATASET_SIZES.workspaces} * power(random(), 2)))::bigint`;

const WORDS = [
  'summer', 'sale', 'launch', 'product', 'webinar', 'discount', 'giveaway', 'contest', 'holiday', 'brand',
  'story', 'video', 'reel', 'tutorial', 'review', 'customer', 'feedback', 'team', 'event', 'conference',
  'announcement', 'update', 'feature', 'release', 'community', 'partner', 'collaboration', 'influencer', 'growth', 'strategy',
  'marketing', 'content', 'design', 'photo', 'behind', 'scenes', 'recipe', 'travel', 'fitness', 'fashion',
  'beauty', 'tech', 'gadget', 'coffee', 'morning', 'weekend', 'friday', 'deal', 'shipping', 'limited',
  'edition', 'exclusive', 'preview', 'interview', 'podcast', 'newsletter', 'blog', 'guide', 'tips', 'trend',
  'sustainable', 'eco', 'local', 'award',
];

const words = `ARRAY[${WORDS.map((w) => `'${w}'`).join(',')}]::text[]`;
/** n random words from the vocabulary; `seed` must reference the outer row so it is re-run per row. */
const randomText = (n: number, seed: string) =>
  `(SELECT string_agg((${words})[1 + floor(random() * ${WORDS.length})::int], ' ') FROM generate_series(1, ${n}) WHERE ${seed} IS NOT NULL)`;
// Generating text per row is the slow part of a seed, so rows join pools made once, picking an
// entry by a multiplicative hash of their own number (a subscript into a big array would detoast
// the whole array for every row).
const pools = (seed: string) => `
  JOIN pool_texts tx ON tx.i = (${seed}::bigint * 7919) % 4000
  JOIN pool_titles tt ON tt.i = (${seed}::bigint * 104729) % 1000
  JOIN pool_tags tg ON tg.i = (${seed}::bigint * 15485863) % 1000`;

export const PLAN_DATASET_SQL = `
SELECT setseed(0.4242);

CREATE TEMP TABLE pool_texts AS SELECT i, ${randomText(14, 'i')} AS body FROM generate_series(0, 3999) i;
CREATE TEMP TABLE pool_titles AS SELECT i, ${randomText(4, 'i')} AS title FROM generate_series(0, 999) i;
-- 0-3 distinct tags of a Zipf-like vocabulary: tag0 is on a quarter of the rows, tag199 on a few in a thousand.
CREATE TEMP TABLE pool_tags AS
SELECT i, ARRAY(SELECT DISTINCT 'tag' || floor(200 * power(random(), 3))::int
                  FROM generate_series(1, floor(random() * 4)::int) WHERE i IS NOT NULL) AS tags
FROM generate_series(0, 999) i;

-- Months from five back to one ahead (020 made the current month and the next three).
SELECT count(*) FROM dbops.create_monthly_partitions(
  p_months_ahead => 6, p_now => dbops.utc_month_add(dbops.utc_month_start(now()), -5));

INSERT INTO workspaces (name, slug)
SELECT 'Workspace ' || g, 'workspace-' || g FROM generate_series(1, ${PLAN_DATASET_SIZES.workspaces}) g;

INSERT INTO users (email, password_hash, display_name, last_login_at, created_at)
SELECT 'user' || g || '@example.com', 'argon2id$v=19$m=65536$' || md5(g::text), 'User ' || g,
       now() - random() * interval '60 days', now() - interval '200 days' + g * interval '1 minute'
FROM generate_series(1, ${PLAN_DATASET_SIZES.users}) g;

INSERT INTO workspace_members (workspace_id, user_id, role)
SELECT 1 + (u.id - 1) % ${PLAN_DATASET_SIZES.workspaces}, u.id,
       CASE WHEN u.id <= ${PLAN_DATASET_SIZES.workspaces} THEN 'owner' ELSE 'editor' END::workspace_role
FROM users u;

-- Four accounts per workspace.
INSERT INTO social_accounts (workspace_id, platform, external_account_id, handle, status, token_expires_at)
SELECT w.id, (ARRAY['instagram', 'twitter', 'facebook', 'linkedin'])[k]::social_platform,
       'acct-' || w.id || '-' || k, 'brand' || w.id || '_' || k,
       CASE WHEN random() < 0.9 THEN 'active' ELSE 'token_expired' END::social_account_status,
       now() + random() * interval '60 days'
FROM workspaces w CROSS JOIN generate_series(1, 4) k;

INSERT INTO sla_policies (workspace_id, name, priority, first_response_minutes, resolution_minutes)
SELECT w.id, p::text, p, 60, 1440
FROM workspaces w CROSS JOIN unnest(enum_range(NULL::priority_level)) p;

INSERT INTO campaigns (workspace_id, name, status, start_date, end_date, budget, tags, created_by)
SELECT s.ws, 'Campaign ' || s.g,
       (ARRAY['draft', 'active', 'paused', 'completed', 'archived'])[1 + floor(random() * 5)::int]::campaign_status,
       s.start, s.start + 30, round((random() * 20000)::numeric, 2), tg.tags, 1 + floor(random() * ${PLAN_DATASET_SIZES.users})::bigint
FROM (SELECT g, ${SKEWED_WORKSPACE} AS ws, (current_date - floor(random() * 180)::int) AS start
        FROM generate_series(1, ${PLAN_DATASET_SIZES.campaigns}) g) s
${pools('s.g')};

-- Posts: half published, a tenth scheduled (a tenth of those already due), the rest in other states.
INSERT INTO posts (workspace_id, author_id, campaign_id, status, title, content, scheduled_at, published_at,
                   tags, ai_generated, claimed_at, claimed_by, created_at)
SELECT s.ws, 1 + floor(random() * ${PLAN_DATASET_SIZES.users})::bigint,
       CASE WHEN random() < 0.4 THEN cw.ids[1 + floor(random() * cardinality(cw.ids))::int] END,
       s.status, 'Post ' || s.g || ': ' || tt.title, tx.body,
       CASE s.status WHEN 'SCHEDULED' THEN now() + (random() * 20 - 2) * interval '1 day'
                     WHEN 'PUBLISHING' THEN now() - interval '10 minutes'
                     WHEN 'PUBLISHED' THEN s.published END,
       s.published,
       tg.tags, random() < 0.3,
       CASE WHEN s.status = 'PUBLISHING' THEN now() - random() * interval '10 minutes' END,
       CASE WHEN s.status = 'PUBLISHING' THEN 'publisher-' || (s.g % 8) END,
       s.created
FROM (SELECT g, ws, created, status,
             CASE WHEN status = 'PUBLISHED' THEN least(now(), created + random() * interval '2 days') END AS published
        FROM (
      SELECT g, ${SKEWED_WORKSPACE} AS ws, now() - random() * interval '170 days' AS created,
             (CASE WHEN r < 0.50 THEN 'PUBLISHED' WHEN r < 0.60 THEN 'SCHEDULED' WHEN r < 0.80 THEN 'DRAFT'
                   WHEN r < 0.85 THEN 'PENDING_APPROVAL' WHEN r < 0.90 THEN 'APPROVED' WHEN r < 0.93 THEN 'FAILED'
                   WHEN r < 0.98 THEN 'ARCHIVED' ELSE 'PUBLISHING' END)::post_status AS status
        FROM (SELECT g, random() AS r FROM generate_series(1, ${PLAN_DATASET_SIZES.posts}) g) x) y) s
${pools('s.g')}
LEFT JOIN (SELECT workspace_id, array_agg(id) AS ids FROM campaigns GROUP BY workspace_id) cw ON cw.workspace_id = s.ws;

-- One or two targets per post that reached publishing, on the workspace's own accounts.
INSERT INTO post_targets (post_id, social_account_id, status, attempts, external_post_id, published_at)
SELECT p.id, a.id,
       CASE p.status WHEN 'PUBLISHED' THEN 'published' WHEN 'FAILED' THEN 'failed' ELSE 'publishing' END::post_target_status,
       1, CASE WHEN p.status = 'PUBLISHED' THEN 'ext-' || p.id || '-' || a.id END, p.published_at
FROM posts p
JOIN social_accounts a ON a.workspace_id = p.workspace_id
WHERE p.status IN ('PUBLISHED', 'FAILED', 'PUBLISHING')
  AND (a.platform = (ARRAY['instagram', 'twitter', 'facebook', 'linkedin'])[1 + p.id % 4]::social_platform
       OR (a.platform = (ARRAY['instagram', 'twitter', 'facebook', 'linkedin'])[1 + (p.id + 1) % 4]::social_platform AND p.id % 3 = 0));

-- Two days of metrics per published target.
INSERT INTO post_metrics_daily (post_target_id, metric_date, impressions, reach, likes, comments, shares, saves, clicks)
SELECT t.id, (t.published_at AT TIME ZONE 'UTC')::date + d, i, (i * 0.7)::bigint, (i * 0.05)::bigint,
       (i * 0.01)::bigint, (i * 0.005)::bigint, (i * 0.003)::bigint, (i * 0.02)::bigint
FROM post_targets t
CROSS JOIN generate_series(0, 1) d
CROSS JOIN LATERAL (SELECT floor(random() * 5000)::bigint + d AS i) m
WHERE t.status = 'published';

-- Conversations: open and pending ones are recent, about half of them still unanswered.
INSERT INTO conversations (workspace_id, social_account_id, external_thread_id, type, status, priority, sentiment,
                           contact_handle, subject, tags, sla_policy_id, first_response_due_at, resolution_due_at,
                           first_response_at, resolved_at, last_message_at, created_at)
SELECT s.ws, sa.ids[1 + floor(random() * cardinality(sa.ids))::int], 'thread-' || s.g,
       (ARRAY['comment', 'direct_message', 'mention', 'review'])[1 + floor(random() * 4)::int]::conversation_type,
       s.status, s.priority,
       (ARRAY['positive', 'neutral', 'negative', 'mixed', NULL])[1 + floor(random() * 5)::int]::sentiment,
       'contact' || floor(random() * 20000)::int, tt.title, tg.tags,
       sp.id,
       s.created + interval '1 hour', s.created + interval '1 day',
       CASE WHEN s.status IN ('resolved', 'closed') OR random() < 0.5 THEN s.created + random() * interval '2 hours' END,
       CASE WHEN s.status IN ('resolved', 'closed') THEN s.created + interval '2 hours' + random() * interval '2 days' END,
       s.created + random() * interval '3 hours',
       s.created
FROM (SELECT g, ${SKEWED_WORKSPACE} AS ws,
             (CASE WHEN r < 0.25 THEN 'open' WHEN r < 0.40 THEN 'pending' WHEN r < 0.75 THEN 'resolved' ELSE 'closed' END)::conversation_status AS status,
             (CASE WHEN p < 0.2 THEN 'low' WHEN p < 0.75 THEN 'normal' WHEN p < 0.93 THEN 'high' ELSE 'urgent' END)::priority_level AS priority,
             now() - CASE WHEN r < 0.40 THEN random() * interval '14 days' ELSE random() * interval '120 days' END AS created
        FROM (SELECT g, random() AS r, random() AS p FROM generate_series(1, ${PLAN_DATASET_SIZES.conversations}) g) x) s
JOIN (SELECT workspace_id, array_agg(id) AS ids FROM social_accounts GROUP BY workspace_id) sa ON sa.workspace_id = s.ws
JOIN sla_policies sp ON sp.workspace_id = s.ws AND sp.priority = s.priority
${pools('s.g')};

INSERT INTO messages (conversation_id, direction, author_user_id, author_handle, body, sent_at, external_message_id)
SELECT c.id, 'inbound'::message_direction, NULL::bigint, c.contact_handle, tx.body, c.created_at, 'in-' || c.id
FROM conversations c ${pools('c.id')}
UNION ALL
SELECT c.id, 'outbound'::message_direction, 1 + floor(random() * ${PLAN_DATASET_SIZES.users})::bigint, NULL, tx.body, c.first_response_at, 'out-' || c.id
FROM conversations c ${pools('c.id + 1')} WHERE c.first_response_at IS NOT NULL
UNION ALL
-- One conversation in five hundred is a long thread (a support back-and-forth running for months).
SELECT c.id, d.direction, CASE WHEN d.direction = 'outbound' THEN 1 + floor(random() * ${PLAN_DATASET_SIZES.users})::bigint END,
       CASE WHEN d.direction = 'inbound' THEN c.contact_handle END, tx.body,
       c.last_message_at - n * interval '1 minute', 'thread-' || c.id || '-' || n
FROM conversations c
CROSS JOIN generate_series(1, 300) n
CROSS JOIN LATERAL (SELECT (CASE WHEN n % 3 = 0 THEN 'outbound' ELSE 'inbound' END)::message_direction AS direction) d
${pools('c.id + n')}
WHERE c.id % 500 = 0;

-- Five listening queries per workspace.
INSERT INTO listening_queries (workspace_id, name, keywords)
SELECT w.id, 'Query ' || k, ARRAY[(${words})[k], (${words})[k + 10]]
FROM workspaces w CROSS JOIN generate_series(1, 5) k;

INSERT INTO listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, author_reach,
                                is_influencer, content, sentiment, sentiment_score, engagement, keywords, published_at, collected_at)
SELECT s.ws, lq.ids[1 + floor(power(random(), 2) * cardinality(lq.ids))::int],
       (enum_range(NULL::social_platform))[1 + floor(random() * 9)::int], 'mention-' || s.g,
       'author' || floor(random() * 30000)::int, floor(random() * 100000)::bigint, random() < 0.05,
       tx.body, s.sentiment,
       CASE s.sentiment WHEN 'positive' THEN 0.6 WHEN 'negative' THEN -0.6 WHEN 'neutral' THEN 0 WHEN 'mixed' THEN 0.1 END,
       floor(random() * 1000)::bigint, ARRAY[(${words})[1 + floor(random() * 15)::int]],
       s.published, s.published + random() * interval '1 hour'
FROM (SELECT g, ${SKEWED_WORKSPACE} AS ws, now() - random() * interval '150 days' AS published,
             (ARRAY['positive', 'neutral', 'negative', 'mixed', 'neutral', 'positive', NULL])[1 + floor(random() * 7)::int]::sentiment AS sentiment
        FROM generate_series(1, ${PLAN_DATASET_SIZES.mentions}) g) s
JOIN (SELECT workspace_id, array_agg(id ORDER BY id) AS ids FROM listening_queries GROUP BY workspace_id) lq ON lq.workspace_id = s.ws
${pools('s.g')};

INSERT INTO influencers (workspace_id, name, category, tags)
SELECT ${SKEWED_WORKSPACE}, 'Influencer ' || g, (ARRAY['beauty', 'tech', 'travel', 'fitness', 'food'])[1 + g % 5], tg.tags
FROM generate_series(1, ${PLAN_DATASET_SIZES.influencers}) g ${pools('g')};

INSERT INTO influencer_accounts (influencer_id, platform, handle, followers, engagement_rate)
SELECT i.id, (ARRAY['instagram', 'tiktok', 'youtube'])[k]::social_platform, 'creator' || i.id || '_' || k,
       floor(random() * 1000000)::bigint, round((random() * 10)::numeric, 4)
FROM influencers i CROSS JOIN generate_series(1, 2) k
WHERE k = 1 OR i.id % 2 = 0;

-- Collaborations run on a campaign of the influencer's own workspace.
INSERT INTO influencer_collaborations (influencer_id, campaign_id, status, start_date, end_date, compensation,
                                       attributed_revenue, conversions, engagements)
SELECT s.influencer_id, cw.ids[1 + floor(random() * cardinality(cw.ids))::int],
       (ARRAY['proposed', 'negotiating', 'active', 'completed', 'cancelled'])[1 + floor(random() * 5)::int]::collaboration_status,
       s.start, s.start + 30, round((random() * 5000)::numeric, 2), round((random() * 15000)::numeric, 2),
       floor(random() * 200)::bigint, floor(random() * 20000)::bigint
FROM (SELECT i.id AS influencer_id, i.workspace_id, current_date - floor(random() * 180)::int AS start
        FROM (SELECT g, (SELECT array_agg(id) FROM influencers) AS ids FROM generate_series(1, ${PLAN_DATASET_SIZES.collaborations}) g) x
        JOIN influencers i ON i.id = x.ids[1 + (x.g * 7919) % cardinality(x.ids)]) s
JOIN (SELECT workspace_id, array_agg(id) AS ids FROM campaigns GROUP BY workspace_id) cw ON cw.workspace_id = s.workspace_id;

INSERT INTO security_audit_logs (workspace_id, user_id, action, resource_type, resource_id, ip_address, user_agent, metadata, occurred_at)
SELECT CASE WHEN random() < 0.05 THEN NULL ELSE ${SKEWED_WORKSPACE} END,
       1 + floor(random() * ${PLAN_DATASET_SIZES.users})::bigint,
       (ARRAY['auth.login', 'auth.login_failed', 'post.published', 'member.invited', 'member.removed', 'api_key.created', 'settings.updated'])[1 + floor(random() * 7)::int],
       'post', (floor(random() * ${PLAN_DATASET_SIZES.posts}) + 1)::text,
       ('10.' || floor(random() * 256)::int || '.' || floor(random() * 256)::int || '.' || floor(random() * 256)::int)::inet,
       'Mozilla/5.0', jsonb_build_object('session_id', md5(g::text)),
       now() - random() * interval '150 days'
FROM generate_series(1, ${PLAN_DATASET_SIZES.auditEvents}) g;
`;

/** Loads the dataset; one connection, so setseed makes it the same every run. */
export async function seedPlanDataset(client: ClientBase): Promise<void> {
  await client.query(`SET synchronous_commit = off`);
  // The rows are consistent by construction; skipping the per-row foreign-key triggers (replica
  // mode, superuser only) makes the seed several times faster.
  await client.query(`SET session_replication_role = replica`);
  try {
    await client.query(PLAN_DATASET_SQL);
  } finally {
    await client.query(`RESET session_replication_role`);
  }
}

/**
 * The steady state a live database reaches on its own: the analytics relations filled by the
 * refresh task (a full rebuild) and autovacuum having set the visibility
 * map (which index-only scans need) and collected statistics.
 */
export async function settlePlanDataset(client: ClientBase): Promise<void> {
  // In refresh order: mv_daily_post_metrics is summed from the rollup (093), which comes first.
  const { rows } = await client.query<{ view_name: string }>(
    `SELECT a.view_name FROM dbops.analytics_relations a JOIN dbops.materialized_views m USING (view_name) ORDER BY m.refresh_order, a.view_name`,
  );
  for (const row of rows) {
    await client.query(`SELECT dbops.analytics_rebuild($1)`, [row.view_name]);
  }
  await client.query('VACUUM (ANALYZE)');
}
