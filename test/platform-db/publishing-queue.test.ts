import type { Pool } from 'pg';
import { loadQueryFile, loadQueryFiles } from '../../sql/query-files';
import { CLAIM_SQL, ClaimedPost, PublishingQueue, PublishingQueueError, QueueQueryable } from '../../platform-db/publishing-queue';
import { migrate } from '../../lambdas/migrate/migrator';
import { createEmptyDatabase, createTestDatabase, TestDatabase } from '../support/database';
import { explainWithNested, planNodes } from '../sql/query-plan-support';
import { expireLease, postRow, queueRow, schedulePosts, seedPublishingAccounts, targetRows } from '../support/publishing';
import { harness } from '../lambdas/tasks/helpers';

/**
 * Unheld queue rows missing from publish_ready, list rows that are not an unheld queue row, and
 * list rows whose targets are not the post's pending targets in id order (112).
 */
async function listDriftIn(db: TestDatabase) {
  const [row] = await db.query<{ unlisted: string[] | null; stale: string[] | null; wrong: string[] | null }>(
    `SELECT (SELECT array_agg(q.post_id::text ORDER BY q.post_id) FROM publish_queue q
              WHERE q.lease_token IS NULL AND NOT EXISTS (SELECT FROM publish_ready r WHERE r.post_id = q.post_id AND r.due_at = q.due_at)) AS unlisted,
            (SELECT array_agg(r.post_id::text ORDER BY r.post_id) FROM publish_ready r
              WHERE NOT EXISTS (SELECT FROM publish_queue q WHERE q.post_id = r.post_id AND q.due_at = r.due_at AND q.lease_token IS NULL)) AS stale,
            (SELECT array_agg(r.post_id::text ORDER BY r.post_id) FROM publish_ready r
              WHERE NOT EXISTS (
                SELECT FROM (SELECT coalesce(array_agg(pt.id ORDER BY pt.id), '{}') AS ids, coalesce(array_agg(pt.social_account_id ORDER BY pt.id), '{}') AS accounts
                               FROM post_targets pt WHERE pt.post_id = r.post_id AND pt.status = 'pending') p
                 WHERE p.ids = r.target_ids AND p.accounts = r.account_ids)) AS wrong`,
  );
  return { unlisted: row.unlisted ?? [], stale: row.stale ?? [], wrong: row.wrong ?? [] };
}

/**
 * The publishing queue's lifecycle (080) on the real PostgreSQL: every transition, the fencing of
 * late reports, release. The requeue task and its metrics: test/lambdas/tasks/release-stuck-claims.test.ts.
 */
describe('publishing queue', () => {
  let db: TestDatabase;
  let pool: Pool;
  const FAR = new Date('2100-01-01T00:00:00Z');

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = db.newPool({ max: 4 });
    await seedPublishingAccounts(db);
  });
  afterAll(() => db.drop());

  beforeEach(async () => {
    await db.query(`DELETE FROM posts; DELETE FROM publish_outcomes;`);
  });

  const schedule = (n: number, targets?: number, minutesAgo?: number) => schedulePosts(db, n, targets, minutesAgo);
  const queue = (workerId: string, options: Partial<ConstructorParameters<typeof PublishingQueue>[1]> = {}) =>
    new PublishingQueue(pool, { workerId, leaseSeconds: 60, baseDelaySeconds: 10, maxDelaySeconds: 100, ...options });
  const post = (id: string) => postRow(db, id);
  const targets = (postId: string) => targetRows(db, postId);
  const queued = (postId: string) => queueRow(db, postId);
  const expire = (postId: string) => expireLease(db, postId);

  it('keeps the queue in step with posts: scheduling queues, rescheduling moves, unscheduling removes', async () => {
    const [id] = await schedule(1);
    const [row] = await queued(id);
    const [p] = await db.query<{ scheduled_at: Date }>(`SELECT scheduled_at FROM posts WHERE id = $1`, [id]);
    expect(row).toMatchObject({ due_at: p.scheduled_at, lease_token: null, claims: 0 });

    await db.query(`UPDATE posts SET scheduled_at = '2030-01-01T00:00:00Z' WHERE id = $1`, [id]);
    expect((await queued(id))[0].due_at).toEqual(new Date('2030-01-01T00:00:00Z'));
    await db.query(`UPDATE posts SET status = 'DRAFT' WHERE id = $1`, [id]);
    expect(await queued(id)).toEqual([]);
    await db.query(`UPDATE posts SET status = 'SCHEDULED' WHERE id = $1`, [id]);
    expect(await queued(id)).toHaveLength(1);
    await db.query(`DELETE FROM posts WHERE id = $1`, [id]);
    expect(await queued(id)).toEqual([]);
  });

  it('claims due posts oldest first under a lease, with their pending targets, without writing posts', async () => {
    const ids = await schedule(5);
    await schedule(1, 3, -60); // due in an hour: not claimable now
    const before = await db.query(`SELECT id, xmin::text, status FROM posts ORDER BY id`);
    const client = await pool.connect();
    let claimed: ClaimedPost[];
    let updated: string;
    let hot: string;
    try {
      await client.query('BEGIN');
      claimed = await new PublishingQueue(client, { workerId: 'w1' }).claim(3);
      [{ updated, hot }] = (
        await client.query<{ updated: string; hot: string }>(
          `SELECT pg_stat_get_xact_tuples_updated('public.publish_queue'::regclass)::text AS updated,
                  pg_stat_get_xact_tuples_hot_updated('public.publish_queue'::regclass)::text AS hot`,
        )
      ).rows;
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(claimed.map((c) => c.postId)).toEqual(ids.slice(0, 3));
    // Three queue rows leased, one update each, every one HOT (110): no index entry written.
    expect(updated).toBe('3');
    expect(hot).toBe('3');
    for (const c of claimed) {
      expect(c.attempt).toBe(1);
      expect(c.targets).toHaveLength(3);
      expect(c.leaseUntil.getTime()).toBeGreaterThan(Date.now() + 100_000);
      expect((await queued(c.postId))[0]).toMatchObject({ lease_token: c.leaseToken, leased_by: 'w1', claims: 1 });
    }
    expect(new Set(claimed.map((c) => c.leaseToken)).size).toBe(3);
    // Not one posts row was written by the claim.
    expect(await db.query(`SELECT id, xmin::text, status FROM posts ORDER BY id`)).toEqual(before);
    // The rest: the two other due posts, never the future one.
    const rest = await queue('w2').claim(50);
    expect(rest.map((c) => c.postId)).toEqual(ids.slice(3));
  });

  it('walks past no post another worker holds (110: the claim walks the list of unheld rows)', async () => {
    await schedule(40, 1);
    const held = await queue('holder').claim(30);
    expect(held).toHaveLength(30);
    // The claim's own statements, run and rolled back with auto_explain: the scan that picks the
    // batch reads the candidates list alone, and must not have read a held row and dropped it
    // (080's walk along publish_queue_due_idx read and dropped all 30).
    const plan = await explainWithNested(db.superuserUrl, loadQueryFile('scheduled_post_claim'), [new Date(), 5, 'next', 60], true);
    const picks = planNodes(plan).filter((n) => ['publish_queue', 'publish_ready'].includes(n['Relation Name'] as string) && /Index/.test(n['Node Type']) && n['Index Name'] !== 'publish_queue_pkey');
    expect(picks.map((n) => [n['Index Name'], n['Actual Rows'], n['Rows Removed by Filter'] ?? 0])).toEqual([['publish_ready_pkey', 5, 0]]);
    // The targets come with the entries (112): the claim reads no post_targets.
    expect(planNodes(plan).filter((n) => n['Relation Name'] === 'post_targets')).toEqual([]);
    await queue('holder').release();
  });

  const listDrift = () => listDriftIn(db);
  const clean = { unlisted: [], stale: [], wrong: [] };
  /** The targets publish_ready lists for a post, as the claim would hand them out. */
  const listed = async (postId: string) =>
    (await db.query<{ ids: string[] }>(`SELECT target_ids::text[] AS ids FROM publish_ready WHERE post_id = $1`, [postId])).map((r) => r.ids);

  it('lists exactly the unheld queue rows in publish_ready, with their pending targets, through every transition (110, 112)', async () => {
    const ids = await schedule(6, 1);
    expect(await listDrift()).toEqual(clean);
    expect(await db.query(`SELECT count(*)::int AS n FROM publish_ready`)).toEqual([{ n: 6 }]);
    // Rescheduled while unheld: the entry moves.
    await db.query(`UPDATE posts SET scheduled_at = scheduled_at - interval '1 hour' WHERE id = $1`, [ids[5]]);
    expect(await listDrift()).toEqual(clean);

    const q = queue('w1');
    const claimed = await q.claim(6);
    expect(claimed).toHaveLength(6);
    expect(await db.query(`SELECT count(*)::int AS n FROM publish_ready`)).toEqual([{ n: 0 }]);
    const lease = (postId: string) => claimed.find((c) => c.postId === postId)!;

    // Finished: the held row goes, nothing to list.
    await q.complete(lease(ids[0]).targets[0].targetId, lease(ids[0]).leaseToken, 'ext-0');
    // A retry's backoff ends the lease: listed at its new due time.
    expect(await q.fail(lease(ids[1]).targets[0].targetId, lease(ids[1]).leaseToken, 'HTTP 503', { retryable: true })).toBe('retry-scheduled');
    // Requeued after its lease expired.
    await expire(ids[2]);
    await db.query(`SELECT * FROM dbops.release_stuck_claims()`);
    // Rescheduled while held: listed only once the lease ends.
    await db.query(`UPDATE posts SET scheduled_at = scheduled_at + interval '1 minute' WHERE id = $1`, [ids[3]]);
    expect(await listDrift()).toEqual(clean);
    expect((await db.query<{ post_id: string }>(`SELECT post_id::text FROM publish_ready ORDER BY post_id`)).map((r) => r.post_id)).toEqual([ids[1], ids[2]]);
    // Handed back by the stopping worker.
    expect(await q.release()).toBe(3); // ids[3], ids[4], ids[5]
    expect(await listDrift()).toEqual(clean);
    // Unscheduled and deleted while unheld: their entries go.
    await db.query(`UPDATE posts SET status = 'DRAFT' WHERE id = $1`, [ids[4]]);
    await db.query(`DELETE FROM posts WHERE id = $1`, [ids[5]]);
    expect(await listDrift()).toEqual(clean);
    expect((await db.query<{ post_id: string }>(`SELECT post_id::text FROM publish_ready ORDER BY post_id`)).map((r) => r.post_id)).toEqual([ids[1], ids[2], ids[3]]);
  });

  it('leases a listed post only if its queue row is unheld: a stale entry costs a row, never a second lease', async () => {
    const [id, other] = await schedule(2, 1, 20);
    const [held] = await queue('w1').claim(1);
    expect(held.postId).toBe(id);
    // An entry for the held post, as a path outside the triggers might leave one.
    await db.query(`INSERT INTO publish_ready (due_at, post_id, target_ids, account_ids) SELECT due_at - interval '1 minute', post_id, '{}', '{}' FROM publish_queue WHERE post_id = $1`, [id]);
    const next = await queue('w2').claim(5);
    expect(next.map((c) => c.postId)).toEqual([other]);
    expect((await queued(id))[0]).toMatchObject({ lease_token: held.leaseToken, leased_by: 'w1', claims: 1 });
    expect(await listDrift()).toEqual(clean);
  });

  it('keeps each listed post\'s targets in step with edits of post_targets, and lists a held post\'s afresh when its lease ends (112)', async () => {
    const [a, b] = await schedule(2, 2);
    const ids = async (postId: string) => (await targets(postId)).filter((t) => t.status === 'pending').map((t) => t.id);
    expect(await listed(a)).toEqual([await ids(a)]);
    expect(await listDrift()).toEqual(clean);
    // Added, cancelled, deleted, moved to another post: each statement leaves both lists exact.
    await db.query(`INSERT INTO post_targets (post_id, social_account_id) VALUES ($1, 3)`, [a]);
    expect((await listed(a))[0]).toHaveLength(3);
    const [first, second, third] = await ids(a);
    await db.query(`UPDATE post_targets SET status = 'cancelled' WHERE id = $1`, [first]);
    await db.query(`DELETE FROM post_targets WHERE id = $1`, [second]);
    await db.query(`UPDATE post_targets SET post_id = $2 WHERE id = $1`, [third, b]);
    expect(await listed(a)).toEqual([[]]);
    expect((await listed(b))[0]).toContain(third);
    expect(await listDrift()).toEqual(clean);
    // A statement that touches no pending target's post, status or account changes no list.
    await db.query(`UPDATE post_targets SET last_error = 'note' WHERE post_id = $1`, [b]);
    expect(await listDrift()).toEqual(clean);

    // Held: no entry, whatever the edits; when the lease ends, listed with the pending targets then.
    const [held] = await queue('w1').claim(1, FAR);
    expect(held.postId).toBe(a);
    expect(held.targets).toEqual([]);
    await db.query(`INSERT INTO post_targets (post_id, social_account_id) VALUES ($1, 2), ($1, 3)`, [a]);
    expect(await listed(a)).toEqual([]);
    expect(await queue('w1').release()).toBe(1);
    expect(await listed(a)).toEqual([await ids(a)]);
    expect(await listDrift()).toEqual(clean);
    const [again] = await queue('w2').claim(1, FAR);
    expect(again.targets.map((t) => t.targetId)).toEqual(await ids(a));
  });

  it('publishes late, never loses, a target an entry\'s list missed (an edit racing the entry, 112)', async () => {
    const [id] = await schedule(1, 2);
    const [first, second] = (await targets(id)).map((t) => t.id);
    // The list as a concurrent insert of the second target could leave it.
    await db.query(`UPDATE publish_ready SET target_ids = ARRAY[$2::bigint], account_ids = ARRAY[1::bigint] WHERE post_id = $1`, [id, first]);
    const q = queue('w1');
    const [c] = await q.claim(1);
    expect(c.targets.map((t) => t.targetId)).toEqual([first]);
    // The unreported pending target keeps the lease: the post is neither finished nor retried.
    expect(await q.complete(first, c.leaseToken, 'ext-1')).toBe('recorded');
    expect(await post(id)).toMatchObject({ status: 'PUBLISHING' });
    expect(await listed(id)).toEqual([]);
    // The lease runs out, the task requeues the post, listed afresh with what is still pending.
    await expire(id);
    await db.query(`SELECT * FROM dbops.release_stuck_claims()`);
    expect(await listed(id)).toEqual([[second]]);
    const [again] = await queue('w2').claim(1);
    expect(again.targets.map((t) => t.targetId)).toEqual([second]);
    expect(await queue('w2').complete(second, again.leaseToken, 'ext-2')).toBe('post-published');
    expect((await targets(id)).map((t) => [t.status, t.external_post_id])).toEqual([
      ['published', 'ext-1'],
      ['published', 'ext-2'],
    ]);
  });

  it('completes a post when every target is published: PUBLISHED, external ids kept, queue row gone, outcome recorded', async () => {
    const [id] = await schedule(1);
    const q = queue('w1');
    const [c] = await q.claim(10);
    const results = [];
    for (const t of c.targets) results.push(await q.complete(t.targetId, c.leaseToken, `ext-${t.targetId}`));
    expect(results).toEqual(['recorded', 'recorded', 'post-published']);
    expect(await post(id)).toMatchObject({ status: 'PUBLISHED', last_error: null, publish_attempts: 1, claimed_by: null });
    expect((await post(id)).published_at).not.toBeNull();
    expect((await targets(id)).map((t) => [t.status, t.external_post_id, t.attempts])).toEqual(
      c.targets.map((t) => ['published', `ext-${t.targetId}`, 1]),
    );
    expect(await queued(id)).toEqual([]);
    expect(await db.query(`SELECT outcome, claims, published_targets, failed_targets FROM publish_outcomes WHERE post_id = $1`, [id])).toEqual([
      { outcome: 'published', claims: 1, published_targets: 3, failed_targets: 0 },
    ]);
  });

  it('moves a post to PUBLISHING with its first live target and retries a transient failure after a jittered backoff', async () => {
    const [id] = await schedule(1);
    const q = queue('w1');
    const [c] = await q.claim(10);
    const [a, b, d] = c.targets;
    expect(await q.complete(a.targetId, c.leaseToken, 'ext-a')).toBe('recorded');
    expect(await post(id)).toMatchObject({ status: 'PUBLISHING', claimed_by: 'w1' });
    expect(await q.fail(b.targetId, c.leaseToken, 'HTTP 503', { retryable: true })).toBe('recorded');
    const startedAt = Date.now();
    expect(await q.complete(d.targetId, c.leaseToken, 'ext-d')).toBe('retry-scheduled');
    const [row] = await queued(id);
    // First retry: base 10 s, half of it jitter: 5-10 s from the failure.
    const wait = row.due_at.getTime() - startedAt;
    expect(wait).toBeGreaterThan(4_000);
    expect(wait).toBeLessThanOrEqual(10_500);
    expect(row).toMatchObject({ lease_token: null, retries: 1 });
    expect(await q.claim(10)).toEqual([]); // not due yet

    const [again] = await q.claim(10, FAR);
    expect(again.attempt).toBe(2);
    expect(again.targets.map((t) => t.targetId)).toEqual([b.targetId]);
    expect(await q.complete(b.targetId, again.leaseToken, 'ext-b')).toBe('post-published');
    expect(await post(id)).toMatchObject({ status: 'PUBLISHED', publish_attempts: 2 });
    expect((await targets(id)).find((t) => t.id === b.targetId)).toMatchObject({ status: 'published', attempts: 2, last_error: null });
  });

  it('doubles the backoff per attempt and fails the target after the last attempt', async () => {
    const [id] = await schedule(1, 1);
    const q = queue('w1', { maxAttempts: 3, baseDelaySeconds: 100, maxDelaySeconds: 1000 });
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const [c] = await q.claim(1, FAR);
      const t0 = Date.now();
      const result = await q.fail(c.targets[0].targetId, c.leaseToken, `timeout ${attempt}`, { retryable: true });
      if (attempt < 3) {
        expect(result).toBe('retry-scheduled');
        waits.push(((await queued(id))[0].due_at.getTime() - t0) / 1000);
      } else {
        expect(result).toBe('post-failed');
      }
    }
    // 100 s then 200 s, each with up to half as jitter.
    expect(waits[0]).toBeGreaterThanOrEqual(49);
    expect(waits[0]).toBeLessThanOrEqual(101);
    expect(waits[1]).toBeGreaterThanOrEqual(99);
    expect(waits[1]).toBeLessThanOrEqual(201);
    expect(await post(id)).toMatchObject({ status: 'FAILED', last_error: 'timeout 3', publish_attempts: 3 });
    expect(await targets(id)).toMatchObject([{ status: 'failed', attempts: 3, last_error: 'timeout 3' }]);
    expect(await queued(id)).toEqual([]);
  });

  it('fails a post whose targets all failed permanently; a post with some published and some failed targets is PUBLISHED', async () => {
    const [allFail, mixed] = await schedule(2);
    const q = queue('w1');
    const claimed = await q.claim(10);
    const byId = new Map(claimed.map((c) => [c.postId, c]));
    const f = byId.get(allFail)!;
    const results = [];
    for (const t of f.targets) results.push(await q.fail(t.targetId, f.leaseToken, 'account suspended', { retryable: false }));
    expect(results).toEqual(['recorded', 'recorded', 'post-failed']);
    expect(await post(allFail)).toMatchObject({ status: 'FAILED', last_error: 'account suspended', published_at: null });

    const m = byId.get(mixed)!;
    await q.complete(m.targets[0].targetId, m.leaseToken, 'ext-1');
    await q.fail(m.targets[1].targetId, m.leaseToken, 'media rejected', { retryable: false });
    expect(await q.complete(m.targets[2].targetId, m.leaseToken, 'ext-3')).toBe('post-published');
    expect(await post(mixed)).toMatchObject({ status: 'PUBLISHED', last_error: 'media rejected' });
    expect(await db.query(`SELECT post_id::text, outcome, published_targets, failed_targets FROM publish_outcomes ORDER BY post_id`)).toEqual([
      { post_id: allFail, outcome: 'failed', published_targets: 0, failed_targets: 3 },
      { post_id: mixed, outcome: 'published', published_targets: 2, failed_targets: 1 },
    ]);
  });

  it('fences a late report: after the lease expired and another worker re-claimed, the old token changes nothing', async () => {
    const [id] = await schedule(1, 1);
    const a = queue('worker-a');
    const b = queue('worker-b');
    const [first] = await a.claim(1);
    const target = first.targets[0].targetId;
    await expire(id);
    const task = harness(db);
    const released = await task.run({ task: 'release-stuck-claims' });
    expect(released.summary).toMatchObject({ requeued: 1, stuckClaims: 1 });

    // Requeued, not yet re-claimed: the old token is already void.
    expect(await a.complete(target, first.leaseToken, 'ext-from-a')).toBe('stale');
    const [second] = await b.claim(1);
    expect(second.leaseToken).not.toBe(first.leaseToken);
    expect(second.attempt).toBe(2);
    expect(await a.complete(target, first.leaseToken, 'ext-from-a')).toBe('stale');
    expect(await a.fail(target, first.leaseToken, 'late timeout', { retryable: false })).toBe('stale');
    expect(await targets(id)).toMatchObject([{ status: 'pending', external_post_id: null, attempts: 0, last_error: null }]);
    expect((await queued(id))[0]).toMatchObject({ lease_token: second.leaseToken, leased_by: 'worker-b' });

    expect(await b.complete(target, second.leaseToken, 'ext-from-b')).toBe('post-published');
    // A late report after the newer attempt finished cannot overwrite it either.
    expect(await a.complete(target, first.leaseToken, 'ext-from-a')).toBe('stale');
    expect(await a.fail(target, first.leaseToken, 'late', { retryable: true })).toBe('stale');
    expect(await targets(id)).toMatchObject([{ status: 'published', external_post_id: 'ext-from-b', attempts: 1 }]);
    expect(await post(id)).toMatchObject({ status: 'PUBLISHED', last_error: null });
  });

  it('accepts a report on an expired lease nobody superseded, and ignores a repeated report', async () => {
    const [id] = await schedule(1, 2);
    const q = queue('w1');
    const [c] = await q.claim(1);
    await expire(id);
    expect(await q.complete(c.targets[0].targetId, c.leaseToken, 'ext-1')).toBe('recorded');
    expect(await q.complete(c.targets[0].targetId, c.leaseToken, 'ext-1-again')).toBe('not-pending');
    expect(await q.fail(c.targets[0].targetId, c.leaseToken, 'oops', { retryable: false })).toBe('not-pending');
    expect((await targets(id))[0]).toMatchObject({ status: 'published', external_post_id: 'ext-1', attempts: 1 });
  });

  it('hands back a stopping worker\'s own leases, first in line and not counted as attempts', async () => {
    const ids = await schedule(3);
    const a = queue('worker-a');
    const b = queue('worker-b');
    await a.claim(2);
    const [other] = await b.claim(1);
    expect(await a.release()).toBe(2);
    expect(await a.release()).toBe(0);
    for (const id of ids.slice(0, 2)) expect((await queued(id))[0]).toMatchObject({ lease_token: null, leased_by: null, claims: 0 });
    expect((await queued(other.postId))[0]).toMatchObject({ leased_by: 'worker-b' });
    expect((await b.claim(5)).map((c) => c.postId)).toEqual(ids.slice(0, 2));
  });

  it('reports a whole batch in one call with the same rules, each post settled once, the fence included', async () => {
    const ids = await schedule(3, 2);
    const q = queue('w1');
    const claimed = await q.claim(3);
    const [p1, p2, p3] = claimed;
    const results = await q.report([
      { targetId: p1.targets[0].targetId, leaseToken: p1.leaseToken, externalPostId: 'x1' },
      { targetId: p2.targets[0].targetId, leaseToken: p2.leaseToken, error: 'HTTP 503', retryable: true },
      { targetId: p1.targets[1].targetId, leaseToken: p1.leaseToken, externalPostId: 'x2' },
      { targetId: p2.targets[1].targetId, leaseToken: p2.leaseToken, externalPostId: 'x3' },
      { targetId: p3.targets[0].targetId, leaseToken: '999999999', externalPostId: 'forged' },
      { targetId: p1.targets[1].targetId, leaseToken: p1.leaseToken, externalPostId: 'x2-again' },
    ]);
    expect(results.map((r) => r.result)).toEqual(['post-published', 'retry-scheduled', 'post-published', 'retry-scheduled', 'stale', 'not-pending']);
    expect(results.map((r) => r.targetId)).toEqual([p1.targets[0].targetId, p2.targets[0].targetId, p1.targets[1].targetId, p2.targets[1].targetId, p3.targets[0].targetId, p1.targets[1].targetId]);
    expect(await post(ids[0])).toMatchObject({ status: 'PUBLISHED' });
    expect(await post(ids[1])).toMatchObject({ status: 'PUBLISHING' });
    expect(await post(ids[2])).toMatchObject({ status: 'SCHEDULED' });
    expect((await targets(ids[0])).map((t) => t.external_post_id)).toEqual(['x1', 'x2']);
    expect((await targets(ids[2])).map((t) => t.status)).toEqual(['pending', 'pending']);
    // A mixed report is refused whole, before any SQL.
    await expect(q.report([{ targetId: '1', leaseToken: '1', error: 'x' } as never])).rejects.toThrow(/reports\[0\]\.retryable must be true or false/);
    await expect(pool.query(`SELECT * FROM publish_report('{1}', '{1,2}', '{x}', '{NULL}', '{NULL}')`)).rejects.toThrow(/same length/);
  });

  it('rejects bad input with a clear error before any SQL runs', async () => {
    const calls: string[] = [];
    const counting: QueueQueryable = { query: (text, values) => (calls.push(text), pool.query(text, values)) as never };
    expect(() => new PublishingQueue(counting, { workerId: '' })).toThrow(/workerId must be a non-empty string/);
    expect(() => new PublishingQueue(counting, { workerId: 'w', leaseSeconds: 0 })).toThrow(/leaseSeconds must be a number between 1 and 3600/);
    expect(() => new PublishingQueue(counting, { workerId: 'w', baseDelaySeconds: 10, maxDelaySeconds: 5 })).toThrow(/maxDelaySeconds/);
    const q = new PublishingQueue(counting, { workerId: 'w' });
    await expect(q.claim(0)).rejects.toThrow(PublishingQueueError);
    await expect(q.claim(1.5)).rejects.toThrow(/batchSize must be a whole number between 1 and 1000/);
    await expect(q.complete('12', 'abc', 'ext')).rejects.toThrow(/leaseToken must be a positive integer id, got "abc"/);
    await expect(q.complete('12', '3', '  ')).rejects.toThrow(/externalPostId must be a non-empty string/);
    await expect(q.fail('12; DROP TABLE posts', '3', 'x', { retryable: true })).rejects.toThrow(/targetId must be a positive integer id/);
    await expect(q.fail('12', '3', 'x', {} as never)).rejects.toThrow(/retryable must be true or false/);
    expect(calls).toEqual([]);
    // The database refuses what a caller outside the library might send.
    await expect(pool.query(`SELECT publish_fail(1, 1, 'x', true, 0)`)).rejects.toThrow(/max attempts must be 1-100/);
    await expect(pool.query(`SELECT publish_complete(999999, 1, 'ext')`)).rejects.toThrow(/post target 999999 does not exist/);
    // The claim function (108) too, and it leases nothing when it refuses, though posts are due.
    await schedule(2);
    await expect(pool.query(`SELECT * FROM publish_claim(now(), 0, 'w', 60)`)).rejects.toThrow(/batch size must be 1-1000, got 0/);
    await expect(pool.query(`SELECT * FROM publish_claim(now(), NULL, 'w', 60)`)).rejects.toThrow(/batch size must be 1-1000, got NULL/);
    await expect(pool.query(`SELECT * FROM publish_claim(now(), 5, '  ', 60)`)).rejects.toThrow(/worker id must be 1-200 characters/);
    await expect(pool.query(`SELECT * FROM publish_claim(now(), 5, repeat('w', 201), 60)`)).rejects.toThrow(/worker id must be 1-200 characters/);
    await expect(pool.query(`SELECT * FROM publish_claim(now(), 5, 'w', 0.5)`)).rejects.toThrow(/lease must be 1-3600 seconds, got 0.5/);
    await expect(pool.query(`SELECT * FROM publish_claim(now(), 5, 'w', 'NaN')`)).rejects.toThrow(/lease must be 1-3600 seconds, got NaN/);
    expect((await db.query(`SELECT count(*)::int AS n FROM publish_queue WHERE lease_token IS NOT NULL`))[0]).toEqual({ n: 0 });
    // A NULL due time is the database's now: both due posts.
    expect((await pool.query(`SELECT * FROM publish_claim(NULL, 5, 'w', 60)`)).rows).toHaveLength(2);
  });

  it('claims with exactly the statement of sql/queries/scheduled_post_claim.sql', () => {
    const normalize = (sql: string) => sql.replace(/\s+/g, ' ').trim();
    const file = loadQueryFiles().find((q) => q.name === 'scheduled_post_claim');
    expect(normalize(file!.sql)).toBe(normalize(CLAIM_SQL));
  });
});

describe('publishing queue: 112 on a database with posts waiting', () => {
  let db: TestDatabase;
  afterAll(() => db?.drop());

  it('lists every waiting post\'s pending targets, leaves a held post unlisted, and the next claim hands them out', async () => {
    db = await createEmptyDatabase();
    await migrate({ databaseUrl: db.url, include: (file) => file.name < '112' });
    await seedPublishingAccounts(db);
    const [held, edited, plain] = await schedulePosts(db, 3, 3);
    const pool = db.newPool({ max: 2 });
    try {
      const [lease] = await new PublishingQueue(pool, { workerId: 'before-112' }).claim(1);
      expect(lease.postId).toBe(held);
      await db.query(`UPDATE post_targets SET status = 'cancelled' WHERE id = (SELECT min(id) FROM post_targets WHERE post_id = $1)`, [edited]);

      await migrate({ databaseUrl: db.url });
      expect(await listDriftIn(db)).toEqual({ unlisted: [], stale: [], wrong: [] });
      const lists = await db.query<{ post_id: string; n: number }>(`SELECT post_id::text, cardinality(target_ids) AS n FROM publish_ready ORDER BY post_id`);
      expect(lists).toEqual([
        { post_id: edited, n: 2 },
        { post_id: plain, n: 3 },
      ]);
      const next = await new PublishingQueue(pool, { workerId: 'after-112' }).claim(5);
      expect(next.map((c) => [c.postId, c.targets.length])).toEqual([
        [edited, 2],
        [plain, 3],
      ]);
    } finally {
      await pool.end();
    }
  });
});
