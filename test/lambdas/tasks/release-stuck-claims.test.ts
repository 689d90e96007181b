import type { Pool } from 'pg';
import { PublishingQueue } from '../../../platform-db/publishing-queue';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { expireLease, postRow, queueRow, schedulePosts, seedPublishingAccounts } from '../../support/publishing';
import { harness, TaskHarness } from './helpers';

/**
 * release-stuck-claims (080): the requeue of expired leases, the poison-post guard, and the
 * metrics it publishes, each checked against what posts and post_targets say.
 */
describe('release-stuck-claims', () => {
  let db: TestDatabase;
  let pool: Pool;
  let task: TaskHarness;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = db.newPool({ max: 4 });
    await seedPublishingAccounts(db);
  });
  afterAll(() => db.drop());

  beforeEach(async () => {
    await db.query(`DELETE FROM posts; DELETE FROM publish_outcomes;`);
    task = harness(db);
  });

  const schedule = (n: number, targets?: number, minutesAgo?: number) => schedulePosts(db, n, targets, minutesAgo);
  const queue = (workerId: string) => new PublishingQueue(pool, { workerId, leaseSeconds: 60, baseDelaySeconds: 10, maxDelaySeconds: 100 });
  const post = (id: string) => postRow(db, id);
  const queued = (postId: string) => queueRow(db, postId);
  const expire = (postId: string) => expireLease(db, postId);

  it('requeues only expired leases and abandons a post whose lease keeps expiring', async () => {
    const [stuck, live, poison] = await schedule(3, 1);
    const q = queue('w1');
    await q.claim(3);
    await expire(stuck);
    await db.query(`UPDATE publish_queue SET claims = 3 WHERE post_id = $1`, [poison]);
    await expire(poison);
    const result = await task.run({ task: 'release-stuck-claims', maxClaims: 3 });
    expect([result.status, result.reason]).toEqual(['succeeded', undefined]);
    expect(result.summary).toMatchObject({ requeued: 1, abandoned: 1, stuckClaims: 2 });
    expect((await queued(stuck))[0]).toMatchObject({ lease_token: null, claims: 1 });
    expect((await queued(live))[0].leased_by).toBe('w1');
    expect(await post(poison)).toMatchObject({ status: 'FAILED', last_error: 'abandoned: the lease expired 3 times without a report' });
    expect(await queued(poison)).toEqual([]);
    // A dry run reports and changes nothing.
    await expire(live);
    const dry = await task.run({ task: 'release-stuck-claims', dryRun: true });
    expect(dry.summary).toMatchObject({ requeued: 1, abandoned: 0 });
    expect((await queued(live))[0].leased_by).toBe('w1');
  });

  it('publishes queue lag, stuck claims, retries and the success rate that the tables bear out', async () => {
    const ids = await schedule(8, 2, 30);
    const q = queue('w1');
    const claimed = await q.claim(6);
    // 3 published, 1 failed for good, 1 waiting for a retry, 1 stuck (lease expired); 2 never claimed.
    for (const c of claimed.slice(0, 3)) for (const t of c.targets) await q.complete(t.targetId, c.leaseToken, `ext-${t.targetId}`);
    for (const t of claimed[3].targets) await q.fail(t.targetId, claimed[3].leaseToken, 'gone', { retryable: false });
    await q.complete(claimed[4].targets[0].targetId, claimed[4].leaseToken, 'ext');
    await q.fail(claimed[4].targets[1].targetId, claimed[4].leaseToken, 'HTTP 429', { retryable: true });
    await expire(claimed[5].postId);

    const result = await task.run({ task: 'release-stuck-claims' });
    expect(result.status).toBe('succeeded');
    const published = Object.fromEntries(task.sink.data.map((d) => [d.metric.name, d.value]));

    // The truth, straight from posts and post_targets.
    const [truth] = await db.query<{ published: number; failed: number; oldest: Date; targets_published: number; targets_failed: number }>(
      `SELECT count(*) FILTER (WHERE p.status = 'PUBLISHED')::int AS published,
              count(*) FILTER (WHERE p.status = 'FAILED')::int AS failed,
              min(p.scheduled_at) FILTER (WHERE p.status IN ('SCHEDULED', 'PUBLISHING') AND p.id <> $2) AS oldest,
              (SELECT count(*) FROM post_targets t JOIN posts x ON x.id = t.post_id WHERE x.status IN ('PUBLISHED', 'FAILED') AND t.status = 'published')::int AS targets_published,
              (SELECT count(*) FROM post_targets t JOIN posts x ON x.id = t.post_id WHERE x.status IN ('PUBLISHED', 'FAILED') AND t.status = 'failed')::int AS targets_failed
         FROM posts p WHERE p.scheduled_at > now() - interval '1 hour' AND p.id = ANY ($1::bigint[])`,
      [ids, claimed[4].postId],
    );
    expect(truth).toMatchObject({ published: 3, failed: 1, targets_published: 6, targets_failed: 2 });
    expect(published.PublishSuccessRate).toBeCloseTo((100 * truth.published) / (truth.published + truth.failed), 6);
    expect(published.PublishTargetSuccessRate).toBeCloseTo((100 * truth.targets_published) / (truth.targets_published + truth.targets_failed), 6);
    expect(published.StuckClaims).toBe(1);
    expect(published.PublishRetryBacklog).toBe(1);
    // Due and unheld after the requeue: the stuck one and the two never claimed.
    expect(published.PublishQueueDuePosts).toBe(3);
    const lagTruth = (Date.now() - truth.oldest.getTime()) / 1000;
    expect(published.PublishQueueLagSeconds).toBeGreaterThan(lagTruth - 5);
    expect(published.PublishQueueLagSeconds).toBeLessThanOrEqual(lagTruth + 1);
    expect(published.PublishQueueLagSeconds).toBeGreaterThan(29 * 60);
  });

  it('reports no success rate when nothing finished in the window, rather than 0 or 100', async () => {
    await schedule(2);
    await task.run({ task: 'release-stuck-claims' });
    const names = task.sink.data.map((d) => d.metric.name);
    expect(names).toContain('PublishQueueLagSeconds');
    expect(names).not.toContain('PublishSuccessRate');
  });


  it('rejects a bad option before any SQL runs, naming it', async () => {
    const [id] = await schedule(1);
    await queue('w1').claim(1);
    await expire(id);
    await expect(task.run({ task: 'release-stuck-claims', maxClaims: 0 })).rejects.toThrow(/option "maxClaims" must be between 1 and 1000, got 0/);
    await expect(task.run({ task: 'release-stuck-claims', successWindowMinutes: 'hour' })).rejects.toThrow(/option "successWindowMinutes" must be a number/);
    expect((await queued(id))[0].leased_by).toBe('w1');
  });
});
