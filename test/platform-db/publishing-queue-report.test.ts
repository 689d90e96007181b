import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PoolClient } from 'pg';
import { MIGRATIONS_DIR } from '../../lambdas/migrate/migration-files';
import { splitSqlStatements } from '../../lambdas/migrate/sql-splitter';
import { ClaimedPost, PublishingQueue, ReportResult, TargetReport } from '../../platform-db/publishing-queue';
import { createTestDatabase, TestDatabase } from '../support/database';
import { schedulePosts, seedPublishingAccounts } from '../support/publishing';

/**
 * The set-based publish_report (081) against 080's row-by-row one: the same batch, mixing every
 * case, must give the same per-target results and leave the same rows in posts, post_targets,
 * publish_queue and publish_outcomes. Reporting each target on its own (complete/fail, old and new)
 * must leave the same rows too. Each run happens in a transaction that is rolled back, on posts
 * claimed once beforehand, so every run starts from the same rows and lease tokens; 080's functions
 * are put back inside the transaction for the runs that measure them. Last, the fence under
 * concurrency: a batch reported twice at once is applied once.
 */

/** 080's lifecycle functions as that migration created them, to be re-created inside a transaction. */
function functionsOf080(): string[] {
  const sql = readFileSync(path.join(MIGRATIONS_DIR, '080_publishing_queue.sql'), 'utf8');
  const wanted = /^CREATE FUNCTION (public\.publish_(?:settle_locked|record|complete|fail|report))\(/;
  const statements = splitSqlStatements(sql)
    .map((s) => s.replace(/^(?:\s*--[^\n]*\n)*/, '').trim())
    .filter((s) => wanted.test(s))
    .map((s) => s.replace(/^CREATE FUNCTION/, 'CREATE OR REPLACE FUNCTION'));
  if (statements.length !== 5) throw new Error(`expected 5 lifecycle functions in 080, found ${statements.length}`);
  return statements;
}

/** Every row the lifecycle writes, without the instants (now(), jitter) that differ between runs. */
async function snapshot(client: PoolClient) {
  const rows = async (sql: string) => (await client.query(sql)).rows;
  return {
    posts: await rows(`
      SELECT p.id::text, p.status::text, p.claimed_at IS NOT NULL AS claimed, p.claimed_by, p.publish_attempts, p.last_error,
             CASE WHEN p.published_at IS NULL THEN 'none'
                  WHEN p.published_at = (SELECT min(t.published_at) FROM post_targets t WHERE t.post_id = p.id AND t.status = 'published') THEN 'first target'
                  ELSE 'other' END AS published_at
        FROM posts p ORDER BY p.id`),
    targets: await rows(`
      SELECT id::text, post_id::text, status::text, attempts, last_error, external_post_id, published_at IS NOT NULL AS published, last_lease_token::text
        FROM post_targets ORDER BY id`),
    queue: await rows(`
      SELECT post_id::text, scheduled_at, due_at > now() AS waiting_for_retry, lease_token::text, leased_by, lease_until IS NOT NULL AS leased,
             retry_at IS NOT NULL AS retry_pending, claims, retries
        FROM publish_queue ORDER BY post_id`),
    outcomes: await rows(`SELECT post_id::text, scheduled_at, outcome, claims, published_targets, failed_targets FROM publish_outcomes ORDER BY post_id`),
  };
}

describe('publish_report, set-based (081), against the per-target path of 080', () => {
  let db: TestDatabase;
  let client: PoolClient;
  let claimed: ClaimedPost[];
  let batch: TargetReport[];
  const OPTIONS = { workerId: 'w1', maxAttempts: 2, baseDelaySeconds: 10, maxDelaySeconds: 100 };

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedPublishingAccounts(db);
    await schedulePosts(db, 9, 3);
    const pool = db.newPool({ max: 1 });
    client = await pool.connect();
    claimed = await new PublishingQueue(client, OPTIONS).claim(50);
    expect(claimed).toHaveLength(9);
    const [p1, p2, p3, p4, p5, p6, p7, p8, p9] = claimed;
    // p8's first target failed once before (one attempt left of maxAttempts 2); p9's first target
    // was published by an earlier lease.
    await client.query(`UPDATE post_targets SET attempts = 1, last_error = 'earlier timeout' WHERE id = $1`, [p8.targets[0].targetId]);
    await client.query(
      `UPDATE post_targets SET status = 'published', attempts = 1, external_post_id = 'earlier', published_at = now() - interval '1 hour' WHERE id = $1`,
      [p9.targets[0].targetId],
    );
    const ok = (p: ClaimedPost, i: number, externalPostId = `ext-${p.targets[i].targetId}`, leaseToken = p.leaseToken): TargetReport => ({
      targetId: p.targets[i].targetId,
      leaseToken,
      externalPostId,
    });
    const fail = (p: ClaimedPost, i: number, error: string, retryable: boolean): TargetReport => ({
      targetId: p.targets[i].targetId,
      leaseToken: p.leaseToken,
      error,
      retryable,
    });
    // Interleaved across posts, as a worker reports whatever finished first.
    batch = [
      ok(p1, 0),
      ok(p2, 0),
      fail(p3, 0, 'account suspended', false),
      ok(p4, 0),
      ok(p5, 0, 'forged', String(BigInt(p5.leaseToken) + 1_000_000n)), // nobody's lease
      ok(p6, 0, 'x'),
      ok(p1, 1),
      fail(p2, 1, 'media rejected', false),
      fail(p3, 1, 'account suspended', false),
      fail(p4, 1, 'HTTP 503', true),
      ok(p5, 1, 'wrong post', p1.leaseToken), // a live token, of another post
      ok(p6, 0, 'x-again'), // the same target twice in one batch
      ok(p7, 0), // the others of p7 are not reported: its lease goes on
      ok(p7, 1, 'wrong lease', p1.leaseToken), // p7's lease is in the batch, but this report carries p1's
      fail(p8, 0, 'timeout', true), // retryable, but its last attempt
      ok(p9, 0, 'again'), // finished by an earlier lease
      ok(p1, 2),
      ok(p2, 2),
      fail(p3, 2, 'account suspended', false),
      ok(p4, 2),
      ok(p6, 1),
      ok(p6, 2),
      ok(p8, 1),
      ok(p8, 2),
      ok(p9, 1),
      ok(p9, 2),
    ];
  });
  afterAll(async () => {
    client?.release();
    await db?.drop();
  });

  /** One run from the claimed state, rolled back afterwards. */
  async function run(code: '080' | '081', mode: 'batch' | 'one by one', reports: TargetReport[] = batch) {
    await client.query('BEGIN');
    try {
      if (code === '080') for (const statement of functionsOf080()) await client.query(statement);
      const queue = new PublishingQueue(client, OPTIONS);
      let results: ReportResult[] = [];
      if (mode === 'batch') {
        const reported = await queue.report(reports);
        expect(reported.map((r) => r.targetId)).toEqual(reports.map((r) => r.targetId));
        results = reported.map((r) => r.result);
      } else {
        for (const r of reports) {
          results.push('externalPostId' in r ? await queue.complete(r.targetId, r.leaseToken, r.externalPostId) : await queue.fail(r.targetId, r.leaseToken, r.error, r));
        }
      }
      return { results, rows: await snapshot(client) };
    } finally {
      await client.query('ROLLBACK');
    }
  }

  it('gives each target the result 080 gave and leaves the same rows, whether batched or reported one by one', async () => {
    const oldBatch = await run('080', 'batch');
    const newBatch = await run('081', 'batch');
    const oldSingles = await run('080', 'one by one');
    const newSingles = await run('081', 'one by one');

    const P = 'post-published';
    expect(newBatch.results).toEqual([
      P, P, 'post-failed', 'retry-scheduled', 'stale', P,
      P, P, 'post-failed', 'retry-scheduled', 'stale', 'not-pending', 'recorded', 'stale', P, 'not-pending',
      P, P, 'post-failed', 'retry-scheduled', P, P, P, P, P, P,
    ]);
    expect(newBatch.results).toEqual(oldBatch.results);
    expect(newSingles.results).toEqual(oldSingles.results);
    expect(newBatch.rows).toEqual(oldBatch.rows);
    expect(oldSingles.rows).toEqual(oldBatch.rows);
    expect(newSingles.rows).toEqual(oldBatch.rows);

    // What those rows are, post by post (p1 .. p9).
    const rows = newBatch.rows;
    expect(rows.posts.map((p) => [p.status, p.last_error, p.publish_attempts, p.published_at])).toEqual([
      ['PUBLISHED', null, 1, 'first target'],
      ['PUBLISHED', 'media rejected', 1, 'first target'],
      ['FAILED', 'account suspended', 1, 'none'],
      ['PUBLISHING', null, 0, 'none'],
      ['SCHEDULED', null, 0, 'none'],
      ['PUBLISHED', null, 1, 'first target'],
      ['PUBLISHING', null, 0, 'none'],
      ['PUBLISHED', 'timeout', 1, 'first target'],
      ['PUBLISHED', null, 1, 'first target'],
    ]);
    const [, , , p4, p5, p6, p7, p8, p9] = claimed;
    expect(rows.queue.map((q) => [q.post_id, q.lease_token, q.waiting_for_retry, q.retries])).toEqual([
      [p4.postId, null, true, 1],
      [p5.postId, p5.leaseToken, false, 0],
      [p7.postId, p7.leaseToken, false, 0],
    ]);
    expect(rows.outcomes.map((o) => [o.outcome, o.published_targets, o.failed_targets])).toEqual([
      ['published', 3, 0],
      ['published', 2, 1],
      ['failed', 0, 3],
      ['published', 3, 0],
      ['published', 2, 1],
      ['published', 3, 0],
    ]);
    const target = (id: string) => rows.targets.find((t) => t.id === id)!;
    expect(target(p6.targets[0].targetId)).toMatchObject({ status: 'published', external_post_id: 'x', attempts: 1 });
    expect(target(p8.targets[0].targetId)).toMatchObject({ status: 'failed', last_error: 'timeout', attempts: 2 });
    expect(target(p9.targets[0].targetId)).toMatchObject({ status: 'published', external_post_id: 'earlier', attempts: 1 });
    expect(target(p4.targets[1].targetId)).toMatchObject({ status: 'pending', last_error: 'HTTP 503', attempts: 1, last_lease_token: p4.leaseToken });
    expect(rows.targets.filter((t) => t.post_id === p5.postId).map((t) => [t.status, t.attempts])).toEqual([
      ['pending', 0],
      ['pending', 0],
      ['pending', 0],
    ]);
  });

  it('refuses a batch naming an unknown target whole, as 080 did, and changes nothing', async () => {
    const [p1] = claimed;
    const withUnknown: TargetReport[] = [batch[0], { targetId: '999999', leaseToken: p1.leaseToken, externalPostId: 'nowhere' }, batch[6]];
    for (const code of ['080', '081'] as const) {
      await expect(run(code, 'batch', withUnknown)).rejects.toThrow(/publish: post target 999999 does not exist/);
    }
    // Outside a transaction of ours: the call is its own, and leaves no trace.
    await client.query('BEGIN');
    const before = await snapshot(client);
    await client.query('ROLLBACK');
    await expect(new PublishingQueue(client, OPTIONS).report(withUnknown)).rejects.toThrow(/post target 999999 does not exist/);
    await client.query('BEGIN');
    expect(await snapshot(client)).toEqual(before);
    await client.query('ROLLBACK');
  });
  it('makes a second report of the same batch, sent while the first is uncommitted, wait for it and change nothing', async () => {
    await schedulePosts(db, 2, 3);
    const other = await db.newPool({ max: 1 }).connect();
    try {
      const posts = await new PublishingQueue(client, OPTIONS).claim(2);
      expect(posts).toHaveLength(2);
      const reports = posts.flatMap((p) => p.targets.map((t) => ({ targetId: t.targetId, leaseToken: p.leaseToken, externalPostId: `ext-${t.targetId}` })));
      await client.query('BEGIN');
      const first = await new PublishingQueue(client, OPTIONS).report(reports);
      let secondDone = false;
      const second = new PublishingQueue(other, OPTIONS).report(reports).then((r) => ((secondDone = true), r));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(secondDone).toBe(false); // held by the first batch's queue row locks
      await client.query('COMMIT');
      expect(first.map((r) => r.result)).toEqual(reports.map(() => 'post-published'));
      // The first batch finished the posts, so their leases are gone: nothing of the second is kept.
      expect((await second).map((r) => r.result)).toEqual(reports.map(() => 'stale'));
      const targets = await db.query<{ external_post_id: string; attempts: number }>(
        `SELECT external_post_id, attempts FROM post_targets WHERE post_id = ANY ($1::bigint[]) ORDER BY id`,
        [posts.map((p) => p.postId)],
      );
      expect(targets).toEqual(reports.map((r) => ({ external_post_id: r.externalPostId, attempts: 1 })));
    } finally {
      other.release();
    }
  });
});
