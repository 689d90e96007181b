import type { TestDatabase } from './database';

/**
 * Publishing-queue fixtures (migration 080) shared by the lifecycle tests and the
 * release-stuck-claims task tests: a workspace with three accounts, scheduled posts with pending
 * targets, and the rows the assertions read.
 */
export async function seedPublishingAccounts(db: TestDatabase): Promise<void> {
  await db.query(`
    INSERT INTO workspaces (name, slug) VALUES ('Queue', 'queue');
    INSERT INTO users (email, password_hash) VALUES ('q@example.com', repeat('x', 40));
    INSERT INTO social_accounts (workspace_id, platform, external_account_id, handle)
    SELECT 1, p::social_platform, 'acct-' || p, '@' || p FROM unnest(ARRAY['twitter', 'linkedin', 'facebook']) p;`);
}

/** n SCHEDULED posts due about `minutesAgo` minutes ago (one second apart, oldest first by id), each with `targets` pending targets. */
export async function schedulePosts(db: TestDatabase, n: number, targets = 3, minutesAgo = 10): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `WITH p AS (
       INSERT INTO posts (workspace_id, author_id, status, content, scheduled_at)
       SELECT 1, 1, 'SCHEDULED', 'post ' || g, now() - make_interval(mins => $2::int) + make_interval(secs => g)
         FROM generate_series(1, $1::int) g
       RETURNING id)
     , t AS (INSERT INTO post_targets (post_id, social_account_id) SELECT p.id, a.id FROM p, social_accounts a WHERE a.id <= $3 RETURNING 1)
     SELECT id FROM p ORDER BY id`,
    [n, minutesAgo, targets],
  );
  return rows.map((r) => String(r.id));
}

export async function postRow(db: TestDatabase, id: string) {
  const [row] = await db.query<{ status: string; published_at: Date | null; last_error: string | null; publish_attempts: number; claimed_by: string | null }>(
    `SELECT status::text, published_at, last_error, publish_attempts, claimed_by FROM posts WHERE id = $1`,
    [id],
  );
  return row;
}

export function targetRows(db: TestDatabase, postId: string) {
  return db.query<{ id: string; status: string; external_post_id: string | null; attempts: number; last_error: string | null }>(
    `SELECT id::text, status::text, external_post_id, attempts, last_error FROM post_targets WHERE post_id = $1 ORDER BY id`,
    [postId],
  );
}

export function queueRow(db: TestDatabase, postId: string) {
  return db.query<{ due_at: Date; lease_token: string | null; leased_by: string | null; claims: number; retries: number }>(
    `SELECT due_at, lease_token::text, leased_by, claims, retries FROM publish_queue WHERE post_id = $1`,
    [postId],
  );
}

/** The lease ran out: the worker hung or died. */
export function expireLease(db: TestDatabase, postId: string) {
  return db.query(`UPDATE publish_queue SET lease_until = now() - interval '1 second' WHERE post_id = $1`, [postId]);
}
