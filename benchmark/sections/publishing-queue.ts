import { Client, Pool } from 'pg';
import { CpuSplit, cpuWindow } from '../cpu';
import { PgExecutor } from '../../lambdas/db/pg-executor';
import { MemorySink } from '../../lambdas/metrics/sink';
import { runTask } from '../../lambdas/tasks/runner';
import { ClaimedPost, PublishingQueue, TargetReport } from '../../platform-db/publishing-queue';
import { loadQueryFile } from '../../sql/query-files';
import { Rng } from '../rng';
import { LatencySummary, summarize, timed } from '../stats';
import { withClient } from '../server';
import { Quiet, waitForQuietServer } from '../quiet';

/**
 * Section 4, the publishing queue:
 *  - drain: N workers drain the due backlog concurrently, each on its own connection: claim a
 *    batch, then finish it. Every claimed id is recorded in memory; afterwards the database is
 *    checked too. A correct queue claims each due post exactly once and leaves none behind.
 *  - faults: a burst of posts due at one instant, drained through the whole lifecycle while
 *    workers crash mid-batch and a simulated platform fails attempts (lifecycleUnderFaults).
 *  - pg-boss: the same burst as jobs in pg-boss on the same server (pgBossDrain).
 */
export type ClaimFn = (client: Client, workerId: string) => Promise<string[]>;
/** Finishes a claimed batch (marks the posts published). */
export type CompleteFn = (client: Client, ids: string[], workerId: string) => Promise<void>;

/** The claim before publish_queue (080), the baseline schema's: sql/queries/baseline/scheduled_post_claim.sql. */
export const LEGACY_CLAIM_SQL = loadQueryFile('scheduled_post_claim').baselineSql as string;

export interface QueueOptions {
  url: string;
  workers: number;
  /** Claims until no due post is left, or until this much time has passed (then `capped`). */
  timeLimitMs?: number;
  claim: ClaimFn;
  /**
   * Default: the legacy completion (posts PUBLISHING -> PUBLISHED by id). null: claims only, the
   * queue's hand-out: every batch stays leased (publish_queue) and is checked there afterwards.
   */
  complete?: CompleteFn | null;
  /** The embedded server's data directory: the drain's CPU split is measured over the workers alone. */
  dataDir?: string;
  /** Called once per worker after it connects (e.g. SET statements). */
  setup?: (client: Client) => Promise<void>;
  /** The instant "now" for due-ness: posts scheduled at or before it are the backlog. */
  dueBefore: Date;
  /** Start the drain after a CHECKPOINT and once no autovacuum worker runs (waitForQuietServer). */
  quiet?: boolean;
}

export interface QueueResult {
  workers: number;
  duePosts: number;
  claimed: number;
  durationMs: number;
  claimsPerSecond: number;
  claimLatency: LatencySummary;
  /** Ids handed out more than once (memory record). */
  doubleClaims: { id: string; times: number }[];
  /** Due posts that did not end PUBLISHED (database check); only meaningful when not capped. */
  lostPosts: string[];
  /**
   * Posts claimed more than once by the database's own count: publish_attempts (lifecycle, legacy)
   * or the queue row's claims (claims only).
   */
  doubleClaimedInDb: string[];
  capped: boolean;
  /** Claims only: nothing was reported, every due post should now be leased (complete: null). */
  claimsOnly: boolean;
  /** Server and client CPU over the workers' drain (with dataDir; absent where the server's CPU cannot be read). */
  cpu?: CpuSplit;
  /** With options.quiet: how quiet the server was when the drain started. */
  quiet?: Quiet;
}

/** A claim statement with the scheduled_post_claim parameters: due before, batch size, worker id, lease seconds. */
export function patternClaim(sql: string, dueBefore: Date, batchSize: number, leaseSeconds = 120): ClaimFn {
  return async (client, workerId) => {
    const { rows } = await client.query<{ post_id: string }>(sql, [dueBefore, batchSize, workerId, leaseSeconds]);
    return rows.map((r) => String(r.post_id));
  };
}

/** Marks a claimed batch published; only rows this worker still holds in PUBLISHING. */
export const COMPLETE_SQL = `
  UPDATE public.posts
     SET status = 'PUBLISHED', published_at = now(), claimed_at = NULL, claimed_by = NULL, last_error = NULL
   WHERE id = ANY ($1::bigint[]) AND status = 'PUBLISHING' AND claimed_by = $2
  RETURNING id`;

/**
 * The legacy completion step of a worker. A broken claim (no status change) leaves nothing in
 * PUBLISHING, so it completes by id alone; that is the point: it shows what double claims do.
 */
export const legacyComplete: CompleteFn = async (client, ids, workerId) => {
  const { rowCount } = await client.query(COMPLETE_SQL, [ids, workerId]);
  if ((rowCount ?? 0) < ids.length) {
    await client.query(
      `UPDATE public.posts SET status = 'PUBLISHED', published_at = now() WHERE id = ANY ($1::bigint[]) AND status <> 'PUBLISHED'`,
      [ids],
    );
  }
};

/**
 * The lifecycle claim and completion (080) through the application library: each worker leases
 * a batch and reports every target published in one publish_report call.
 */
export function lifecycleWorker(batchSize: number, dueBefore?: Date): { claim: ClaimFn; complete: CompleteFn } {
  const held = new Map<string, ClaimedPost>();
  return {
    claim: async (client, workerId) => {
      const posts = await new PublishingQueue(client, { workerId }).claim(batchSize, dueBefore);
      for (const p of posts) held.set(p.postId, p);
      return posts.map((p) => p.postId);
    },
    complete: async (client, ids, workerId) => {
      const queue = new PublishingQueue(client, { workerId });
      const reports: TargetReport[] = [];
      for (const id of ids) {
        const post = held.get(id);
        held.delete(id);
        if (!post) continue;
        if (post.targets.length === 0) await queue.settle(post.postId, post.leaseToken);
        for (const t of post.targets) reports.push({ targetId: t.targetId, leaseToken: post.leaseToken, externalPostId: `ext-${t.targetId}` });
      }
      if (reports.length) await queue.report(reports);
    },
  };
}

/** The worker id of the drain's i-th worker (1-based): its leases carry it, and its release names it. */
export const benchWorkerId = (index: number) => `bench-worker-${index}`;

export async function runQueue(options: QueueOptions): Promise<QueueResult> {
  const claimsOnly = options.complete === null;
  const complete = options.complete ?? legacyComplete;
  const admin = new Client({ connectionString: options.url, application_name: 'dbops:bench-queue-check' });
  await admin.connect();
  try {
    // The database's own count of claims before the drain: publish_attempts is set when a post
    // finishes; a leased post's claims live on its queue row.
    const countSql = claimsOnly
      ? `SELECT p.id, coalesce(q.claims, 0) AS claims FROM public.posts p LEFT JOIN public.publish_queue q ON q.post_id = p.id
          WHERE p.status = 'SCHEDULED' AND p.scheduled_at <= $1 ORDER BY p.id`
      : `SELECT id, publish_attempts AS claims FROM public.posts WHERE status = 'SCHEDULED' AND scheduled_at <= $1 ORDER BY id`;
    const { rows: before } = await admin.query<{ id: string; claims: number }>(countSql, [options.dueBefore]);
    const claimsBefore = new Map(before.map((r) => [String(r.id), r.claims]));
    const quiet = options.quiet ? await waitForQuietServer(admin) : undefined;

    const claimedTimes = new Map<string, number>();
    const latencies: number[] = [];
    let stop = false;
    const clients = await Promise.all(
      Array.from({ length: options.workers }, async (_, i) => {
        const client = new Client({ connectionString: options.url, application_name: `dbops:bench-publisher-${i + 1}` });
        await client.connect();
        await options.setup?.(client);
        return client;
      }),
    );
    const cpu = cpuWindow(options.dataDir);
    const started = Date.now();
    const worker = async (client: Client, index: number) => {
      const workerId = benchWorkerId(index);
      while (!stop) {
        const { value: ids, ms } = await timed(() => options.claim(client, workerId));
        if (ids.length === 0) break;
        latencies.push(ms);
        for (const id of ids) claimedTimes.set(id, (claimedTimes.get(id) ?? 0) + 1);
        if (!claimsOnly) await complete(client, ids, workerId);
        if (options.timeLimitMs !== undefined && Date.now() - started > options.timeLimitMs) stop = true;
      }
    };
    try {
      await Promise.all(clients.map((client, i) => worker(client, i + 1)));
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
    const durationMs = Date.now() - started;
    const split = options.dataDir === undefined ? undefined : await cpu.stop();

    const ids = [...claimsBefore.keys()];
    const { rows: after } = await admin.query<{ id: string; done: boolean; claims: number }>(
      claimsOnly
        ? `SELECT p.id, q.lease_token IS NOT NULL AS done, coalesce(q.claims, 0) AS claims
             FROM public.posts p LEFT JOIN public.publish_queue q ON q.post_id = p.id WHERE p.id = ANY ($1::bigint[])`
        : `SELECT id, status = 'PUBLISHED' AS done, publish_attempts AS claims FROM public.posts WHERE id = ANY ($1::bigint[])`,
      [ids],
    );
    const claimed = [...claimedTimes.values()].reduce((s, n) => s + n, 0);
    return {
      workers: options.workers,
      duePosts: ids.length,
      claimed,
      durationMs,
      claimsPerSecond: durationMs > 0 ? Math.round((claimed / durationMs) * 1000) : 0,
      claimLatency: summarize(latencies),
      doubleClaims: [...claimedTimes.entries()].filter(([, n]) => n > 1).map(([id, times]) => ({ id, times })),
      lostPosts: stop ? [] : after.filter((r) => !r.done).map((r) => String(r.id)),
      doubleClaimedInDb: after.filter((r) => r.claims > (claimsBefore.get(String(r.id)) ?? 0) + 1).map((r) => String(r.id)),
      capped: stop,
      claimsOnly,
      cpu: split,
      quiet,
    };
  } finally {
    await admin.end();
  }
}

/**
 * After a claims-only drain: the bench workers hand their leases back (publish_release, as a worker
 * shutting down does), and the queue is vacuumed, so the same posts can be drained again.
 */
export async function releaseBenchLeases(url: string, workers: number): Promise<number> {
  const client = new Client({ connectionString: url, application_name: 'dbops:bench-release' });
  await client.connect();
  try {
    let released = 0;
    for (let i = 1; i <= workers; i++) released += await new PublishingQueue(client, { workerId: benchWorkerId(i) }).release();
    await client.query('VACUUM (ANALYZE) public.publish_queue, public.publish_ready');
    return released;
  } finally {
    await client.end();
  }
}

/** The triggers that keep the queue from other tables: posts queue and dequeue (080), target edits relist (112). */
export const PUBLISH_QUEUE_FEEDS = {
  posts: ['posts_publish_queue_insert', 'posts_publish_queue_update'],
  post_targets: ['post_targets_publish_ready_insert', 'post_targets_publish_ready_update', 'post_targets_publish_ready_delete'],
} as const;

/**
 * Runs `work` with the triggers that feed the queue from posts and post_targets off, as on a
 * platform whose queue is elsewhere (pg-boss): posts inserted or published meanwhile are not
 * queued or dequeued, and their targets' writes look up no queue entry.
 */
export async function withoutPublishQueueTriggers<T>(url: string, work: () => Promise<T>): Promise<T> {
  const toggle = (on: boolean) => {
    const verb = on ? 'ENABLE' : 'DISABLE';
    return withClient(url, async (client) => {
      for (const [table, triggers] of Object.entries(PUBLISH_QUEUE_FEEDS)) {
        await client.query(`ALTER TABLE public.${table} ${triggers.map((t) => `${verb} TRIGGER ${t}`).join(', ')}`);
      }
    });
  };
  await toggle(false);
  try {
    return await work();
  } finally {
    await toggle(true);
  }
}

// -------------------------------------------------------------------------------------------------
// A burst of posts due at one instant
// -------------------------------------------------------------------------------------------------

/**
 * Inserts `posts` SCHEDULED posts due at `dueAt`, each with `targets` pending targets, spread over
 * the existing workspaces and their accounts; the queue trigger enqueues them. Returns the id range.
 */
export async function insertBurst(url: string, posts: number, targets: number, dueAt: Date): Promise<{ firstId: string; lastId: string }> {
  const client = new Client({ connectionString: url, application_name: 'dbops:bench-burst' });
  await client.connect();
  try {
    const [range] = (
      await client.query<{ first_id: string; last_id: string }>(
        `WITH accounts AS (
           SELECT a.workspace_id, array_agg(a.id ORDER BY a.id) AS ids,
                  (SELECT min(m.user_id) FROM public.workspace_members m WHERE m.workspace_id = a.workspace_id) AS author
             FROM public.social_accounts a
            GROUP BY a.workspace_id HAVING count(*) >= $3::int
         ), numbered AS (SELECT row_number() OVER (ORDER BY workspace_id) AS n, * FROM accounts),
         p AS (
           INSERT INTO public.posts (workspace_id, author_id, status, content, scheduled_at)
           SELECT w.workspace_id, w.author, 'SCHEDULED', 'burst post ' || g, $2::timestamptz
             FROM generate_series(1, $1::int) g
             JOIN numbered w ON w.n = 1 + g % (SELECT count(*) FROM numbered) AND w.author IS NOT NULL
           RETURNING id, workspace_id
         ), t AS (
           INSERT INTO public.post_targets (post_id, social_account_id)
           SELECT p.id, a.ids[k] FROM p JOIN accounts a USING (workspace_id) CROSS JOIN generate_series(1, $3::int) k
           RETURNING 1
         )
         SELECT min(id)::text AS first_id, max(id)::text AS last_id FROM p WHERE (SELECT count(*) FROM t) >= 0`,
        [posts, dueAt, targets],
      )
    ).rows;
    await client.query('VACUUM (ANALYZE) public.publish_queue, public.publish_ready');
    await client.query('ANALYZE public.posts, public.post_targets');
    return { firstId: range.first_id, lastId: range.last_id };
  } finally {
    await client.end();
  }
}

export interface FaultOptions {
  url: string;
  workers: number;
  batchSize: number;
  /** Posts of the burst (inserted here) and targets per post. */
  posts: number;
  targetsPerPost: number;
  seed: number;
  /** Share of batches in which the worker dies mid-batch. */
  crashRate: number;
  /** Share of platform calls that fail transiently / permanently. */
  transientRate: number;
  permanentRate: number;
  maxAttempts: number;
  /** Short, so crashed leases come back within the run; production uses 120 s. */
  leaseSeconds: number;
  /** release-stuck-claims runs this often (production: every minute). */
  requeueEveryMs: number;
  timeLimitMs: number;
}

export interface FaultResult {
  posts: number;
  targets: number;
  workers: number;
  batchSize: number;
  durationMs: number;
  /** Posts finished (published or failed) per second of wall time, retries and requeues included. */
  postsPerSecond: number;
  claims: number;
  claimsPerSecond: number;
  claimLatency: LatencySummary;
  reportLatency: LatencySummary;
  batches: number;
  crashes: number;
  crashedLeases: number;
  platformCalls: number;
  injected: { transient: number; permanent: number; exhausted: number };
  requeueRuns: number;
  requeued: number;
  staleReports: number;
  final: { published: number; failed: number; other: number; stillQueued: number; targetsPublished: number; targetsFailed: number; targetsPending: number };
  /** Targets with more than one post on the simulated platform. */
  publishedTwice: number;
  /** Published targets whose external id differs from the platform's record, or without one. */
  externalIdMismatches: number;
  expected: { successPercent: number; targetSuccessPercent: number; failedPosts: number; failedTargets: number };
  measured: { successPercent: number; targetSuccessPercent: number };
  metric: { publishSuccessRate: number | null; publishTargetSuccessRate: number | null; stuckClaimsTotal: number };
  capped: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The whole lifecycle under faults. A simulated platform records every post it accepts in
 * bench_platform_posts. Each attempt at a target is a platform call that fails transiently or
 * permanently at the given rates (decided by a seeded generator) or succeeds. A crashing worker
 * publishes and reports the first k posts of its batch (k uniform), then dies: the rest keep their
 * lease until it expires and release-stuck-claims puts them back. The crash falls on a report
 * boundary: a crash between the platform accepting a post and the report reaching the database
 * is the one window no database-side fence can close (it needs the platform's idempotency key or a
 * read-back), so it is not simulated.
 */
export async function lifecycleUnderFaults(options: FaultOptions): Promise<FaultResult> {
  const admin = new Client({ connectionString: options.url, application_name: 'dbops:bench-faults' });
  await admin.connect();
  try {
    await admin.query(`DROP TABLE IF EXISTS public.bench_platform_posts`);
    await admin.query(`CREATE UNLOGGED TABLE public.bench_platform_posts (target_id bigint NOT NULL, external_id text NOT NULL, lease_token bigint NOT NULL)`);
    // The window of PublishSuccessRate must hold this run's posts only.
    await admin.query(`TRUNCATE public.publish_outcomes`);
    const dueAt = new Date(Date.now() - 1000);
    const burst = await insertBurst(options.url, options.posts, options.targetsPerPost, dueAt);
    const inBurst = `post_id BETWEEN ${Number(burst.firstId)} AND ${Number(burst.lastId)}`;
    // Generated posts scheduled for later in the hour come due during the run; they are held back
    // (and put back afterwards) so every figure of the run is the burst's alone.
    const HOLD = `interval '100 years'`;
    const held = await admin.query(`UPDATE public.publish_queue SET due_at = due_at + ${HOLD} WHERE NOT (${inBurst}) AND due_at < now() + interval '1 day' RETURNING post_id`);

    const rng = new Rng(options.seed);
    const attemptsOf = new Map<string, number>();
    // The injector's own record of which targets it made fail for good, per post.
    const failedPerPost = new Map<string, number>();
    const failForGood = (postId: string) => failedPerPost.set(postId, (failedPerPost.get(postId) ?? 0) + 1);
    const injected = { transient: 0, permanent: 0, exhausted: 0 };
    const claimLatencies: number[] = [];
    const reportLatencies: number[] = [];
    let claims = 0;
    let batches = 0;
    let crashes = 0;
    let crashedLeases = 0;
    let platformCalls = 0;
    let staleReports = 0;
    let done = false;
    let requeueRuns = 0;
    let requeued = 0;
    let stuckClaimsTotal = 0;
    const started = Date.now();

    // release-stuck-claims, as the scheduler would run it, on a compressed clock.
    const requeuePool = new Pool({ connectionString: options.url, max: 1, application_name: 'dbops:bench-requeue' });
    requeuePool.on('error', () => undefined); // the fault steps terminate backends on purpose
    const executor = new PgExecutor(requeuePool);
    const requeueTask = async (extra: Record<string, unknown> = {}) => {
      const sink = new MemorySink();
      const result = await runTask(
        { task: 'release-stuck-claims', maxClaims: 50, ...extra },
        { executor, sink, settings: { environment: 'bench', lockTimeoutMs: 5000 }, log: () => undefined },
      );
      if (result.status !== 'succeeded') throw new Error(`release-stuck-claims ${result.status}: ${result.reason}`);
      requeueRuns += 1;
      requeued += Number(result.summary.requeued);
      stuckClaimsTotal += sink.values('StuckClaims')[0] ?? 0;
      return { result, sink };
    };
    const requeueLoop = (async () => {
      while (!done) {
        await sleep(options.requeueEveryMs);
        if (!done) await requeueTask();
      }
    })();

    const worker = async (index: number) => {
      let generation = 0;
      while (!done) {
        generation += 1;
        const workerId = `bench-faulty-${index}-${generation}`;
        const client = new Client({ connectionString: options.url, application_name: `dbops:bench-publisher-${index}` });
        await client.connect();
        const queue = new PublishingQueue(client, {
          workerId,
          leaseSeconds: options.leaseSeconds,
          maxAttempts: options.maxAttempts,
          baseDelaySeconds: 0.05,
          maxDelaySeconds: 0.4,
        });
        let crashed = false;
        try {
          while (!done && !crashed) {
            const { value: posts, ms } = await timed(() => queue.claim(options.batchSize));
            if (posts.length === 0) {
              await sleep(20);
              continue;
            }
            claimLatencies.push(ms);
            claims += posts.length;
            batches += 1;
            let upTo = posts.length;
            if (rng.next() < options.crashRate) {
              crashed = true;
              crashes += 1;
              upTo = Math.floor(rng.next() * posts.length);
              crashedLeases += posts.length - upTo;
            }
            const reports: TargetReport[] = [];
            const accepted: { target: string; external: string; token: string }[] = [];
            for (const post of posts.slice(0, upTo)) {
              if (post.targets.length === 0) await queue.settle(post.postId, post.leaseToken);
              for (const t of post.targets) {
                platformCalls += 1;
                const attempt = (attemptsOf.get(t.targetId) ?? 0) + 1;
                attemptsOf.set(t.targetId, attempt);
                const r = rng.next();
                if (r < options.permanentRate) {
                  injected.permanent += 1;
                  failForGood(post.postId);
                  reports.push({ targetId: t.targetId, leaseToken: post.leaseToken, error: 'platform: permanent rejection', retryable: false });
                } else if (r < options.permanentRate + options.transientRate) {
                  injected.transient += 1;
                  if (attempt >= options.maxAttempts) {
                    injected.exhausted += 1;
                    failForGood(post.postId);
                  }
                  reports.push({ targetId: t.targetId, leaseToken: post.leaseToken, error: 'platform: HTTP 503', retryable: true });
                } else {
                  const external = `plat-${t.targetId}-${post.leaseToken}`;
                  accepted.push({ target: t.targetId, external, token: post.leaseToken });
                  reports.push({ targetId: t.targetId, leaseToken: post.leaseToken, externalPostId: external });
                }
              }
            }
            if (accepted.length) {
              await client.query(
                `INSERT INTO public.bench_platform_posts (target_id, external_id, lease_token) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])`,
                [accepted.map((a) => a.target), accepted.map((a) => a.external), accepted.map((a) => a.token)],
              );
            }
            if (reports.length) {
              const { value: results, ms: reportMs } = await timed(() => queue.report(reports));
              reportLatencies.push(reportMs);
              staleReports += results.filter((r) => r.result === 'stale' || r.result === 'not-pending').length;
            }
          }
        } finally {
          // A crash: the connection just goes away, the leases stay behind.
          await client.end().catch(() => undefined);
        }
      }
    };
    const watcher = (async () => {
      while (!done) {
        await sleep(200);
        const [{ n }] = (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.publish_queue WHERE ${inBurst}`)).rows;
        if (n === 0 || Date.now() - started > options.timeLimitMs) done = true;
      }
    })();
    await Promise.all([watcher, ...Array.from({ length: options.workers }, (_, i) => worker(i + 1))]);
    const durationMs = Date.now() - started;
    await requeueLoop;
    // The minute's metrics after the run, over the burst's window.
    const last = await requeueTask({ successWindowMinutes: Math.max(5, Math.ceil((Date.now() - dueAt.getTime()) / 60_000) + 1) });
    await executor.close();
    await admin.query(`UPDATE public.publish_queue SET due_at = due_at - ${HOLD} WHERE post_id = ANY ($1::bigint[])`, [held.rows.map((r) => r.post_id)]);

    const range = [burst.firstId, burst.lastId];
    const [final] = (
      await admin.query<FaultResult['final']>(
        `SELECT count(*) FILTER (WHERE p.status = 'PUBLISHED')::int AS published,
                count(*) FILTER (WHERE p.status = 'FAILED')::int AS failed,
                count(*) FILTER (WHERE p.status NOT IN ('PUBLISHED', 'FAILED'))::int AS other,
                (SELECT count(*) FROM public.publish_queue q WHERE q.post_id BETWEEN $1 AND $2)::int AS "stillQueued",
                (SELECT count(*) FROM public.post_targets t WHERE t.post_id BETWEEN $1 AND $2 AND t.status = 'published')::int AS "targetsPublished",
                (SELECT count(*) FROM public.post_targets t WHERE t.post_id BETWEEN $1 AND $2 AND t.status = 'failed')::int AS "targetsFailed",
                (SELECT count(*) FROM public.post_targets t WHERE t.post_id BETWEEN $1 AND $2 AND t.status = 'pending')::int AS "targetsPending"
           FROM public.posts p WHERE p.id BETWEEN $1 AND $2`,
        range,
      )
    ).rows;
    const [{ twice }] = (
      await admin.query<{ twice: number }>(`SELECT count(*)::int AS twice FROM (SELECT target_id FROM public.bench_platform_posts GROUP BY 1 HAVING count(*) > 1) d`)
    ).rows;
    const [{ mismatches }] = (
      await admin.query<{ mismatches: number }>(
        `SELECT count(*)::int AS mismatches FROM public.post_targets t
           LEFT JOIN public.bench_platform_posts b ON b.target_id = t.id
          WHERE t.post_id BETWEEN $1 AND $2 AND (t.status = 'published') IS DISTINCT FROM (b.target_id IS NOT NULL)
             OR (t.post_id BETWEEN $1 AND $2 AND t.status = 'published' AND t.external_post_id IS DISTINCT FROM b.external_id)`,
        range,
      )
    ).rows;
    // What the injected failures imply: a target fails for good on a permanent rejection or when
    // its last attempt fails transiently; a post fails when every one of its targets did.
    const implied = {
      failed_targets: injected.permanent + injected.exhausted,
      failed_posts: [...failedPerPost.values()].filter((n) => n >= options.targetsPerPost).length,
    };
    const totalTargets = options.posts * options.targetsPerPost;
    const pct = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : Number.NaN);
    const metricValue = (name: string) => last.sink.values(name)[0] ?? null;
    const finished = final.published + final.failed;
    await admin.query(`DROP TABLE public.bench_platform_posts`);
    return {
      posts: options.posts,
      targets: totalTargets,
      workers: options.workers,
      batchSize: options.batchSize,
      durationMs,
      postsPerSecond: durationMs > 0 ? Math.round((finished / durationMs) * 1000) : 0,
      claims,
      claimsPerSecond: durationMs > 0 ? Math.round((claims / durationMs) * 1000) : 0,
      claimLatency: summarize(claimLatencies),
      reportLatency: summarize(reportLatencies),
      batches,
      crashes,
      crashedLeases,
      platformCalls,
      injected: { ...injected, exhausted: injected.exhausted },
      requeueRuns,
      requeued,
      staleReports,
      final,
      publishedTwice: twice,
      externalIdMismatches: mismatches,
      expected: {
        successPercent: pct(options.posts - implied.failed_posts, options.posts),
        targetSuccessPercent: pct(totalTargets - implied.failed_targets, totalTargets),
        failedPosts: implied.failed_posts,
        failedTargets: implied.failed_targets,
      },
      measured: { successPercent: pct(final.published, finished), targetSuccessPercent: pct(final.targetsPublished, final.targetsPublished + final.targetsFailed) },
      metric: { publishSuccessRate: metricValue('PublishSuccessRate'), publishTargetSuccessRate: metricValue('PublishTargetSuccessRate'), stuckClaimsTotal },
      capped: final.other > 0 || final.stillQueued > 0,
    };
  } finally {
    await admin.end();
  }
}
