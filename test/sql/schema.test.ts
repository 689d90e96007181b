import { migrate } from '../../lambdas/migrate/migrator';
import { createEmptyDatabase, createTestDatabase, TestDatabase } from '../support/database';
import { createTenant, insertId, pgError, Tenant } from './platform-fixtures';

const CHECK = '23514';
const UNIQUE = '23505';
const FOREIGN_KEY = '23503';
const NOT_NULL = '23502';
const BAD_ENUM = '22P02';

describe('platform schema (010)', () => {
  let db: TestDatabase;
  let t: Tenant;
  let other: Tenant;
  let postId: number;
  let targetId: number;
  let queryId: number;
  let conversationId: number;
  let influencerId: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    t = await createTenant(db, 'a');
    other = await createTenant(db, 'b', 'twitter');
    postId = await insertId(db, `INSERT INTO posts (workspace_id, author_id, content) VALUES ($1, $2, 'hello') RETURNING id`, [t.workspaceId, t.userId]);
    targetId = await insertId(db, `INSERT INTO post_targets (post_id, social_account_id) VALUES ($1, $2) RETURNING id`, [postId, t.accountId]);
    await db.query(`INSERT INTO post_metrics_daily (post_target_id, metric_date, likes) VALUES ($1, '2026-11-01', 3)`, [targetId]);
    queryId = await insertId(db, `INSERT INTO listening_queries (workspace_id, name, keywords) VALUES ($1, 'brand', '{aurora}') RETURNING id`, [t.workspaceId]);
    await db.query(
      `INSERT INTO listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, content, sentiment, sentiment_score, published_at)
       VALUES ($1, $2, 'twitter', 'tw-1', '@fan', 'love aurora', 'positive', 0.9, now())`,
      [t.workspaceId, queryId],
    );
    conversationId = await insertId(
      db,
      `INSERT INTO conversations (workspace_id, social_account_id, external_thread_id, type) VALUES ($1, $2, 'thread-1', 'comment') RETURNING id`,
      [t.workspaceId, t.accountId],
    );
    influencerId = await insertId(db, `INSERT INTO influencers (workspace_id, name) VALUES ($1, 'Ada') RETURNING id`, [t.workspaceId]);
  });
  afterAll(async () => {
    await db?.drop();
  });

  // Each row here is valid except for the one thing its name says; the fixture rows above prove
  // the same tables accept good rows.
  const rejected: Array<[string, () => [string, unknown[]], string, string | null]> = [
    ['an email that differs only in case', () => [`INSERT INTO users (email, password_hash) VALUES ('OWNER-A@Example.com', 'argon2id$v=19$m=65536$abcdefgh')`, []], UNIQUE, 'users_email_lower_key'],
    ['a malformed email', () => [`INSERT INTO users (email, password_hash) VALUES ('not-an-email', 'argon2id$v=19$m=65536$abcdefgh')`, []], CHECK, 'users_email_check'],
    ['a second membership of the same user', () => [`INSERT INTO workspace_members (workspace_id, user_id) VALUES ($1, $2)`, [t.workspaceId, t.userId]], UNIQUE, 'workspace_members_workspace_user_key'],
    ['a membership of a user that does not exist', () => [`INSERT INTO workspace_members (workspace_id, user_id) VALUES ($1, 999999)`, [t.workspaceId]], FOREIGN_KEY, 'workspace_members_user_id_fkey'],
    ['a role that is not a role', () => [`INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, 'superuser')`, [other.workspaceId, t.userId]], BAD_ENUM, null],
    ['the same platform account connected to a second workspace', () => [`INSERT INTO social_accounts (workspace_id, platform, external_account_id, handle) VALUES ($1, 'instagram', 'acct-a', 'x')`, [other.workspaceId]], UNIQUE, 'social_accounts_platform_external_key'],
    ['a campaign that ends before it starts', () => [`INSERT INTO campaigns (workspace_id, name, start_date, end_date) VALUES ($1, 'c', '2026-05-02', '2026-05-01')`, [t.workspaceId]], CHECK, 'campaigns_dates_ordered'],
    ['a negative campaign budget', () => [`INSERT INTO campaigns (workspace_id, name, budget) VALUES ($1, 'c', -1)`, [t.workspaceId]], CHECK, 'campaigns_budget_check'],
    ['a SCHEDULED post without scheduled_at', () => [`INSERT INTO posts (workspace_id, author_id, status) VALUES ($1, $2, 'SCHEDULED')`, [t.workspaceId, t.userId]], CHECK, 'posts_scheduled_has_time'],
    ['a PUBLISHED post without published_at', () => [`INSERT INTO posts (workspace_id, author_id, status) VALUES ($1, $2, 'PUBLISHED')`, [t.workspaceId, t.userId]], CHECK, 'posts_published_has_time'],
    ['a PUBLISHING post nobody claimed', () => [`UPDATE posts SET status = 'PUBLISHING' WHERE id = $1`, [postId]], CHECK, 'posts_publishing_is_claimed'],
    ['a post status in the wrong case', () => [`INSERT INTO posts (workspace_id, author_id, status) VALUES ($1, $2, 'draft')`, [t.workspaceId, t.userId]], BAD_ENUM, null],
    ['NULL tags on a post', () => [`INSERT INTO posts (workspace_id, author_id, tags) VALUES ($1, $2, NULL)`, [t.workspaceId, t.userId]], NOT_NULL, null],
    ['a post in a campaign that does not exist', () => [`INSERT INTO posts (workspace_id, author_id, campaign_id) VALUES ($1, $2, 424242)`, [t.workspaceId, t.userId]], FOREIGN_KEY, 'posts_campaign_id_fkey'],
    ['a second target for the same post and account', () => [`INSERT INTO post_targets (post_id, social_account_id) VALUES ($1, $2)`, [postId, t.accountId]], UNIQUE, 'post_targets_post_account_key'],
    ['a published target without published_at', () => [`UPDATE post_targets SET status = 'published' WHERE id = $1`, [targetId]], CHECK, 'post_targets_published_has_time'],
    ['negative likes', () => [`INSERT INTO post_metrics_daily (post_target_id, metric_date, likes) VALUES ($1, '2026-11-02', -1)`, [targetId]], CHECK, 'post_metrics_daily_likes_check'],
    ['a second metrics row for the same target and day', () => [`INSERT INTO post_metrics_daily (post_target_id, metric_date) VALUES ($1, '2026-11-01')`, [targetId]], UNIQUE, 'post_metrics_daily_target_date_key'],
    ['an SLA of zero minutes', () => [`INSERT INTO sla_policies (workspace_id, name, priority, first_response_minutes, resolution_minutes) VALUES ($1, 's', 'high', 0, 60)`, [t.workspaceId]], CHECK, 'sla_policies_first_response_minutes_check'],
    ['a resolved conversation without resolved_at', () => [`UPDATE conversations SET status = 'resolved' WHERE id = $1`, [conversationId]], CHECK, 'conversations_closed_has_resolution'],
    ['a first response before the conversation began', () => [`UPDATE conversations SET first_response_at = created_at - interval '1 minute' WHERE id = $1`, [conversationId]], CHECK, 'conversations_response_after_creation'],
    ['an inbound message carrying a team member', () => [`INSERT INTO messages (conversation_id, direction, author_user_id, author_handle, body, sent_at) VALUES ($1, 'inbound', $2, '@x', 'hi', now())`, [conversationId, t.userId]], CHECK, 'messages_inbound_has_no_user'],
    ['a listening query without keywords', () => [`INSERT INTO listening_queries (workspace_id, name, keywords) VALUES ($1, 'empty', '{}')`, [t.workspaceId]], CHECK, 'listening_queries_keywords_check'],
    ['a sentiment score above 1', () => [`INSERT INTO listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, content, sentiment, sentiment_score, published_at) VALUES ($1, $2, 'twitter', 'tw-2', '@a', 'x', 'positive', 1.5, now())`, [t.workspaceId, queryId]], CHECK, 'listening_mentions_sentiment_score_check'],
    ['a sentiment label without a score', () => [`INSERT INTO listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, content, sentiment, published_at) VALUES ($1, $2, 'twitter', 'tw-3', '@a', 'x', 'negative', now())`, [t.workspaceId, queryId]], CHECK, 'listening_mentions_sentiment_scored_together'],
    ['the same mention collected twice', () => [`INSERT INTO listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, content, published_at) SELECT workspace_id, listening_query_id, platform, external_id, author_handle, content, published_at FROM listening_mentions WHERE external_id = 'tw-1'`, []], UNIQUE, null],
    ['negative influencer compensation', () => [`INSERT INTO influencer_collaborations (influencer_id, compensation) VALUES ($1, -5)`, [influencerId]], CHECK, 'influencer_collaborations_compensation_check'],
    ['negative follower count', () => [`INSERT INTO influencer_accounts (influencer_id, platform, handle, followers) VALUES ($1, 'tiktok', '@ada', -1)`, [influencerId]], CHECK, 'influencer_accounts_followers_check'],
    ['audit metadata that is not an object', () => [`INSERT INTO security_audit_logs (action, metadata) VALUES ('user.login', '[1]')`, []], CHECK, 'security_audit_logs_metadata_check'],
  ];

  it.each(rejected)('rejects %s', async (_name, statement, code, constraint) => {
    const [text, values] = statement();
    const error = await pgError(db, text, values);
    expect(error?.code).toBe(code);
    // Enum and NOT NULL errors name no constraint; a partitioned table's unique error names the partition's index.
    if (constraint !== null) expect(error?.constraint).toBe(constraint);
  });

  it('accepts the valid versions of those rows', async () => {
    await db.query(`INSERT INTO users (email, password_hash) VALUES ('second@example.com', 'argon2id$v=19$m=65536$abcdefgh')`);
    await db.query(`INSERT INTO campaigns (workspace_id, name, start_date, end_date, budget) VALUES ($1, 'ok', '2026-05-01', '2026-05-01', 0)`, [t.workspaceId]);
    await db.query(`UPDATE posts SET status = 'PUBLISHING', claimed_at = now(), claimed_by = 'worker-1' WHERE id = $1`, [postId]);
    await db.query(`UPDATE post_targets SET status = 'published', published_at = now(), external_post_id = 'ig-1' WHERE id = $1`, [targetId]);
    await db.query(`UPDATE conversations SET status = 'resolved', resolved_at = now(), first_response_at = now() WHERE id = $1`, [conversationId]);
    await db.query(`INSERT INTO messages (conversation_id, direction, author_user_id, body, sent_at) VALUES ($1, 'outbound', $2, 'thanks', now())`, [conversationId, t.userId]);
    await db.query(`INSERT INTO security_audit_logs (action, ip_address, metadata) VALUES ('system.rotate_keys', '10.0.0.1', '{"ok": true}')`);
    const [counts] = await db.query<{ posts: number; users: number; audit: number }>(
      `SELECT (SELECT count(*)::int FROM posts WHERE status = 'PUBLISHING') AS posts,
              (SELECT count(*)::int FROM users) AS users,
              (SELECT count(*)::int FROM security_audit_logs) AS audit`,
    );
    expect(counts).toEqual({ posts: 1, users: 3, audit: 1 });
  });

  it('deleting a workspace takes its data with it, but not the audit trail', async () => {
    const doomed = await createTenant(db, 'doomed');
    const post = await insertId(db, `INSERT INTO posts (workspace_id, author_id) VALUES ($1, $2) RETURNING id`, [doomed.workspaceId, doomed.userId]);
    await db.query(`INSERT INTO post_targets (post_id, social_account_id) VALUES ($1, $2)`, [post, doomed.accountId]);
    await db.query(`INSERT INTO security_audit_logs (workspace_id, user_id, action) VALUES ($1, $2, 'workspace.delete')`, [doomed.workspaceId, doomed.userId]);
    await db.query(`DELETE FROM workspaces WHERE id = $1`, [doomed.workspaceId]);
    const [left] = await db.query<{ posts: number; targets: number; audit: number }>(
      `SELECT (SELECT count(*)::int FROM posts WHERE workspace_id = $1) AS posts,
              (SELECT count(*)::int FROM post_targets WHERE post_id = $2) AS targets,
              (SELECT count(*)::int FROM security_audit_logs WHERE workspace_id = $1) AS audit`,
      [doomed.workspaceId, post],
    );
    expect(left).toEqual({ posts: 0, targets: 0, audit: 1 });
  });

  it('keeps posts.search_vector in step with title (weight A) and content (weight B)', async () => {
    const id = await insertId(
      db,
      `INSERT INTO posts (workspace_id, author_id, title, content) VALUES ($1, $2, 'Launching rockets', 'Our newest product ships today') RETURNING id`,
      [t.workspaceId, t.userId],
    );
    const match = async (q: string) =>
      (await db.query<{ hit: boolean }>(`SELECT search_vector @@ websearch_to_tsquery('english', $2) AS hit FROM posts WHERE id = $1`, [id, q]))[0].hit;
    expect(await match('rocket')).toBe(true); // stemmed
    expect(await match('product ship')).toBe(true);
    expect(await match('banana')).toBe(false);

    const [weights] = await db.query<{ title: string[]; content: string[] }>(
      `SELECT array(SELECT lexeme FROM unnest(search_vector) u WHERE 'A' = ANY(u.weights) ORDER BY 1) AS title,
              array(SELECT lexeme FROM unnest(search_vector) u WHERE 'B' = ANY(u.weights) ORDER BY 1) AS content
         FROM posts WHERE id = $1`,
      [id],
    );
    expect(weights).toEqual({ title: ['launch', 'rocket'], content: ['newest', 'product', 'ship', 'today'] });

    await db.query(`UPDATE posts SET content = 'bananas instead', title = NULL WHERE id = $1`, [id]);
    expect(await match('banana')).toBe(true);
    expect(await match('rocket')).toBe(false);

    const write = await pgError(db, `UPDATE posts SET search_vector = to_tsvector('x') WHERE id = $1`, [id]);
    expect(write?.message).toMatch(/"search_vector" can only be updated to DEFAULT/);
  });

  it('touches updated_at on every update', async () => {
    await db.query(`UPDATE posts SET updated_at = '2000-01-01' WHERE id = $1`, [postId]);
    const [row] = await db.query<{ fresh: boolean }>(`SELECT updated_at > now() - interval '1 minute' AS fresh FROM posts WHERE id = $1`, [postId]);
    expect(row.fresh).toBe(true);
  });

  it('leaves room for HOT updates on the tables updated all day (050)', async () => {
    const rows = await db.query<{ relname: string; fillfactor: string | null }>(
      `SELECT relname, (SELECT split_part(o, '=', 2) FROM unnest(reloptions) o WHERE o LIKE 'fillfactor=%') AS fillfactor
         FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname IN ('posts', 'post_targets', 'conversations', 'messages') ORDER BY 1`,
    );
    expect(rows).toEqual([
      { relname: 'conversations', fillfactor: '90' },
      { relname: 'messages', fillfactor: null },
      { relname: 'post_targets', fillfactor: '90' },
      { relname: 'posts', fillfactor: '90' },
    ]);
  });

  it('partitions listening_mentions and security_audit_logs by month, with every unique key including the partition key', async () => {
    const keys = await db.query<{ table_name: string; partition_key: string; constraint_name: string; columns: string[] }>(
      `SELECT c.relname AS table_name,
              (SELECT attname FROM pg_attribute WHERE attrelid = c.oid AND attnum = pt.partattrs[0]) AS partition_key,
              con.conname AS constraint_name,
              array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.n ORDER BY k.i) AS columns
         FROM pg_partitioned_table pt
         JOIN pg_class c ON c.oid = pt.partrelid
         JOIN pg_constraint con ON con.conrelid = c.oid AND con.contype IN ('p', 'u')
        WHERE c.relnamespace = 'public'::regnamespace
        ORDER BY 1, 3`,
    );
    expect(keys).toEqual([
      { table_name: 'listening_mentions', partition_key: 'published_at', constraint_name: 'listening_mentions_dedupe_key', columns: ['platform', 'external_id', 'workspace_id', 'published_at'] },
      { table_name: 'listening_mentions', partition_key: 'published_at', constraint_name: 'listening_mentions_pkey', columns: ['id', 'published_at'] },
      { table_name: 'security_audit_logs', partition_key: 'occurred_at', constraint_name: 'security_audit_logs_pkey', columns: ['id', 'occurred_at'] },
    ]);
    const strategies = await db.query(
      `SELECT partrelid::regclass::text AS t, partstrat FROM pg_partitioned_table ORDER BY 1`,
    );
    expect(strategies).toEqual([
      { t: 'listening_mentions', partstrat: 'r' },
      { t: 'security_audit_logs', partstrat: 'r' },
    ]);
  });

  it('routes a mention to the partition of its UTC month', async () => {
    const [row] = await db.query<{ part: string }>(
      `INSERT INTO listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, content, published_at)
       VALUES ($1, $2, 'reddit', 'r-1', 'u/x', 'x', date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')
       RETURNING tableoid::regclass::text AS part`,
      [t.workspaceId, queryId],
    );
    const [expected] = await db.query<{ name: string }>(`SELECT 'listening_mentions_p' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM') AS name`);
    expect(row.part).toBe(expected.name);
  });
});

describe('baseline schema (files below 030)', () => {
  let empty: TestDatabase;
  afterAll(async () => {
    await empty?.drop();
  });

  it('has no index that no key or unique rule needs: performance indexes belong to the optimization migration', async () => {
    empty = await createEmptyDatabase();
    await migrate({ databaseUrl: empty.url, include: (file) => file.name < '030' });
    const extra = await empty.query<{ index: string }>(
      `SELECT i.indexrelid::regclass::text AS index
         FROM pg_index i
         JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relnamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
          AND NOT EXISTS (SELECT 1 FROM pg_inherits h JOIN pg_constraint c ON c.conindid = h.inhparent WHERE h.inhrelid = i.indexrelid)
        ORDER BY 1`,
    );
    // The only one: case-insensitive email uniqueness, which needs an expression index.
    expect(extra).toEqual([{ index: 'users_email_lower_key' }]);
    const [tables] = await empty.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') AND NOT relispartition`,
    );
    expect(tables.n).toBe(17);
  });
});
