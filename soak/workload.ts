import { randomBytes } from 'node:crypto';
import type { AppDatabase } from '../platform-db/pools';
import { PublishingQueue, QueueQueryable } from '../platform-db/publishing-queue';
import { WrittenIds } from './ids';
import { classify, OpKind, Recorder } from './recorder';

/**
 * The application side of the soak: small async workers doing what the platform's services do,
 * through the application library's pools (reads routed to the replica, writes to the primary).
 * Each unit of work writes through its own db.session(), as a request handler would, so only its
 * own reads follow its writes to the primary.
 * A connection error is retried a few times with a pause (what a service's retry policy does);
 * any other error, or the last connection error, is surfaced. Both are recorded.
 */
export interface WorkloadOptions {
  db: AppDatabase;
  recorder: Recorder;
  ids: WrittenIds;
  /** Stops starting operations after this many ms since the soak started. */
  untilMs: number;
  /** Upper bound of operations per worker, whatever the clock says. */
  maxOpsPerWorker: number;
  /** Pause between two operations of one worker. */
  paceMs: number;
  workspaces: number;
  conversations: number;
  /** How far back (months) mentions meant for the default partition are dated. */
  defaultPartitionMonthsBack: () => number;
}

const MAX_ATTEMPTS = 6;
const RETRY_PAUSE_MS = 300;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const READS = [
  `SELECT id, status, scheduled_at FROM public.posts WHERE workspace_id = $1 ORDER BY created_at DESC LIMIT 20`,
  `SELECT count(*)::int AS n FROM public.listening_mentions WHERE workspace_id = $1 AND published_at >= now() - interval '3 days'`,
  `SELECT id, subject, status FROM public.conversations WHERE workspace_id = $1 ORDER BY last_message_at DESC NULLS LAST LIMIT 20`,
];

const INGEST_SQL = `
  INSERT INTO public.listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, content, language,
                                         sentiment, sentiment_score, engagement, keywords, published_at)
  VALUES ($1::bigint, ($1::bigint - 1) * 2 + 1, 'twitter', $2::text, '@soak', 'soak mention about brand' || $1::bigint, 'en', 'positive', 0.5, 3, ARRAY['brand' || $1::bigint], $3::timestamptz)
  ON CONFLICT DO NOTHING`;

const INBOX_SQL = `UPDATE public.conversations SET subject = $2, last_message_at = now(), updated_at = now() WHERE id = $1`;

/** A scheduled post with one target; the posts trigger of migration 080 enqueues it. */
const POST_SQL = `
  WITH p AS (
    INSERT INTO public.posts (workspace_id, author_id, status, title, content, scheduled_at)
    VALUES ($1::bigint, $1::bigint, 'SCHEDULED', $2::text, 'soak post', now() + $3::int * interval '1 millisecond')
    RETURNING id, workspace_id)
  INSERT INTO public.post_targets (post_id, social_account_id)
  SELECT id, (workspace_id - 1) * 3 + 1 FROM p
  RETURNING post_id AS id`;

/** The queue's worker API (platform-db/publishing-queue.ts) over the application's writer pool. */
function queueOver(db: AppDatabase, workerId: string): PublishingQueue {
  const writer: QueueQueryable = { query: (text, values) => db.session().write(text, values) as never };
  return new PublishingQueue(writer, { workerId, leaseSeconds: 5 });
}

/** Publishes every target of the claimed posts in one report; a post with none left is settled. Returns the posts now PUBLISHED. */
async function publishAll(queue: PublishingQueue, posts: Awaited<ReturnType<PublishingQueue['claim']>>): Promise<number[]> {
  const published: number[] = [];
  const postOf = new Map<string, string>();
  const reports = posts.flatMap((p) => p.targets.map((t) => (postOf.set(t.targetId, p.postId), { targetId: t.targetId, leaseToken: p.leaseToken, externalPostId: `soak-${t.targetId}` })));
  if (reports.length) {
    for (const r of await queue.report(reports)) if (r.result === 'post-published') published.push(Number(postOf.get(r.targetId)));
  }
  for (const p of posts.filter((x) => x.targets.length === 0)) {
    if ((await queue.settle(p.postId, p.leaseToken)) === 'post-published') published.push(Number(p.postId));
  }
  return published;
}

export class Workload {
  private readonly run = randomBytes(3).toString('hex');
  private seq = 0;
  private stopped = false;

  constructor(private readonly o: WorkloadOptions) {}

  stop(): void {
    this.stopped = true;
  }

  /** Runs every worker until untilMs (or stop()), then resolves. */
  async runAll(): Promise<void> {
    const workers: Promise<void>[] = [];
    for (let i = 0; i < 3; i++) workers.push(this.loop(() => this.read(i)));
    for (let i = 0; i < 2; i++) workers.push(this.loop(() => this.ingest(i)));
    workers.push(this.loop(() => this.inboxUpdate()));
    workers.push(this.loop(() => this.createPost()));
    const queues = [0, 1].map((i) => queueOver(this.o.db, `soak-worker-${i}`));
    for (const queue of queues) workers.push(this.loop(() => this.queueWorker(queue)));
    await Promise.all(workers);
    // A stopping worker hands its leases back, those whose claim reply it never got included.
    for (const queue of queues) await this.operation('queue-complete', () => queue.release());
  }

  private async loop(step: () => Promise<void>): Promise<void> {
    for (let n = 0; n < this.o.maxOpsPerWorker && !this.stopped && this.o.recorder.now() < this.o.untilMs; n++) {
      await step();
      await sleep(this.o.paceMs);
    }
  }

  private workspace(): number {
    return 1 + Math.floor(Math.random() * this.o.workspaces);
  }

  /** One operation: attempts, retries on connection errors, one sample, every error recorded. */
  private async operation<T>(op: OpKind, work: () => Promise<T>): Promise<T | undefined> {
    const recorder = this.o.recorder;
    const started = Date.now();
    let longest = 0;
    for (let attempt = 1; ; attempt++) {
      const attemptStart = Date.now();
      try {
        const value = await work();
        longest = Math.max(longest, Date.now() - attemptStart);
        recorder.samples.push({ t: recorder.now(), op, ms: Date.now() - started, longestAttemptMs: longest, ok: true });
        return value;
      } catch (error) {
        longest = Math.max(longest, Date.now() - attemptStart);
        const { kind, code } = classify(error);
        const retry = kind === 'connection' && attempt < MAX_ATTEMPTS && !this.stopped;
        recorder.errors.push({ t: recorder.now(), op, kind, code, message: (error as Error).message.slice(0, 200), outcome: retry ? 'retried' : 'surfaced' });
        if (!retry) {
          recorder.samples.push({ t: recorder.now(), op, ms: Date.now() - started, longestAttemptMs: longest, ok: false });
          return undefined;
        }
        await sleep(RETRY_PAUSE_MS * attempt);
      }
    }
  }

  private async read(i: number): Promise<void> {
    const sql = READS[(this.seq++ + i) % READS.length];
    await this.operation('read', () => this.o.db.read(sql, [this.workspace()]));
  }

  private async ingest(i: number): Promise<void> {
    const externalId = `soak-${this.run}-${i}-${this.seq++}`;
    // One in five is dated months back, before any partition: it lands in the default partition.
    const old = Math.random() < 0.2;
    const publishedAt = new Date();
    if (old) publishedAt.setUTCMonth(publishedAt.getUTCMonth() - this.o.defaultPartitionMonthsBack());
    else publishedAt.setTime(publishedAt.getTime() - Math.floor(Math.random() * 3 * 86_400_000));
    const done = await this.operation('mention-ingest', () => this.o.db.session().write(INGEST_SQL, [this.workspace(), externalId, publishedAt]));
    if (done) this.o.ids.mentions.push(externalId);
  }

  private async inboxUpdate(): Promise<void> {
    const id = 1 + Math.floor(Math.random() * this.o.conversations);
    const subject = `soak ${this.run} ${this.seq++}`;
    const done = await this.operation('inbox-update', () => this.o.db.session().write(INBOX_SQL, [id, subject]));
    // A surfaced failure may still have committed (lost reply): that conversation's state is unknown, so it is not checked.
    if (done) this.o.ids.inbox.set(id, subject);
    else this.o.ids.inbox.delete(id);
  }

  /** A request that creates a post and reads it back in the same session: it must see its own write. */
  private async createPost(): Promise<void> {
    const session = this.o.db.session();
    const workspace = this.workspace();
    const created = await this.operation('post-create', async () => {
      const { rows } = await session.write<{ id: string }>(POST_SQL, [workspace, `soak ${this.run} ${this.seq++}`, Math.floor(Math.random() * 2000)]);
      return Number(rows[0].id);
    });
    if (created === undefined) return;
    this.o.ids.posts.push(created);
    const seen = await this.operation('read', () => session.read('SELECT 1 FROM public.posts WHERE id = $1', [created]));
    if (seen && seen.rowCount !== 1) this.o.ids.readAfterWriteViolations += 1;
  }

  private async queueWorker(queue: PublishingQueue): Promise<void> {
    const claimed = await this.operation('queue-claim', () => queue.claim(10));
    if (!claimed || claimed.length === 0) return;
    this.o.ids.claims += claimed.length;
    const published = await this.operation('queue-complete', () => publishAll(queue, claimed));
    for (const id of published ?? []) this.o.ids.published.add(id);
  }
}

/**
 * After the workload (whose workers handed their leases back): the queue is drained with the same
 * API, so every post the workload scheduled must end PUBLISHED.
 */
export async function drainQueue(db: AppDatabase, maxRounds = 1000): Promise<number> {
  const queue = queueOver(db, 'soak-drain');
  let drained = 0;
  for (let round = 0; round < maxRounds; round++) {
    const posts = await queue.claim(500, new Date(Date.now() + 60_000));
    if (posts.length === 0) break;
    await publishAll(queue, posts);
    drained += posts.length;
  }
  return drained;
}
