import { Client } from 'pg';
import { loadQueryFiles } from '../../sql/query-files';
import { createEmptyDatabase, createTestDatabase, TestDatabase } from '../support/database';
import { chartOf, markdownReport } from '../../benchmark/report';
import { BenchResult, runBenchmark } from '../../benchmark/run';
import { AS_SENT } from '../../benchmark/sections/query-patterns';
import { expectedRowCounts, scaleSpec } from '../../benchmark/scale';
import { TARGETS } from '../../benchmark/targets';
import { ClaimFn, lifecycleWorker, PUBLISH_QUEUE_FEEDS, releaseBenchLeases, runQueue, withoutPublishQueueTriggers } from '../../benchmark/sections/publishing-queue';

/**
 * The benchmark harness at tiny scale, inside npm test: it generates what the scale promises,
 * runs every query pattern on both databases, and its queue check really catches double claims.
 * No timings are asserted; speed is the benchmark's business, not the test's.
 */
jest.setTimeout(180_000);

describe('benchmark harness (tiny scale)', () => {
  const spec = scaleSpec('tiny');
  const queries = loadQueryFiles();
  let baseline: TestDatabase;
  let optimized: TestDatabase;
  let result: BenchResult;

  beforeAll(async () => {
    baseline = await createEmptyDatabase();
    optimized = await createEmptyDatabase();
    const adminUrl = process.env.DBOPS_TEST_ADMIN_URL as string;
    result = await runBenchmark({
      spec,
      seed: 7,
      repoRoot: `${__dirname}/../..`,
      server: { adminUrl, embedded: true, dataDir: process.env.DBOPS_TEST_DATA_DIR, settings: {}, stop: async () => undefined },
      databases: { baselineUrl: baseline.url, optimizedUrl: optimized.url, loadOptimizedSeparately: true },
      // Foreign-key triggers stay on: a generator bug that breaks referential integrity fails here.
      skipForeignKeyChecks: false,
      // History growth has its own test (history-growth.test.ts).
      skip: ['bundles', 'growth'],
      queries,
    });
  });

  afterAll(async () => {
    await baseline?.drop();
    await optimized?.drop();
  });

  it('generates exactly the rows the scale specifies, in both databases', () => {
    const expected = expectedRowCounts(spec);
    expect(result.data.baseline).toEqual(expected);
    expect(result.data.optimized).toEqual(expected);
    expect(result.data.load.foreignKeyChecks).toBe(true);
  });

  it('spreads mentions and audit logs over the history partitions, none in the default partitions', async () => {
    const rows = await baseline.query<{ table_name: string; default_rows: string; months: string }>(
      `SELECT s.table_name, s.default_rows,
              (SELECT count(DISTINCT date_trunc('month', published_at, 'UTC')) FROM public.listening_mentions) AS months
         FROM dbops.partition_status s WHERE s.table_name = 'public.listening_mentions'`,
    );
    expect(Number(rows[0].default_rows)).toBe(0);
    expect(Number(rows[0].months)).toBe(spec.months);
    const [audit] = await baseline.query<{ n: string }>(`SELECT count(*) AS n FROM public.security_audit_logs_default`);
    expect(Number(audit.n)).toBe(0);
  });

  it('generates the same data for the same seed', async () => {
    const digest = (db: TestDatabase) =>
      db.query<{ d: string }>(`SELECT md5(string_agg(id || ':' || workspace_id || ':' || status || ':' || content, ',' ORDER BY id)) AS d FROM public.posts WHERE id <= $1`, [spec.posts]);
    expect((await digest(baseline))[0].d).toBe((await digest(optimized))[0].d);
  });

  it('skews workspace sizes toward a few big tenants', async () => {
    const sizes = await baseline.query<{ n: string }>(`SELECT count(*) AS n FROM public.posts GROUP BY workspace_id ORDER BY 1 DESC`);
    const biggest = Number(sizes[0].n);
    const median = Number(sizes[Math.floor(sizes.length / 2)].n);
    expect(biggest).toBeGreaterThan(3 * median);
  });

  it('executes every sql/queries pattern on the optimized database and on its baseline', () => {
    expect(result.queries.map((q) => q.name).sort()).toEqual(queries.map((q) => q.name).sort());
    for (const q of result.queries) {
      expect({ name: q.name, optimized: q.optimized.count }).toEqual({ name: q.name, optimized: spec.queryExecutions });
      expect(q.baseline.count).toBeGreaterThan(0);
      expect(q.plans.optimized).toMatch(/Execution Time/);
      expect(q.plans.baseline).toMatch(/Execution Time/);
      expect(q.baselineKind).toBe(q.view ? 'live-aggregate' : 'unoptimized-schema');
    }
    // Parameters come from the data: the patterns find rows, not empty results everywhere.
    expect(result.queries.filter((q) => q.avgRows > 0).length).toBeGreaterThan(queries.length / 2);
  });

  it('times the patterns on values kept as the server sent them, not converted to JS types', async () => {
    const client = new Client({ connectionString: optimized.url });
    await client.connect();
    try {
      const { rows } = await client.query({ text: `SELECT timestamptz '2026-12-07 05:00:00+00' AS at, ARRAY[1, 2]::bigint[] AS ids, 7 AS n`, types: AS_SENT });
      expect(rows).toEqual([{ at: '2026-12-07 05:00:00+00', ids: '{1,2}', n: '7' }]);
    } finally {
      await client.end();
    }
  });

  it('leaves the claim pattern rolled back during measurement, so the queue starts from the full backlog', () => {
    expect(result.queue).not.toBeNull();
    expect(result.queue!.optimized.duePosts).toBe(spec.duePosts);
  });

  it('drains the queue with the production claim pattern: every due post claimed once, none lost', () => {
    const q = result.queue!.optimized;
    expect(q.capped).toBe(false);
    expect(q.claimsOnly).toBe(false);
    expect(q.claimed).toBe(spec.duePosts);
    expect(q.doubleClaims).toEqual([]);
    // The hand-out before it leased the same posts; handed back, that lease is not an attempt.
    expect(q.doubleClaimedInDb).toEqual([]);
    expect(q.lostPosts).toEqual([]);
  });

  it('hands out the backlog and the burst (claims only), each due post leased once, before draining them', () => {
    const q = result.queue!;
    for (const [handOut, due] of [
      [q.handOut, spec.duePosts],
      [q.burstHandOut, spec.queueBurstPosts],
    ] as const) {
      expect(handOut.claimsOnly).toBe(true);
      expect(handOut.capped).toBe(false);
      expect([handOut.duePosts, handOut.claimed]).toEqual([due, due]);
      expect(handOut.doubleClaims).toEqual([]);
      expect(handOut.doubleClaimedInDb).toEqual([]);
      expect(handOut.lostPosts).toEqual([]);
    }
    const f = q.pgBossFetchOnly;
    expect([f.fetchOnly, f.fetched, f.completed, f.doubleFetches]).toEqual([true, spec.queueBurstPosts, 0, 0]);
  });

  it('drains a burst through the lifecycle and the same burst through pg-boss, each job claimed once', () => {
    const q = result.queue!;
    expect(q.burst.duePosts).toBe(spec.queueBurstPosts);
    expect(q.burst.claimed).toBe(spec.queueBurstPosts);
    expect(q.burst.doubleClaims).toEqual([]);
    expect(q.burst.doubleClaimedInDb).toEqual([]);
    expect(q.burst.lostPosts).toEqual([]);
    expect(q.pgBoss.version).toMatch(/^12\./);
    expect([q.pgBoss.fetched, q.pgBoss.completed, q.pgBoss.doubleFetches]).toEqual([spec.queueBurstPosts, spec.queueBurstPosts, 0]);
    // pg-boss writing the posts back: every job's post ends PUBLISHED, each fetched once.
    const w = q.pgBossWriteBack;
    expect([w.writeBack, w.fetched, w.completed, w.doubleFetches, w.unpublishedPosts]).toEqual([true, spec.queueBurstPosts, spec.queueBurstPosts, 0, 0]);
  });

  it('takes the lifecycle and pg-boss writing back in turns, each over its own burst, and checks the goal on the median ratio', () => {
    const q = result.queue!;
    const pairs = q.lifecyclePairs;
    expect(pairs.map((p) => p.first)).toEqual(['lifecycle', 'pg-boss', 'lifecycle'].slice(0, spec.queueLifecyclePairs));
    expect(pairs[0].lifecycle).toBe(q.burst);
    expect(pairs[0].pgBossWriteBack).toBe(q.pgBossWriteBack);
    for (const p of pairs) {
      const ours = p.lifecycle;
      expect([ours.claimsOnly, ours.capped, ours.duePosts, ours.claimed]).toEqual([false, false, spec.queueBurstPosts, spec.queueBurstPosts]);
      expect([ours.doubleClaims, ours.doubleClaimedInDb, ours.lostPosts]).toEqual([[], [], []]);
      const w = p.pgBossWriteBack;
      expect([w.writeBack, w.fetched, w.completed, w.doubleFetches, w.unpublishedPosts]).toEqual([true, spec.queueBurstPosts, spec.queueBurstPosts, 0, 0]);
      expect(p.ratio).toBeCloseTo(ours.claimsPerSecond / w.claimsPerSecond, 9);
    }
    // Nearest rank: of two pairs, the lower ratio.
    const ratios = pairs.map((p) => p.ratio).sort((a, b) => a - b);
    const goal = result.targets.find((t) => t.area === TARGETS.lifecycleVsPgBoss.area)!;
    expect(goal.value).toBe(ratios[Math.ceil(ratios.length / 2) - 1]);
    expect(goal.item).toMatch(new RegExp(`^median of ${pairs.length} alternated pairs: `));
    expect(markdownReport(result, 'chart.svg')).toMatch(/\| 2 \| pg-boss \| [0-9,]+ \| [0-9.]+ \| [0-9,]+ \| [0-9.]+ \| [0-9.]+x \|/);
  });

  it('starts the query patterns, and every drain it compares, ours and pg-boss\'s alike, after a CHECKPOINT and a wait for autovacuum', () => {
    const q = result.queue!;
    const quiets = [result.patternsQuiet, ...[q.handOut, q.optimized, q.burstHandOut, q.burst, q.pgBossFetchOnly, q.pgBoss, q.pgBossWriteBack, ...q.lifecyclePairs.flatMap((p) => [p.lifecycle, p.pgBossWriteBack])].map((r) => r.quiet)];
    for (const quiet of quiets) {
      expect(quiet).toBeDefined();
      expect(quiet!.waitMs).toBeGreaterThanOrEqual(0);
      expect(Number.isInteger(quiet!.autovacuumWorkers)).toBe(true);
    }
  });

  it('splits each drain\'s CPU between the server and the workers where it can read the server\'s processes', () => {
    const q = result.queue!;
    const splits = [q.handOut.cpu, q.optimized.cpu, q.burstHandOut.cpu, q.burst.cpu, q.pgBossFetchOnly.cpu, q.pgBoss.cpu, q.pgBossWriteBack.cpu];
    if (!process.env.DBOPS_TEST_DATA_DIR) {
      // A server named by TEST_DATABASE_URL: its processes are not this machine's to read.
      expect(splits).toEqual(splits.map(() => undefined));
      return;
    }
    for (const cpu of splits) {
      expect(cpu).toBeDefined();
      // Every drain ran statements on the server and did work in its workers' process, and the box was busy at least that long.
      expect(cpu!.serverSeconds).toBeGreaterThan(0);
      expect(cpu!.clientSeconds).toBeGreaterThan(0);
      expect(cpu!.wallSeconds).toBeGreaterThan(0);
      expect(cpu!.machineSeconds).toBeGreaterThan(0);
    }
    const report = markdownReport(result, 'chart.svg');
    for (const run of ['aurora-dbops burst, claims only', 'aurora-dbops burst, whole lifecycle', 'pg-boss 12\\.[0-9.]+, fetch only']) {
      expect(report).toMatch(new RegExp(`\\| ${run} \\| [0-9,]+ \\| [0-9.]+( \\([^)]*\\))? \\| [0-9.]+ \\| [0-9.]+ \\| [0-9.]+ \\| [0-9.]+ \\| [0-9.]+ \\| [0-9.]+ \\| [0-9,]+ \\|`));
    }
  });

  it('finishes every post of the fault run exactly once: none lost or stuck, none published twice, the success rate as injected', () => {
    const f = result.queue!.faults;
    expect(f.capped).toBe(false);
    expect(f.final.published + f.final.failed).toBe(spec.queueBurstPosts);
    expect([f.final.other, f.final.stillQueued, f.final.targetsPending]).toEqual([0, 0, 0]);
    expect(f.publishedTwice).toBe(0);
    expect(f.externalIdMismatches).toBe(0);
    expect(f.final.targetsFailed).toBe(f.expected.failedTargets);
    expect(f.final.failed).toBe(f.expected.failedPosts);
    expect(f.measured.successPercent).toBeCloseTo(f.expected.successPercent, 9);
    expect(f.metric.publishSuccessRate).toBeCloseTo(f.expected.successPercent, 9);
    expect(f.metric.publishTargetSuccessRate).toBeCloseTo(f.expected.targetSuccessPercent, 9);
    // The faults happened: platform failures were injected and reported.
    expect(f.injected.transient).toBeGreaterThan(0);
    expect(f.platformCalls).toBeGreaterThan(f.targets);
  });

  it('ingests into every table variant, capture on and off alternated, and runs every maintenance task', () => {
    expect(result.ingest.results.map((r) => r.rows)).toEqual(Array(6).fill(spec.ingestRows));
    expect(result.ingest.results.map((r) => r.captureOff)).toEqual([false, true, true, false, false, false]);
    expect(result.ingest.results[0].indexes).toBeGreaterThan(result.ingest.results[5].indexes);
    expect(result.ingest.captureRatio).toBeGreaterThan(0);
    const tasks = result.maintenance!.tasks;
    expect(tasks.filter((t) => t.status !== 'succeeded')).toEqual([]);
    expect(result.maintenance!.refreshUnderRead!.views.every((v) => v.mode === 'incremental')).toBe(true);
    expect(result.maintenance!.refreshUnderRead!.readerExecutions).toBeGreaterThan(0);
  });

  it('reports every pattern and every target', () => {
    const md = markdownReport(result, 'chart.svg');
    const svg = chartOf(result);
    for (const q of result.queries) {
      expect(md).toContain(`| ${q.name}`);
      expect(svg).toContain(q.name);
    }
    expect(svg.startsWith('<svg')).toBe(true);
    // A p95 per pattern, the claim p95, backlog and burst claims/s, the hand-out and the lifecycle
    // against pg-boss, ingest rows/s, the capture's ingest ratio.
    expect(result.targets.length).toBe(queries.length + 7);
    expect(result.targets.filter((t) => t.area.includes('pg-boss')).map((t) => t.unit)).toEqual(['x', 'x']);
    expect(md).toContain('pg-boss');
    expect(md).toContain('### Under faults');
    expect(md).toContain('## Targets');
  });
});

describe('publishing queue check', () => {
  let db: TestDatabase;
  const due = new Date('2026-01-01T12:00:00Z');
  const DUE_POSTS = 40;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.query(`INSERT INTO public.workspaces (name, slug) VALUES ('Queue', 'queue')`);
    await db.query(`INSERT INTO public.users (email, password_hash) VALUES ('q@example.com', repeat('x', 40))`);
    await db.query(`INSERT INTO public.social_accounts (workspace_id, platform, external_account_id, handle) SELECT id, 'twitter', 'q', '@q' FROM public.workspaces`);
  });

  afterAll(async () => {
    await db?.drop();
  });

  beforeEach(async () => {
    await db.query(`DELETE FROM public.posts`);
    await db.query(
      `INSERT INTO public.posts (workspace_id, author_id, status, content, scheduled_at)
       SELECT (SELECT id FROM public.workspaces), (SELECT id FROM public.users), 'SCHEDULED', 'post ' || g, $1::timestamptz - make_interval(mins => g)
         FROM generate_series(1, $2::int) AS g`,
      [due, DUE_POSTS],
    );
    await db.query(`INSERT INTO public.post_targets (post_id, social_account_id) SELECT p.id, a.id FROM public.posts p, public.social_accounts a`);
  });

  /** Resolves for everyone once `parties` callers have arrived. */
  function barrier(parties: number): () => Promise<void> {
    let arrived = 0;
    let release!: () => void;
    const open = new Promise<void>((resolve) => (release = resolve));
    return () => {
      arrived += 1;
      if (arrived === parties) release();
      return open;
    };
  }

  it('flags a claim that reads without locking and writes without re-checking the status', async () => {
    const workers = 4;
    const batch = 5;
    const wait = barrier(workers);
    const synced = new Set<string>();
    // Every worker reads the same first batch before anyone writes: the overlap is certain, not a race.
    const broken: ClaimFn = async (client: Client, workerId: string) => {
      const { rows } = await client.query<{ id: string }>(
        `SELECT id FROM public.posts WHERE status = 'SCHEDULED' AND scheduled_at <= $1 ORDER BY scheduled_at, id LIMIT $2`,
        [due, batch],
      );
      if (!synced.has(workerId)) {
        synced.add(workerId);
        await wait();
      }
      const ids = rows.map((r) => String(r.id));
      await client.query(
        `UPDATE public.posts SET status = 'PUBLISHING', claimed_at = now(), claimed_by = $2, publish_attempts = publish_attempts + 1
          WHERE id = ANY ($1::bigint[])`,
        [ids, workerId],
      );
      return ids;
    };
    const result = await runQueue({ url: db.url, workers, claim: broken, dueBefore: due });
    expect(result.doubleClaims.length).toBeGreaterThanOrEqual(batch);
    expect(result.doubleClaims.every((d) => d.times >= 2)).toBe(true);
    expect(result.doubleClaimedInDb.length).toBeGreaterThanOrEqual(batch);
  });

  it('passes the production lifecycle (claim and report) under the same concurrency', async () => {
    const lifecycle = lifecycleWorker(5, due);
    const result = await runQueue({ url: db.url, workers: 4, claim: lifecycle.claim, complete: lifecycle.complete, dueBefore: due });
    expect(result.duePosts).toBe(DUE_POSTS);
    expect(result.claimed).toBe(DUE_POSTS);
    expect(result.doubleClaims).toEqual([]);
    expect(result.doubleClaimedInDb).toEqual([]);
    expect(result.lostPosts).toEqual([]);
  });

  it('hands out every due post once with claims only, and the release gives every lease back', async () => {
    const claims = lifecycleWorker(5, due);
    const result = await runQueue({ url: db.url, workers: 4, claim: claims.claim, complete: null, dueBefore: due });
    expect([result.claimsOnly, result.duePosts, result.claimed]).toEqual([true, DUE_POSTS, DUE_POSTS]);
    expect([result.doubleClaims, result.doubleClaimedInDb, result.lostPosts]).toEqual([[], [], []]);
    // Nothing was reported: every post is still SCHEDULED and leased.
    const [held] = await db.query<{ scheduled: number; leased: number }>(
      `SELECT count(*) FILTER (WHERE p.status = 'SCHEDULED')::int AS scheduled, count(q.lease_token)::int AS leased
         FROM public.posts p LEFT JOIN public.publish_queue q ON q.post_id = p.id`,
    );
    expect(held).toEqual({ scheduled: DUE_POSTS, leased: DUE_POSTS });
    expect(await releaseBenchLeases(db.url, 4)).toBe(DUE_POSTS);
    const [back] = await db.query<{ leased: number; claims: number }>(`SELECT count(lease_token)::int AS leased, sum(claims)::int AS claims FROM public.publish_queue`);
    expect(back).toEqual({ leased: 0, claims: 0 });
  });

  it('keeps the pg-boss write-back posts out of publish_queue, and turns the queue triggers back on even after a failure', async () => {
    const inQueue = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.publish_queue`))[0].n;
    const schedule = () =>
      db.query(`INSERT INTO public.posts (workspace_id, author_id, status, content, scheduled_at) SELECT (SELECT id FROM public.workspaces), (SELECT id FROM public.users), 'SCHEDULED', 'x', now()`);
    const feeds = Object.values(PUBLISH_QUEUE_FEEDS).flat();
    const enabled = async () =>
      (await db.query<{ on: boolean }>(`SELECT bool_and(tgenabled <> 'D') AS on FROM pg_trigger WHERE tgname = ANY ($1::text[])`, [feeds]))[0].on;
    expect(await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgname = ANY ($1::text[])`, [feeds])).toEqual([{ n: feeds.length }]);
    expect(await inQueue()).toBe(DUE_POSTS);
    let during: boolean | null = null;
    await withoutPublishQueueTriggers(db.url, async () => {
      await schedule();
      await db.query(`UPDATE public.posts SET status = 'PUBLISHED', published_at = now() WHERE id = (SELECT min(id) FROM public.posts)`);
      const [{ off }] = await db.query<{ off: boolean }>(`SELECT bool_and(tgenabled = 'D') AS off FROM pg_trigger WHERE tgname = ANY ($1::text[])`, [feeds]);
      during = off;
    });
    // Neither queued nor dequeued meanwhile; every feed was off.
    expect(during).toBe(true);
    expect(await inQueue()).toBe(DUE_POSTS);
    expect(await enabled()).toBe(true);
    await expect(withoutPublishQueueTriggers(db.url, () => Promise.reject(new Error('drain failed')))).rejects.toThrow('drain failed');
    expect(await enabled()).toBe(true);
    await schedule();
    expect(await inQueue()).toBe(DUE_POSTS + 1);
  });

  it('flags, with claims only, a post leased twice and a post never leased', async () => {
    const claims = lifecycleWorker(5, due);
    const [{ id: first }] = await db.query<{ id: string }>(`SELECT id FROM public.posts ORDER BY scheduled_at LIMIT 1`);
    const [{ id: last }] = await db.query<{ id: string }>(`SELECT id FROM public.posts ORDER BY scheduled_at DESC LIMIT 1`);
    let reopened = false;
    const faulty: ClaimFn = async (client, workerId) => {
      const ids = await claims.claim(client, workerId);
      // The oldest post's lease vanishes once (a broken queue), so a second claim takes it again;
      // the newest post is pulled out of the queue, so nobody ever leases it.
      if (!reopened && ids.includes(String(first))) {
        reopened = true;
        await client.query(`UPDATE public.publish_queue SET lease_token = NULL, leased_by = NULL, lease_until = NULL WHERE post_id = $1`, [first]);
      }
      await client.query(`UPDATE public.publish_queue SET due_at = due_at + interval '10 years' WHERE post_id = $1 AND lease_token IS NULL`, [last]);
      return ids;
    };
    const result = await runQueue({ url: db.url, workers: 2, claim: faulty, complete: null, dueBefore: due });
    expect(result.doubleClaims).toEqual([{ id: String(first), times: 2 }]);
    expect(result.doubleClaimedInDb).toEqual([String(first)]);
    expect(result.lostPosts).toEqual([String(last)]);
  });

  it('counts a post left unpublished as lost', async () => {
    // A claim that drops the newest due post: the check must notice it never got published.
    const lifecycle = lifecycleWorker(5, due);
    const [{ id: skipped }] = await db.query<{ id: string }>(`SELECT id FROM public.posts ORDER BY scheduled_at DESC LIMIT 1`);
    const leaky: ClaimFn = async (client, workerId) => {
      const ids = await lifecycle.claim(client, workerId);
      if (ids.includes(String(skipped))) {
        await client.query(`UPDATE public.posts SET status = 'FAILED' WHERE id = $1`, [skipped]);
        return ids.filter((id) => id !== String(skipped));
      }
      return ids;
    };
    const result = await runQueue({ url: db.url, workers: 2, claim: leaky, complete: lifecycle.complete, dueBefore: due });
    expect(result.lostPosts).toEqual([String(skipped)]);
  });
});
