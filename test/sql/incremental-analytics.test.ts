import { Rng } from '../../benchmark/rng';
import { createTestDatabase, TestDatabase } from '../support/database';
import { Relation, VIEWS, directRows, refreshAnalytics, viewRows } from './analytics-direct';
import { createTenant } from './platform-fixtures';

/**
 * Property test of the incremental analytics (070/071): random sequences of inserts, updates and
 * deletes on every source table, with the clock moving past SLA deadlines; after each incremental
 * refresh every relation must equal the direct aggregate from the base tables, row for row.
 * Seeded, so a failure reproduces: the seed is in the test name (DBOPS_PROPERTY_SEED picks one).
 */

const T0 = Date.parse('2026-06-15T10:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** `id` of the n-th row (modulo the count) of a table, or NULL when it is empty. */
const pick = (table: string, param: string, where = 'true') =>
  `(SELECT id FROM ${table} WHERE ${where} ORDER BY id OFFSET ($${param}::int % greatest((SELECT count(*) FROM ${table} WHERE ${where}), 1))::int LIMIT 1)`;

interface World {
  db: TestDatabase;
  rng: Rng;
  clock: number;
  workspaces: number[];
}

type Op = (w: World) => Promise<void>;

const iso = (ms: number) => new Date(ms).toISOString();
/** A time within `days` days either side of the clock, at any minute. */
const around = (w: World, days: number) => w.clock + Math.round((w.rng.next() * 2 - 1) * days * DAY / 60_000) * 60_000;

const OPS: Record<string, Op> = {
  async insertPosts(w) {
    const n = 1 + w.rng.int(4);
    for (let i = 0; i < n; i += 1) {
      const status = w.rng.pick(['DRAFT', 'SCHEDULED', 'PUBLISHED', 'PUBLISHED', 'FAILED', 'ARCHIVED']);
      const created = around(w, 60);
      const scheduled = status === 'DRAFT' && w.rng.next() < 0.5 ? null : created + w.rng.int(48) * HOUR;
      const published = status === 'PUBLISHED' || (status === 'ARCHIVED' && w.rng.next() < 0.5) ? (scheduled ?? created) + w.rng.int(90) * 60_000 : null;
      await w.db.query(
        `INSERT INTO posts (workspace_id, author_id, campaign_id, status, content, scheduled_at, published_at, ai_generated, created_at)
         SELECT $1::bigint, (SELECT user_id FROM workspace_members WHERE workspace_id = $1::bigint ORDER BY user_id OFFSET $2::int % 2 LIMIT 1),
                CASE WHEN $3::boolean THEN (SELECT id FROM campaigns WHERE workspace_id = $1::bigint ORDER BY id OFFSET $2::int % 2 LIMIT 1) END,
                $4::post_status, 'post', $5::timestamptz, $6::timestamptz, $7::boolean, $8::timestamptz`,
        [w.rng.pick(w.workspaces), w.rng.int(100), w.rng.next() < 0.6, status, scheduled && iso(scheduled), published && iso(published), w.rng.next() < 0.3, iso(created)],
      );
    }
  },
  async publishPost(w) {
    // The queue's path: the post and its targets go PUBLISHED, in two statements.
    const n = w.rng.int(1000);
    const [post] = await w.db.query<{ id: string }>(
      `UPDATE posts SET status = 'PUBLISHED', published_at = coalesce(scheduled_at, created_at) + interval '5 minutes'
        WHERE id = ${pick('posts', '1', `status <> 'PUBLISHED'`)} RETURNING id`,
      [n],
    );
    if (post) {
      await w.db.query(
        `UPDATE post_targets pt SET status = 'published', published_at = p.published_at + (pt.id % 3) * interval '50 minutes'
           FROM posts p WHERE p.id = pt.post_id AND pt.post_id = $1::bigint`,
        [post.id],
      );
    }
  },
  async changePostStatus(w) {
    await w.db.query(
      `UPDATE posts SET status = $2::post_status, scheduled_at = coalesce(scheduled_at, created_at + interval '1 day')
        WHERE id = ${pick('posts', '1')} AND ($2::post_status <> 'PUBLISHED' OR published_at IS NOT NULL)`,
      [w.rng.int(1000), w.rng.pick(['DRAFT', 'SCHEDULED', 'FAILED', 'ARCHIVED', 'PUBLISHED'])],
    );
  },
  async bulkPostStatus(w) {
    // One statement over many rows: the transition tables hold them all.
    await w.db.query(`UPDATE posts SET status = 'ARCHIVED' WHERE id % 7 = $1::int AND status IN ('DRAFT', 'FAILED')`, [w.rng.int(7)]);
  },
  async moveCampaign(w) {
    await w.db.query(
      `UPDATE posts p SET campaign_id = CASE WHEN $2::boolean THEN NULL ELSE (SELECT c.id FROM campaigns c WHERE c.workspace_id = p.workspace_id AND c.id IS DISTINCT FROM p.campaign_id ORDER BY c.id LIMIT 1) END
        WHERE id = ${pick('posts', '1', `id IN (SELECT post_id FROM post_targets)`)}`,
      [w.rng.int(1000), w.rng.next() < 0.3],
    );
  },
  async toggleAi(w) {
    await w.db.query(`UPDATE posts SET ai_generated = NOT ai_generated WHERE id = ${pick('posts', '1')}`, [w.rng.int(1000)]);
  },
  async deletePost(w) {
    await w.db.query(`DELETE FROM posts WHERE id = ${pick('posts', '1')}`, [w.rng.int(1000)]);
  },
  async insertTargets(w) {
    await w.db.query(
      `INSERT INTO post_targets (post_id, social_account_id, status, published_at)
       SELECT p.id, sa.id, CASE WHEN p.status = 'PUBLISHED' THEN 'published'::post_target_status ELSE 'pending' END,
              CASE WHEN p.status = 'PUBLISHED' THEN p.published_at + (sa.id % 4) * interval '3 hours' END
         FROM posts p JOIN social_accounts sa ON sa.workspace_id = p.workspace_id
        WHERE p.id = ${pick('posts', '1')}
       ON CONFLICT (post_id, social_account_id) DO NOTHING`,
      [w.rng.int(1000)],
    );
  },
  async updateTarget(w) {
    const status = w.rng.pick(['published', 'failed', 'cancelled', 'pending']);
    await w.db.query(
      `UPDATE post_targets SET status = $2::post_target_status,
              published_at = CASE WHEN $2::post_target_status = 'published' THEN coalesce(published_at, created_at) + $3::int * interval '7 hours' ELSE published_at END
        WHERE id = ${pick('post_targets', '1')}`,
      [w.rng.int(1000), status, w.rng.int(5)],
    );
  },
  async deleteTarget(w) {
    await w.db.query(`DELETE FROM post_targets WHERE id = ${pick('post_targets', '1')}`, [w.rng.int(1000)]);
  },
  async insertMetrics(w) {
    // Late rows too: a metric day weeks before the clock, for a post published long ago.
    await w.db.query(
      `INSERT INTO post_metrics_daily (post_target_id, metric_date, impressions, reach, likes, comments, shares, saves, clicks)
       SELECT pt.id, $2::date - d, 100 + $3::int * d, 50 + $3::int, $3::int % 40, d, $3::int % 3, 1, $3::int % 9
         FROM post_targets pt CROSS JOIN generate_series(0, $4::int) d
        WHERE pt.id = ${pick('post_targets', '1')}
       ON CONFLICT (post_target_id, metric_date) DO NOTHING`,
      [w.rng.int(1000), iso(around(w, 40)).slice(0, 10), w.rng.int(500), w.rng.int(3)],
    );
  },
  async updateMetrics(w) {
    await w.db.query(
      `UPDATE post_metrics_daily SET likes = likes + $2::int, clicks = clicks + 1, metric_date = metric_date + $3::int
        WHERE id = ${pick('post_metrics_daily', '1')}
          AND NOT EXISTS (SELECT 1 FROM post_metrics_daily x WHERE x.post_target_id = post_metrics_daily.post_target_id AND x.metric_date = post_metrics_daily.metric_date + $3::int AND $3::int <> 0)`,
      [w.rng.int(1000), w.rng.int(50), w.rng.pick([0, 0, 0, 9])],
    );
  },
  async deleteMetrics(w) {
    await w.db.query(`DELETE FROM post_metrics_daily WHERE id = ${pick('post_metrics_daily', '1')}`, [w.rng.int(1000)]);
  },
  async changeAccountPlatform(w) {
    await w.db.query(
      `UPDATE social_accounts SET platform = $2::social_platform WHERE id = ${pick('social_accounts', '1')}`,
      [w.rng.int(1000), w.rng.pick(['instagram', 'twitter', 'linkedin', 'tiktok'])],
    );
  },
  async openConversation(w) {
    const created = w.clock - w.rng.int(72) * HOUR - w.rng.int(60) * 60_000;
    await w.db.query(
      `INSERT INTO conversations (workspace_id, social_account_id, external_thread_id, type, status, sentiment,
                                  first_response_due_at, resolution_due_at, created_at, last_message_at)
       SELECT sa.workspace_id, sa.id, 'th-' || $2::text, $3::conversation_type, 'open', $4::sentiment,
              $5::timestamptz + $6::int * interval '1 hour', $5::timestamptz + $7::int * interval '1 hour', $5::timestamptz, $5::timestamptz
         FROM social_accounts sa WHERE sa.id = ${pick('social_accounts', '1')}`,
      [w.rng.int(1000), `${w.clock}-${w.rng.int(1e9)}`, w.rng.pick(['comment', 'direct_message', 'mention', 'review']),
        w.rng.pick(['positive', 'negative', null]), iso(created), 1 + w.rng.int(6), 12 + w.rng.int(36)],
    );
  },
  async answerConversation(w) {
    // A message that answers: the message, then the conversation's first response.
    const [c] = await w.db.query<{ id: string }>(`SELECT ${pick('conversations', '1', `first_response_at IS NULL AND created_at <= '${iso(w.clock)}'`)} AS id`, [w.rng.int(1000)]);
    if (!c.id) return;
    await w.db.query(
      `INSERT INTO messages (conversation_id, direction, body, sent_at) VALUES ($1::bigint, 'outbound', 'thanks', $2::timestamptz)`,
      [c.id, iso(w.clock)],
    );
    await w.db.query(`UPDATE conversations SET first_response_at = $2::timestamptz, last_message_at = $2::timestamptz, status = 'pending' WHERE id = $1::bigint`, [c.id, iso(w.clock)]);
  },
  async resolveConversation(w) {
    await w.db.query(
      `UPDATE conversations SET status = $2::conversation_status, resolved_at = greatest(created_at, $3::timestamptz)
        WHERE id = ${pick('conversations', '1', `resolved_at IS NULL`)}`,
      [w.rng.int(1000), w.rng.pick(['resolved', 'closed']), iso(w.clock)],
    );
  },
  async touchConversation(w) {
    // Inbox activity the metrics ignore (logged as nothing, and still correct).
    await w.db.query(`UPDATE conversations SET last_message_at = $2::timestamptz, priority = 'high' WHERE id = ${pick('conversations', '1')}`, [w.rng.int(1000), iso(w.clock)]);
  },
  async deleteConversation(w) {
    await w.db.query(`DELETE FROM conversations WHERE id = ${pick('conversations', '1')}`, [w.rng.int(1000)]);
  },
  async insertMentions(w) {
    // One statement spanning several monthly partitions (and the default one, for far-off days).
    const n = 1 + w.rng.int(20);
    const times = Array.from({ length: n }, () => iso(around(w, w.rng.next() < 0.2 ? 200 : 45)));
    await w.db.query(
      `INSERT INTO listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, author_reach, is_influencer,
                                       content, sentiment, sentiment_score, engagement, published_at)
       SELECT q.workspace_id, q.id, 'twitter', 'm-' || $2::text || '-' || i, '@a' || ($3::int + i) % 5, i * 10, i % 4 = 0, 'text',
              (enum_range(NULL::sentiment))[1 + i % 4], ((i % 5) - 2) / 4.0, i, t
         FROM unnest($1::timestamptz[]) WITH ORDINALITY AS u(t, i)
         JOIN LATERAL (SELECT id, workspace_id FROM listening_queries ORDER BY id OFFSET ($3::int + i) % 3 LIMIT 1) q ON true`,
      [times, `${w.clock}-${w.rng.int(1e9)}`, w.rng.int(1000)],
    );
  },
  async updateMentions(w) {
    // Sometimes across a month boundary: the row moves to another partition.
    await w.db.query(
      `UPDATE listening_mentions SET sentiment = NULL, sentiment_score = NULL, published_at = published_at + $2::int * interval '1 day'
        WHERE id % 5 = $1::int % 5 AND id % 3 = 0`,
      [w.rng.int(1000), w.rng.pick([0, 1, 40, -35])],
    );
  },
  async deleteMentions(w) {
    await w.db.query(`DELETE FROM listening_mentions WHERE id % 11 = $1::int`, [w.rng.int(11)]);
  },
  async influencers(w) {
    const action = w.rng.int(6);
    const n = w.rng.int(1000);
    if (action === 0) await w.db.query(`INSERT INTO influencers (workspace_id, name, category) VALUES ($1::bigint, 'inf' || $2::int, CASE WHEN $2::int % 2 = 0 THEN 'tech' END)`, [w.rng.pick(w.workspaces), n]);
    if (action === 1) await w.db.query(`UPDATE influencers SET category = CASE WHEN category IS NULL THEN 'beauty' END WHERE id = ${pick('influencers', '1')}`, [n]);
    if (action === 2) await w.db.query(`DELETE FROM influencers WHERE id = ${pick('influencers', '1')}`, [n]);
    if (action === 3) {
      await w.db.query(
        `INSERT INTO influencer_accounts (influencer_id, platform, handle, followers, engagement_rate)
         SELECT ${pick('influencers', '1')}, 'instagram', 'h' || $2::int, $2::int * 10, CASE WHEN $2::int % 3 = 0 THEN NULL ELSE $2::int / 1000.0 END
         WHERE EXISTS (SELECT 1 FROM influencers)`,
        [n, w.rng.int(1e6)],
      );
    }
    if (action === 4) {
      await w.db.query(
        `INSERT INTO influencer_collaborations (influencer_id, status, compensation, attributed_revenue, conversions, engagements)
         SELECT ${pick('influencers', '1')}, $2::collaboration_status, $3::int, $3::int * 2, $3::int % 7, $3::int % 50 WHERE EXISTS (SELECT 1 FROM influencers)`,
        [n, w.rng.pick(['proposed', 'active', 'completed', 'cancelled']), w.rng.int(300)],
      );
    }
    if (action === 5) {
      await w.db.query(`UPDATE influencer_collaborations SET status = 'cancelled' WHERE id = ${pick('influencer_collaborations', '1')}`, [n]);
      await w.db.query(`UPDATE influencer_accounts SET followers = followers + 1 WHERE id = ${pick('influencer_accounts', '1')}`, [n]);
      await w.db.query(`DELETE FROM influencer_accounts WHERE id = ${pick('influencer_accounts', '1')} AND $2::boolean`, [n + 1, w.rng.next() < 0.3]);
    }
  },
  async passTime(w) {
    // Mostly forward past a few deadlines; once in a while backwards (the watermark handles both).
    w.clock += w.rng.next() < 0.1 ? -w.rng.int(6) * HOUR : w.rng.int(20) * HOUR + w.rng.int(60) * 60_000;
  },
};

const OP_NAMES = Object.keys(OPS);

async function setUp(db: TestDatabase): Promise<number[]> {
  const workspaces: number[] = [];
  for (const [tag, platform] of [['pa', 'instagram'], ['pb', 'twitter']] as const) {
    const t = await createTenant(db, tag, platform);
    workspaces.push(t.workspaceId);
    const [{ id: user }] = await db.query<{ id: string }>(
      `INSERT INTO users (email, password_hash) VALUES ($1, 'argon2id$v=19$m=65536$abcdefgh') RETURNING id`,
      [`second-${tag}@example.com`],
    );
    await db.query(`INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, 'editor')`, [t.workspaceId, user]);
    await db.query(
      `INSERT INTO social_accounts (workspace_id, platform, external_account_id, handle) VALUES ($1, 'linkedin', $2, $2)`,
      [t.workspaceId, `li-${tag}`],
    );
    await db.query(`INSERT INTO campaigns (workspace_id, name, status) VALUES ($1, 'c1', 'active'), ($1, 'c2', 'active')`, [t.workspaceId]);
    await db.query(`INSERT INTO listening_queries (workspace_id, name, keywords) VALUES ($1, 'brand', '{x}')`, [t.workspaceId]);
  }
  await db.query(`INSERT INTO listening_queries (workspace_id, name, keywords) VALUES ($1, 'rival', '{y}')`, [workspaces[0]]);
  // Monthly partitions around T0; days further off land in the default partition.
  await db.query(`SELECT * FROM dbops.create_monthly_partitions('public.listening_mentions', 5, false, $1)`, [iso(T0 - 60 * DAY)]);
  return workspaces;
}

async function mismatches(db: TestDatabase, now: number): Promise<Relation[]> {
  const wrong: Relation[] = [];
  for (const view of VIEWS) {
    const [kept, direct] = [await viewRows(db, view), await directRows(db, view, new Date(now))];
    if (JSON.stringify(kept) !== JSON.stringify(direct)) wrong.push(view);
  }
  return wrong;
}

async function runSequence(db: TestDatabase, seed: number, steps: number): Promise<{ ops: Record<string, number>; checks: number; rows: number; clock: number }> {
  const w: World = { db, rng: new Rng(seed), clock: T0, workspaces: await setUp(db) };
  await refreshAnalytics(db, { full: true, now: new Date(w.clock) });
  const ops: Record<string, number> = {};
  let checks = 0;
  for (let step = 0; step < steps; step += 1) {
    const name = OP_NAMES[w.rng.int(OP_NAMES.length)];
    ops[name] = (ops[name] ?? 0) + 1;
    await OPS[name](w);
    if (w.rng.next() < 0.4 || step === steps - 1) {
      await refreshAnalytics(db, { now: new Date(w.clock), batch: 1 + w.rng.int(40) });
      const wrong = await mismatches(db, w.clock);
      if (wrong.length) throw new Error(`seed ${seed}, step ${step} (after ${name}): ${wrong.join(', ')} differ from the direct aggregate`);
      checks += 1;
    }
  }
  const [{ rows }] = await db.query<{ rows: string }>(
    `SELECT (SELECT count(*) FROM mv_daily_post_metrics) + (SELECT count(*) FROM mv_conversation_metrics) + (SELECT count(*) FROM mv_listening_sentiment_trends) AS rows`,
  );
  return { ops, checks, rows: Number(rows), clock: w.clock };
}

const SEEDS = process.env.DBOPS_PROPERTY_SEED ? [Number(process.env.DBOPS_PROPERTY_SEED)] : [20261201, 7, 424242];

describe('incremental analytics: random writes, then each relation equals a full recompute', () => {
  for (const seed of SEEDS) {
    it(`holds for seed ${seed}`, async () => {
      const db = await createTestDatabase();
      try {
        const { ops, checks, rows, clock } = await runSequence(db, seed, 160);
        // Every kind of change was exercised, and the comparisons were over real rows.
        expect(Object.keys(ops).sort()).toEqual([...OP_NAMES].sort());
        expect(checks).toBeGreaterThan(30);
        expect(rows).toBeGreaterThan(20);
        // The full rebuild (074: the live definitions, set-based) agrees with the incremental
        // result it replaces, and repairs a relation whose rows were lost or damaged.
        expect((await refreshAnalytics(db, { full: true, now: new Date(clock) })).rowsChanged).toBe(0);
        for (const view of VIEWS) {
          await db.query(`DELETE FROM ${view} WHERE ctid IN (SELECT ctid FROM ${view} ORDER BY ctid LIMIT 2)`);
        }
        await db.query(`UPDATE mv_listening_sentiment_trends SET mentions = mentions + 7 WHERE ctid = (SELECT min(ctid) FROM mv_listening_sentiment_trends)`);
        await db.query(`INSERT INTO analytics_campaign_totals VALUES (-1, 1, 1, 1)`);
        expect(await mismatches(db, clock)).not.toEqual([]);
        expect((await refreshAnalytics(db, { full: true, now: new Date(clock) })).rowsChanged).toBeGreaterThan(2);
        expect(await mismatches(db, clock)).toEqual([]);
        // The task's rebuild, range by range (095), one key or a day's window per step so every
        // boundary is crossed: it changes nothing now, and repairs the same damage.
        await db.query(`UPDATE dbops.analytics_relations SET rebuild_window_days = 1 WHERE day_column IS NOT NULL`);
        expect((await refreshAnalytics(db, { full: 'steps', batch: 1, now: new Date(clock) })).rowsChanged).toBe(0);
        for (const view of VIEWS) {
          await db.query(`DELETE FROM ${view} WHERE ctid IN (SELECT ctid FROM ${view} ORDER BY ctid DESC LIMIT 2)`);
        }
        await db.query(`INSERT INTO analytics_post_engagement SELECT (jsonb_populate_record(NULL::analytics_post_engagement, to_jsonb(e) || '{"post_id": -5}')).* FROM analytics_post_engagement e LIMIT 1`);
        expect(await mismatches(db, clock)).not.toEqual([]);
        expect((await refreshAnalytics(db, { full: 'steps', batch: 1, now: new Date(clock) })).rowsChanged).toBeGreaterThan(2);
        expect(await mismatches(db, clock)).toEqual([]);
      } finally {
        await db.drop();
      }
    });
  }
});

/**
 * A published post of the workspace's first campaign with one published target and a metric row:
 * rows in the rollup, its day's bucket and its campaign's totals. Returns the metric row's id.
 */
async function plantPublishedPost(db: TestDatabase, workspace: number, tag: string): Promise<string> {
  const [{ id }] = await db.query<{ id: string }>(
    `WITH p AS (
       INSERT INTO posts (workspace_id, author_id, campaign_id, status, content, published_at, created_at)
       SELECT m.workspace_id, m.user_id, (SELECT min(c.id) FROM campaigns c WHERE c.workspace_id = $1), 'PUBLISHED', $2,
              '2026-06-15T09:00:00Z', '2026-06-15T08:00:00Z'
         FROM workspace_members m WHERE m.workspace_id = $1 ORDER BY m.user_id LIMIT 1
       RETURNING id, workspace_id
     ), t AS (
       INSERT INTO post_targets (post_id, social_account_id, status, published_at, external_post_id)
       SELECT p.id, (SELECT id FROM social_accounts WHERE workspace_id = p.workspace_id ORDER BY id LIMIT 1), 'published', '2026-06-15T09:00:00Z', 'x-' || $2
         FROM p RETURNING id
     )
     INSERT INTO post_metrics_daily (post_target_id, metric_date, impressions, likes) SELECT id, '2026-06-16', 900, 90 FROM t RETURNING id`,
    [workspace, tag],
  );
  return id;
}

describe('incremental analytics: capture', () => {
  let db: TestDatabase;
  let workspaces: number[];
  beforeAll(async () => {
    db = await createTestDatabase();
    workspaces = await setUp(db);
    await refreshAnalytics(db, { full: true, now: new Date(T0) });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('records a multi-partition INSERT on the partitioned parent once per (workspace, day), from its transition table', async () => {
    await refreshAnalytics(db, { now: new Date(T0) });
    const days = ['2026-05-03T08:00:00Z', '2026-05-03T09:00:00Z', '2026-06-20T01:00:00Z', '2027-09-01T00:00:00Z'];
    await db.query(
      `INSERT INTO listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, content, published_at)
       SELECT q.workspace_id, q.id, 'twitter', 'cap-' || i, '@x', 'text', t
         FROM unnest($1::timestamptz[]) WITH ORDINALITY u(t, i), (SELECT id, workspace_id FROM listening_queries WHERE workspace_id = $2 ORDER BY id LIMIT 1) q`,
      [days, workspaces[1]],
    );
    const partitions = await db.query<{ p: string }>(
      `SELECT DISTINCT tableoid::regclass::text AS p FROM listening_mentions WHERE external_id LIKE 'cap-%' ORDER BY 1`,
    );
    expect(partitions.length).toBe(3); // two monthly partitions and the default one
    const logged = await db.query(`SELECT view_id, key_id::int, day::text FROM dbops.analytics_changes ORDER BY day`);
    expect(logged).toEqual([
      { view_id: 4, key_id: workspaces[1], day: '2026-05-03' },
      { view_id: 4, key_id: workspaces[1], day: '2026-06-20' },
      { view_id: 4, key_id: workspaces[1], day: '2027-09-01' },
    ]);
  });

  it('finds a workspace\'s next listening day across a gap of over a year, in a monthly partition or the default one, and its days in a window (106)', async () => {
    const t = await createTenant(db, 'gap', 'twitter');
    await db.query(`INSERT INTO listening_queries (workspace_id, name, keywords) VALUES ($1, 'gap', '{g}')`, [t.workspaceId]);
    // Two days in monthly partitions, one 14 months on in the default partition, one years before them all.
    const days = ['2026-06-14T23:30:00Z', '2026-06-20T01:00:00Z', '2026-06-20T05:00:00Z', '2027-08-31T23:59:59Z', '2021-01-01T00:00:00Z'];
    await db.query(
      `INSERT INTO listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, content, published_at)
       SELECT q.workspace_id, q.id, 'twitter', 'gap-' || i, '@x', 'text', t
         FROM unnest($1::timestamptz[]) WITH ORDINALITY u(t, i), (SELECT id, workspace_id FROM listening_queries WHERE workspace_id = $2) q`,
      [days, t.workspaceId],
    );
    const next = async (from: string) =>
      (await db.query<{ d: string | null }>(`SELECT dbops.analytics_next_day_listening_sentiment_trends($1, $2)::text AS d`, [t.workspaceId, from]))[0].d;
    expect(await next('-infinity')).toBe('2021-01-01');
    expect(await next('2021-01-02')).toBe('2026-06-14');
    expect(await next('2026-06-15')).toBe('2026-06-20');
    expect(await next('2026-06-21')).toBe('2027-08-31');
    expect(await next('2027-09-01')).toBeNull();
    expect(await db.query(`SELECT key_id::int, day::text FROM dbops.analytics_range_listening_sentiment_trends($1, '2026-06-14', '2027-09-01') ORDER BY day`, [t.workspaceId])).toEqual([
      { key_id: t.workspaceId, day: '2026-06-14' },
      { key_id: t.workspaceId, day: '2026-06-20' },
      { key_id: t.workspaceId, day: '2027-08-31' },
    ]);
    expect(await db.query(`SELECT count(*)::int AS n FROM dbops.analytics_range_listening_sentiment_trends($1, '2026-06-15', '2026-06-20')`, [t.workspaceId])).toEqual([{ n: 0 }]);
    await refreshAnalytics(db, { now: new Date(T0) });
    expect(await mismatches(db, T0)).toEqual([]);
  });

  it('logs nothing for inbox activity the metrics do not read', async () => {
    await refreshAnalytics(db, { now: new Date(T0) });
    await db.query(
      `INSERT INTO conversations (workspace_id, social_account_id, external_thread_id, type, created_at)
       SELECT workspace_id, id, 'quiet', 'comment', $1 FROM social_accounts WHERE workspace_id = $2 ORDER BY id LIMIT 1`,
      [iso(T0), workspaces[0]],
    );
    await refreshAnalytics(db, { now: new Date(T0) });
    await db.query(`UPDATE conversations SET last_message_at = now(), priority = 'urgent', tags = '{vip}' WHERE external_thread_id = 'quiet'`);
    expect(await db.query(`SELECT * FROM dbops.analytics_changes`)).toEqual([]);
  });

  it('counts an SLA deadline that passes with no write, once the refresh clock is past it', async () => {
    await refreshAnalytics(db, { now: new Date(T0) });
    await db.query(
      `INSERT INTO conversations (workspace_id, social_account_id, external_thread_id, type, created_at, first_response_due_at)
       SELECT workspace_id, id, 'due-soon', 'review', $1, $2 FROM social_accounts WHERE workspace_id = $3 ORDER BY id LIMIT 1`,
      [iso(T0 - HOUR), iso(T0 + HOUR), workspaces[0]],
    );
    const breaches = async () =>
      (await db.query<{ n: string }>(`SELECT sum(first_response_sla_breaches) AS n FROM mv_conversation_metrics WHERE type = 'review'`))[0].n;
    await refreshAnalytics(db, { now: new Date(T0) });
    expect(await breaches()).toBe('0');
    // Two hours on, nothing written: the deadline has passed.
    await refreshAnalytics(db, { now: new Date(T0 + 2 * HOUR) });
    expect(await breaches()).toBe('1');
    expect(await mismatches(db, T0 + 2 * HOUR)).toEqual([]);
  });

  it('detects a missing capture: with one trigger gone, the property check reports the relation it feeds', async () => {
    await db.query(`DROP TRIGGER listening_mentions_analytics_update ON public.listening_mentions`);
    try {
      await db.query(`UPDATE listening_mentions SET engagement = engagement + 100`);
      await refreshAnalytics(db, { now: new Date(T0 + 2 * HOUR) });
      expect(await mismatches(db, T0 + 2 * HOUR)).toEqual(['public.mv_listening_sentiment_trends']);
    } finally {
      await db.query(
        `CREATE TRIGGER listening_mentions_analytics_update AFTER UPDATE ON public.listening_mentions
           REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dbops.capture_listening_mentions()`,
      );
    }
    // A full rebuild repairs it.
    await refreshAnalytics(db, { full: true, now: new Date(T0 + 2 * HOUR) });
    expect(await mismatches(db, T0 + 2 * HOUR)).toEqual([]);
  });

  it('captures writes of a role that may change platform rows but has no right on dbops (capture runs as its definer)', async () => {
    const role = `analytics_app_${process.pid}`;
    await db.query(`CREATE ROLE ${role} NOLOGIN`);
    // The emulated Aurora master holds ADMIN OPTION on a role it created, not membership: it grants
    // itself SET (no INHERIT, so its own rights don't leak into the test) to act as that role.
    await db.query(`GRANT ${role} TO CURRENT_USER WITH INHERIT FALSE, SET TRUE`);
    try {
      await db.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
      await db.query(`GRANT SELECT, INSERT ON public.listening_mentions, public.listening_queries TO ${role}`);
      await refreshAnalytics(db, { now: new Date(T0) });
      const client = await db.pool().connect();
      try {
        await client.query(`SET ROLE ${role}`);
        await expect(client.query(`SELECT 1 FROM dbops.analytics_changes`)).rejects.toThrow(/permission denied/);
        await client.query(
          `INSERT INTO listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, content, published_at)
           SELECT workspace_id, id, 'twitter', 'as-app', '@app', 'text', '2026-06-01T12:00:00Z' FROM listening_queries ORDER BY id LIMIT 1`,
        );
      } finally {
        await client.query('RESET ROLE');
        client.release();
      }
      expect(await db.query(`SELECT view_id, day::text FROM dbops.analytics_changes`)).toEqual([{ view_id: 4, day: '2026-06-01' }]);
      await refreshAnalytics(db, { now: new Date(T0) });
      expect(await mismatches(db, T0)).toEqual([]);
    } finally {
      // As the emulated Aurora master (CREATEROLE, not a member of the role) DROP OWNED is refused;
      // the role owns nothing, so revoking what it was granted is enough.
      await db.query(`REVOKE ALL ON public.listening_mentions, public.listening_queries FROM ${role}`);
      await db.query(`REVOKE USAGE ON SCHEMA public FROM ${role}`);
      await db.query(`DROP ROLE ${role}`);
    }
  });

  // The two relations summed from the rollup and kept by its deltas: 093's, and 105's.
  const FED = [
    { view: 'public.mv_daily_post_metrics', id: 1, since: '093' },
    { view: 'public.analytics_campaign_totals', id: 7, since: '105' },
  ] as const;

  for (const { view, since } of FED) {
    it(`a full rebuild of ${view} waits for the rollup deltas in flight, and keeps them (${since})`, async () => {
      // A published post of a campaign with a target and a metric row: its rollup rows, the day's
      // bucket and the campaign's totals.
      await plantPublishedPost(db, workspaces[0], `locked-${since}`);
      const batch = await db.pool().connect();
      const rebuild = await db.pool().connect();
      try {
        await batch.query('BEGIN');
        const [applied] = (await batch.query(`SELECT * FROM dbops.analytics_refresh_batch('dbops.analytics_post_days', 500, $1)`, [new Date(T0)])).rows;
        expect(applied.rows_changed).not.toBe('0');
        const [{ pid }] = (await rebuild.query('SELECT pg_backend_pid() AS pid')).rows;
        const rebuilt = rebuild.query(`SELECT * FROM dbops.analytics_rebuild($1, $2)`, [view, new Date(T0)]);
        // The rebuild blocks on the relation's lock, which the deltas hold until commit.
        for (let i = 0; i < 100; i += 1) {
          const [{ waiting }] = await db.query<{ waiting: boolean }>(`SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = $1`, [pid]);
          if (waiting) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        expect(await db.query(`SELECT wait_event FROM pg_stat_activity WHERE pid = $1`, [pid])).toEqual([{ wait_event: 'advisory' }]);
        await batch.query('COMMIT');
        // Rebuilt after the deltas committed: no row of it differed from their result.
        expect((await rebuilt).rows[0].rows_changed).toBe('0');
      } finally {
        await batch.query('ROLLBACK').catch(() => undefined);
        batch.release();
        rebuild.release();
      }
      await refreshAnalytics(db, { now: new Date(T0) });
      expect(await mismatches(db, T0)).toEqual([]);
    });
  }

  it('never sums a relation from a rollup that is not built, and never adds a rebuilt rollup on top (093, 105)', async () => {
    await plantPublishedPost(db, workspaces[1], 'truncated');
    await refreshAnalytics(db, { now: new Date(T0) });
    const before = await Promise.all(FED.map(({ view }) => viewRows(db, view)));
    for (const rows of before) expect(rows.length).toBeGreaterThan(0);
    // The rollup lost (TRUNCATE is not captured) and due for its rebuild, e.g. a first fill that failed.
    await db.query(`TRUNCATE dbops.analytics_post_days`);
    await db.query(`UPDATE dbops.analytics_relations SET needs_full = true WHERE view_id = 8`);
    for (const { view } of FED) {
      await expect(db.query(`SELECT * FROM dbops.analytics_rebuild($1)`, [view])).rejects.toThrow(
        `${view} is summed from dbops.analytics_post_days, which is not built yet: rebuild dbops.analytics_post_days first`,
      );
    }
    expect(await Promise.all(FED.map(({ view }) => viewRows(db, view)))).toEqual(before);
    // Rebuilt alone: its inserts are not added to what the relations hold; each is marked for its
    // own rebuild instead, and summed anew from the rollup.
    await db.query(`SELECT * FROM dbops.analytics_rebuild('dbops.analytics_post_days')`);
    expect(await Promise.all(FED.map(({ view }) => viewRows(db, view)))).toEqual(before);
    expect(await db.query(`SELECT view_id, needs_full FROM dbops.analytics_relations WHERE view_id IN (1, 7, 8) ORDER BY 1`)).toEqual([
      { view_id: 1, needs_full: true },
      { view_id: 7, needs_full: true },
      { view_id: 8, needs_full: false },
    ]);
    for (const { view } of FED) {
      const [rebuilt] = await db.query<{ rows_changed: string }>(`SELECT * FROM dbops.analytics_rebuild($1)`, [view]);
      expect(rebuilt.rows_changed).toBe('0');
    }
    expect(await mismatches(db, T0)).toEqual([]);
  });

  it('keeps a campaign by the rollup deltas, which nothing logs since 105: a row while it has metric rows, even all zero, none after its last (105)', async () => {
    const metric = await plantPublishedPost(db, workspaces[0], 'campaign-deltas');
    const [{ campaign }] = await db.query<{ campaign: string }>(
      `SELECT p.campaign_id AS campaign FROM post_metrics_daily m JOIN post_targets pt ON pt.id = m.post_target_id JOIN posts p ON p.id = pt.post_id WHERE m.id = $1`,
      [metric],
    );
    const totals = async (id = campaign) => db.query(`SELECT impressions, engagements, clicks FROM analytics_campaign_totals WHERE campaign_id = $1`, [id]);
    await refreshAnalytics(db, { now: new Date(T0) });
    const [start] = await totals();
    // A second metric row: only the rollup's post is logged, and its delta reaches the campaign.
    await db.query(
      `INSERT INTO post_metrics_daily (post_target_id, metric_date, impressions, likes, comments, clicks)
       SELECT post_target_id, '2026-06-17', 40, 3, 2, 7 FROM post_metrics_daily WHERE id = $1`,
      [metric],
    );
    expect(await db.query(`SELECT DISTINCT view_id FROM dbops.analytics_changes ORDER BY 1`)).toEqual([{ view_id: 6 }, { view_id: 8 }]);
    await refreshAnalytics(db, { now: new Date(T0) });
    expect(await totals()).toEqual([{
      impressions: String(Number(start.impressions) + 40), engagements: String(Number(start.engagements) + 5), clicks: String(Number(start.clicks) + 7),
    }]);
    // The campaign's only post's metric rows all zero: the row stays, all zero.
    await db.query(`UPDATE posts SET campaign_id = NULL WHERE campaign_id = $1 AND content <> 'campaign-deltas'`, [campaign]);
    await db.query(
      `UPDATE post_metrics_daily m SET impressions = 0, likes = 0, comments = 0, shares = 0, saves = 0, clicks = 0
         FROM post_targets pt JOIN posts p ON p.id = pt.post_id WHERE pt.id = m.post_target_id AND p.content = 'campaign-deltas'`,
    );
    await refreshAnalytics(db, { now: new Date(T0) });
    expect(await totals()).toEqual([{ impressions: '0', engagements: '0', clicks: '0' }]);
    expect(await mismatches(db, T0)).toEqual([]);
    // The post moved to a campaign with no row yet: the old campaign's row goes with its last
    // metric rows, the new one gets a row though its sums gain nothing.
    const [{ id: fresh }] = await db.query<{ id: string }>(`INSERT INTO campaigns (workspace_id, name, status) VALUES ($1, 'fresh', 'active') RETURNING id`, [workspaces[0]]);
    await db.query(`UPDATE posts SET campaign_id = $1 WHERE content = 'campaign-deltas'`, [fresh]);
    await refreshAnalytics(db, { now: new Date(T0) });
    expect(await totals()).toEqual([]);
    expect(await totals(fresh)).toEqual([{ impressions: '0', engagements: '0', clicks: '0' }]);
    expect(await mismatches(db, T0)).toEqual([]);
    // Its last metric row gone: so is its row.
    await db.query(
      `DELETE FROM post_metrics_daily m USING post_targets pt JOIN posts p ON p.id = pt.post_id WHERE pt.id = m.post_target_id AND p.content = 'campaign-deltas'`,
    );
    await refreshAnalytics(db, { now: new Date(T0) });
    expect(await totals(fresh)).toEqual([]);
    expect(await mismatches(db, T0)).toEqual([]);
  });

  it('recomputes a logged mv_daily_post_metrics bucket from the rollup, which nothing logs since 093', async () => {
    await plantPublishedPost(db, workspaces[1], 'by-hand');
    await refreshAnalytics(db, { now: new Date(T0) });
    const [row] = await db.query<{ workspace_id: string; day: string }>(
      `SELECT workspace_id, day::text FROM mv_daily_post_metrics WHERE workspace_id = $1 ORDER BY day LIMIT 1`,
      [workspaces[1]],
    );
    // Damage the bucket, and point the rollup at other figures the base tables do not hold: the
    // recompute must follow the rollup, the state the deltas apply to, not the base tables.
    await db.query(`UPDATE mv_daily_post_metrics SET impressions = impressions + 5 WHERE workspace_id = $1 AND day = $2`, [row.workspace_id, row.day]);
    await db.query(`ALTER TABLE dbops.analytics_post_days DISABLE TRIGGER USER`);
    await db.query(`UPDATE dbops.analytics_post_days SET impressions = coalesce(impressions, 0) + 1000 WHERE workspace_id = $1 AND day = $2`, [row.workspace_id, row.day]);
    await db.query(`ALTER TABLE dbops.analytics_post_days ENABLE TRIGGER USER`);
    await db.query(`INSERT INTO dbops.analytics_changes (view_id, key_id, day) VALUES (1, $1, $2)`, [row.workspace_id, row.day]);
    const { buckets } = await refreshAnalytics(db, { now: new Date(T0), only: ['public.mv_daily_post_metrics'] });
    expect(buckets).toBe(1);
    const [sums] = await db.query<{ kept: string; rollup: string }>(
      `SELECT (SELECT sum(impressions) FROM mv_daily_post_metrics WHERE workspace_id = $1 AND day = $2) AS kept,
              (SELECT sum(coalesce(impressions, 0)) FROM dbops.analytics_post_days WHERE workspace_id = $1 AND day = $2) AS rollup`,
      [row.workspace_id, row.day],
    );
    expect(sums.kept).toBe(sums.rollup);
    // Put the rollup back (a full run rebuilds it from the base tables, then its sum).
    await refreshAnalytics(db, { full: true, now: new Date(T0) });
    expect(await mismatches(db, T0)).toEqual([]);
  });

  it('never makes a campaign row from a loss: a campaign the relation has no row for stays without one until rebuilt (105)', async () => {
    await plantPublishedPost(db, workspaces[0], 'campaign-loss');
    await db.query(
      `INSERT INTO post_metrics_daily (post_target_id, metric_date, impressions, likes)
       SELECT pt.id, '2026-06-18', 70, 7 FROM post_targets pt JOIN posts p ON p.id = pt.post_id WHERE p.content = 'campaign-loss'`,
    );
    await refreshAnalytics(db, { now: new Date(T0) });
    const [{ campaign }] = await db.query<{ campaign: string }>(`SELECT campaign_id AS campaign FROM posts WHERE content = 'campaign-loss'`);
    // The row lost (as for a relation that has not caught up), then one of the campaign's metric rows goes.
    await db.query(`DELETE FROM analytics_campaign_totals WHERE campaign_id = $1`, [campaign]);
    await db.query(
      `DELETE FROM post_metrics_daily m USING post_targets pt JOIN posts p ON p.id = pt.post_id
        WHERE pt.id = m.post_target_id AND p.content = 'campaign-loss' AND m.metric_date = '2026-06-18'`,
    );
    await refreshAnalytics(db, { now: new Date(T0) });
    expect(await db.query(`SELECT * FROM analytics_campaign_totals WHERE campaign_id = $1`, [campaign])).toEqual([]);
    expect(await mismatches(db, T0)).toEqual(['public.analytics_campaign_totals']);
    await refreshAnalytics(db, { full: 'steps', now: new Date(T0), only: ['public.analytics_campaign_totals'] });
    expect(await mismatches(db, T0)).toEqual([]);
  });

  it('recomputes a logged campaign from the rollup, not from the base tables (105)', async () => {
    await plantPublishedPost(db, workspaces[1], 'campaign-by-hand');
    await refreshAnalytics(db, { now: new Date(T0) });
    const [{ campaign }] = await db.query<{ campaign: string }>(`SELECT campaign_id AS campaign FROM posts WHERE content = 'campaign-by-hand'`);
    await db.query(`UPDATE analytics_campaign_totals SET clicks = clicks + 5 WHERE campaign_id = $1`, [campaign]);
    await db.query(`ALTER TABLE dbops.analytics_post_days DISABLE TRIGGER USER`);
    await db.query(`UPDATE dbops.analytics_post_days SET impressions = impressions + 1000 WHERE campaign_id = $1 AND metric_rows > 0`, [campaign]);
    await db.query(`ALTER TABLE dbops.analytics_post_days ENABLE TRIGGER USER`);
    await db.query(`INSERT INTO dbops.analytics_changes (view_id, key_id, day) VALUES (7, $1, '-infinity')`, [campaign]);
    const { buckets } = await refreshAnalytics(db, { now: new Date(T0), only: ['public.analytics_campaign_totals'] });
    expect(buckets).toBe(1);
    expect(await db.query(`SELECT * FROM analytics_campaign_totals WHERE campaign_id = $1`, [campaign])).toEqual(
      await db.query(`SELECT * FROM dbops.analytics_campaign_totals_rollup WHERE campaign_id = $1`, [campaign]),
    );
    expect(await db.query(`SELECT count(*)::int AS n FROM dbops.analytics_campaign_totals_live l JOIN analytics_campaign_totals t USING (campaign_id) WHERE l.impressions <> t.impressions`)).toEqual([{ n: 1 }]);
    await refreshAnalytics(db, { full: true, now: new Date(T0) });
    expect(await mismatches(db, T0)).toEqual([]);
  });

  it('rejects a relation that is not kept incrementally, and a bad batch size, before doing anything', async () => {
    await expect(db.query(`SELECT * FROM dbops.analytics_refresh_batch('public.posts', 10)`)).rejects.toThrow(/not an incrementally maintained analytics relation: public.posts/);
    await expect(db.query(`SELECT * FROM dbops.analytics_refresh_batch('public.mv_daily_post_metrics', 0)`)).rejects.toThrow(/batch size must be between 1 and 100000/);
  });
});
