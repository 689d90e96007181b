import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { Client, Pool } from 'pg';
import { QueryFile, loadQueryFiles } from '../sql/query-files';
import { LoadResult, OptimizeResult, applyOptimizations, cloneDatabase, createDatabase, dropDatabase, loadBaseline } from './databases';
import { anchorNow, countRows } from './generator';
import { ParamSampler, readDataShape } from './params';
import { Progress, silentProgress } from './progress';
import { Rng } from './rng';
import { ScaleSpec, expectedRowCounts } from './scale';
import { BundlesResult, measureBundles } from './sections/lambda-bundles';
import { IngestResult, createPkOnlyCopy, indexCount, runIngest } from './sections/ingest';
import { RefreshUnderReadResult, TaskRunResult, largestBtreeIndex, maintenancePlan, refreshUnderRead, runMaintenanceTask } from './sections/maintenance';
import { PatternResult, measurePatterns, ratio } from './sections/query-patterns';
import { PgBossResult, pgBossDrain } from './sections/pg-boss-drain';
import {
  FaultResult,
  LEGACY_CLAIM_SQL,
  QueueResult,
  insertBurst,
  withoutPublishQueueTriggers,
  legacyComplete,
  lifecycleUnderFaults,
  lifecycleWorker,
  patternClaim,
  releaseBenchLeases,
  runQueue,
} from './sections/publishing-queue';
import { GrowthResult, runHistoryGrowth } from './sections/history-growth';
import { BenchServer, ServerFacts, openBenchServer, serverFacts, urlFor, withClient } from './server';
import { LatencySummary, median, quotient, summarize, timed } from './stats';
import { TARGETS, TargetCheck, check } from './targets';
import { Quiet, waitForQuietServer } from './quiet';

/** Everything one benchmark run measured; bench-results/<run>.json holds it verbatim. */
export interface BenchResult {
  meta: {
    startedAt: string;
    finishedAt: string;
    durationMs: number;
    scale: ScaleSpec;
    seed: number;
    anchor: string;
    machine: { cpus: number; cpuModel: string; memoryBytes: number; platform: string; node: string };
    /** 1-minute load average at the start and the end: other work on the box inflates the tails. */
    loadAverage: { start: number; end: number };
    postgres: ServerFacts;
    server: 'embedded' | 'external';
    durabilityNote: string;
    sectionsSkipped: string[];
  };
  data: {
    expected: Record<string, number>;
    baseline: Record<string, number>;
    optimized: Record<string, number>;
    load: LoadResult['timings'] & { foreignKeyChecks: boolean; cloneMs: number; optimize: OptimizeResult; initialViewFillMs: number };
  };
  queries: PatternResult[];
  /** How quiet the server was when the patterns started (waitForQuietServer); absent when they were skipped. */
  patternsQuiet?: Quiet;
  views: { pattern: string; view: string; viewP95Ms: number; liveP95Ms: number; liveExecutions: number; pkPointSelectP95Ms: number; speedupP95: number }[];
  pkPointSelect: LatencySummary;
  /** captureRatio: rows/s with the analytics change capture over rows/s without it (goal >= 0.85). */
  ingest: { results: IngestResult[]; indexWriteCost: number | null; captureRatio: number | null };
  queue: {
    /** The generated backlog, claims only (the queue's hand-out; leases then handed back). */
    handOut: QueueResult;
    /** The same backlog through the whole lifecycle. */
    optimized: QueueResult;
    baseline: QueueResult | null;
    batchSize: number;
    /** The burst, claims only, then the same burst through the whole lifecycle. */
    burstHandOut: QueueResult;
    burst: QueueResult;
    burstBatchSize: number;
    /** pg-boss fetching the same number of jobs without completing them: beside burstHandOut. */
    pgBossFetchOnly: PgBossResult;
    pgBoss: PgBossResult;
    /** pg-boss again, each batch's posts and targets written before it is completed. */
    pgBossWriteBack: PgBossResult;
    /** The lifecycle against pg-boss writing back, in turns; the first is burst and pgBossWriteBack. */
    lifecyclePairs: LifecyclePair[];
    faults: FaultResult;
  } | null;
  maintenance: { tasks: TaskRunResult[]; refreshUnderRead: RefreshUnderReadResult | null } | null;
  bundles: BundlesResult | null;
  growth: GrowthResult | null;
  targets: TargetCheck[];
}

/** One turn of the whole lifecycle against a publisher on pg-boss, each drain over its own burst. */
export interface LifecyclePair {
  /** The drain that ran first; the order swaps every other pair, so a drift of the machine favours neither. */
  first: 'lifecycle' | 'pg-boss';
  lifecycle: QueueResult;
  pgBossWriteBack: PgBossResult;
  /** The lifecycle's posts/s over pg-boss's. */
  ratio: number;
}

export type Section = 'queries' | 'ingest' | 'queue' | 'maintenance' | 'bundles' | 'growth';

export interface RunOptions {
  spec: ScaleSpec;
  seed: number;
  repoRoot: string;
  /** Use this server instead of an embedded one (needs CREATE DATABASE). */
  databaseUrl?: string;
  /** Reuse an already-open server (the jest harness). */
  server?: BenchServer;
  /**
   * Database factories, for callers that must create their databases themselves (jest's
   * createEmptyDatabase). Default: two databases on the server, the optimized one a template copy.
   */
  databases?: { baselineUrl: string; optimizedUrl: string; loadOptimizedSeparately: true };
  skip?: Section[];
  progress?: Progress;
  skipForeignKeyChecks?: boolean;
  /** Keep the benchmark databases afterwards (an external server). */
  keepDatabases?: boolean;
  queries?: QueryFile[];
  /**
   * History growth (section 7): the scale whose history is multiplied (default: spec) and the
   * multipliers (default 1, 2, 4). Each size is its own database on the server. dayHours: earlier
   * hours of the same load before the measured one (default 0).
   */
  growth?: { spec?: ScaleSpec; multipliers?: number[]; dayHours?: number };
}

const PK_POINT_SQL = `SELECT id, workspace_id, status, scheduled_at FROM public.posts WHERE id = $1`;

export async function runBenchmark(options: RunOptions): Promise<BenchResult> {
  const progress = options.progress ?? silentProgress;
  const started = new Date();
  const loadAtStart = loadavg()[0];
  const spec = options.spec;
  const skip = new Set(options.skip ?? []);
  const anchor = anchorNow(started);
  const queries = options.queries ?? loadQueryFiles();
  const server = options.server ?? (await openBenchServer({ databaseUrl: options.databaseUrl, log: progress.log }));
  const suffix = `${spec.name}_${process.pid}`;
  const names = { baseline: `bench_baseline_${suffix}`, optimized: `bench_optimized_${suffix}` };
  const ownDatabases = !options.databases;
  try {
    // --- data -------------------------------------------------------------------------------
    progress.log(`generating ${spec.name} data (seed ${options.seed}, anchor ${anchor.toISOString()})`);
    const baselineUrl = options.databases?.baselineUrl ?? (await createDatabase(server.adminUrl, names.baseline));
    const load = await loadBaseline({ url: baselineUrl, spec, seed: options.seed, anchor, progress, skipForeignKeyChecks: options.skipForeignKeyChecks });
    let optimizedUrl: string;
    let cloneMs = 0;
    if (options.databases) {
      optimizedUrl = options.databases.optimizedUrl;
      const t = Date.now();
      await loadBaseline({ url: optimizedUrl, spec, seed: options.seed, anchor, skipForeignKeyChecks: options.skipForeignKeyChecks });
      cloneMs = Date.now() - t;
    } else {
      progress.log('copying the loaded baseline into the optimized database (CREATE DATABASE ... TEMPLATE)');
      cloneMs = await cloneDatabase(server.adminUrl, names.baseline, names.optimized);
      optimizedUrl = urlFor(server.adminUrl, names.optimized);
    }
    progress.log('applying migrations 030+ to the optimized database (index builds on loaded tables)');
    const optimize = await applyOptimizations(optimizedUrl);
    const fillPool = new Pool({ connectionString: optimizedUrl, max: 2 });
    // A client still closing when the databases are dropped (WITH FORCE) is terminated: expected.
    fillPool.on('error', () => undefined);
    const initialFill = await runMaintenanceTask(fillPool, { task: 'refresh-materialized-views', options: {}, note: 'initial fill' });
    if (initialFill.status !== 'succeeded') throw new Error(`initial view refresh failed: ${initialFill.reason}`);
    // Autovacuum would analyze the freshly filled views soon after; do it now so their reads are planned on statistics.
    await fillPool.query(`DO $$ DECLARE v text; BEGIN FOR v IN SELECT view_name FROM dbops.materialized_views LOOP EXECUTE format('ANALYZE %s', to_regclass(v)); END LOOP; END $$`);
    await fillPool.end();

    const expected = expectedRowCounts(spec);
    const counts = {
      baseline: await withClient(baselineUrl, (c) => countRows(c, Object.keys(expected))),
      optimized: await withClient(optimizedUrl, (c) => countRows(c, Object.keys(expected))),
    };

    const optimizedClient = new Client({ connectionString: optimizedUrl, application_name: 'dbops:bench-optimized' });
    const baselineClient = new Client({ connectionString: baselineUrl, application_name: 'dbops:bench-baseline' });
    await Promise.all([optimizedClient.connect(), baselineClient.connect()]);
    let queryResults: PatternResult[] = [];
    let pkPointSelect = summarize([]);
    let patternsQuiet: Quiet | undefined;
    let sampler: ParamSampler;
    const sectionsSkipped: string[] = [...skip];
    try {
      for (const c of [optimizedClient, baselineClient]) await c.query(`SET statement_timeout = '120s'`);
      const shape = await readDataShape(optimizedClient, anchor);
      sampler = new ParamSampler(shape, new Rng(options.seed));

      // --- 1. query patterns and 2. view reads ----------------------------------------------
      if (!skip.has('queries')) {
        // The load, the migrations and the first fill of the views leave dirty pages and tables
        // past their autovacuum thresholds; neither should fall on some patterns and not others.
        patternsQuiet = await waitForQuietServer(optimizedClient);
        const step = progress.step('query patterns', queries.length);
        queryResults = await measurePatterns(queries, { optimized: optimizedClient, baseline: baselineClient }, sampler, {
          executions: spec.queryExecutions,
          warmup: Math.min(10, Math.max(2, Math.floor(spec.queryExecutions / 20))),
          baselineBudgetMs: spec.baselinePatternBudgetMs,
          baselineMinExecutions: Math.min(spec.queryExecutions, spec.baselineMinExecutions),
          onPattern: (name, done, total) => {
            if (done > 0) step.advance(1);
            progress.log(`  pattern ${done + 1}/${total}: ${name}`);
          },
        });
        step.done();
        const ids = Array.from({ length: spec.queryExecutions + 10 }, (_, i) => 1 + ((i * 7919 + options.seed) % spec.posts));
        const pk: number[] = [];
        for (const [i, id] of ids.entries()) {
          const { ms } = await timed(() => optimizedClient.query(PK_POINT_SQL, [id]));
          if (i >= 10) pk.push(ms);
        }
        pkPointSelect = summarize(pk);
      }
    } finally {
      await Promise.all([optimizedClient.end(), baselineClient.end()]);
    }
    const views = queryResults
      .filter((q) => q.view)
      .map((q) => ({
        pattern: q.name,
        view: q.view as string,
        viewP95Ms: q.optimized.p95Ms,
        liveP95Ms: q.baseline.p95Ms,
        liveExecutions: q.baseline.count,
        pkPointSelectP95Ms: pkPointSelect.p95Ms,
        speedupP95: q.speedupP95,
      }));

    // --- 3. ingest ------------------------------------------------------------------------------
    let ingest: BenchResult['ingest'] = { results: [], indexWriteCost: null, captureRatio: null };
    if (!skip.has('ingest')) {
      const step = progress.step('ingest', 5);
      const pkOnly = await withClient(optimizedUrl, async (c) => ({ table: await createPkOnlyCopy(c, 'bench_mentions_pk_only'), all: await indexCount(c, 'public.listening_mentions') }));
      const baselineIndexes = await withClient(baselineUrl, (c) => indexCount(c, 'public.listening_mentions'));
      const ingestOptions = { rows: spec.ingestRows, batchRows: spec.ingestBatchRows, seed: options.seed, anchor };
      const results: IngestResult[] = [];
      // An unmeasured warm-up first (cache, catalog, JIT of the trigger function's plans), so the
      // first measured run is not the cold one; then capture on and off alternate twice, so drift
      // in the machine's load hits both alike.
      await runIngest(
        { label: 'warm-up', url: optimizedUrl, table: 'public.listening_mentions', indexes: pkOnly.all },
        { ...ingestOptions, rows: Math.max(spec.ingestBatchRows, Math.floor(spec.ingestRows / 4)) },
      );
      for (const target of [
        { label: 'all indexes (optimized)', url: optimizedUrl, table: 'public.listening_mentions', indexes: pkOnly.all },
        { label: 'all indexes, capture off', url: optimizedUrl, table: 'public.listening_mentions', indexes: pkOnly.all, captureOff: true },
        { label: 'all indexes, capture off (again)', url: optimizedUrl, table: 'public.listening_mentions', indexes: pkOnly.all, captureOff: true },
        { label: 'all indexes (again)', url: optimizedUrl, table: 'public.listening_mentions', indexes: pkOnly.all },
        { label: 'domain keys only (baseline)', url: baselineUrl, table: 'public.listening_mentions', indexes: baselineIndexes },
        { label: 'primary key only (copy)', url: optimizedUrl, table: pkOnly.table, indexes: 1 },
      ]) {
        results.push(await runIngest(target, ingestOptions));
        step.advance(1);
      }
      step.done();
      await withClient(optimizedUrl, (c) => c.query(`DROP TABLE ${pkOnly.table}`));
      const byLabel = (label: string) => results.find((r) => r.label === label) as IngestResult;
      const rate = (labels: string[]) => {
        const picked = labels.map(byLabel);
        return picked.reduce((s, r) => s + r.rows, 0) / (picked.reduce((s, r) => s + r.durationMs, 0) / 1000);
      };
      ingest = {
        results,
        indexWriteCost: ratio(byLabel('primary key only (copy)').rowsPerSecond, byLabel('all indexes (optimized)').rowsPerSecond),
        // Three places: its goal (0.85) sits between tenths.
        captureRatio:
          Math.round((rate(['all indexes (optimized)', 'all indexes (again)']) / rate(['all indexes, capture off', 'all indexes, capture off (again)'])) * 1000) / 1000,
      };
    }

    // --- 4. publishing queue -------------------------------------------------------------------
    let queue: BenchResult['queue'] = null;
    const claimQuery = queries.find((q) => q.name === 'scheduled_post_claim');
    if (!skip.has('queue') && claimQuery) {
      const step = progress.step('publishing queue', 5);
      const workers = spec.queueWorkers;
      const dataDir = server.dataDir;
      // The generated backlog: first claims only (the queue's hand-out), the leases handed back,
      // then the whole lifecycle (lease, batched report) over the same posts; the posts-based claim on the baseline.
      const backlogClaims = lifecycleWorker(spec.queueBatchSize, anchor);
      const handOut = await runQueue({ url: optimizedUrl, workers, claim: backlogClaims.claim, complete: null, dueBefore: anchor, dataDir, quiet: true });
      await releaseBenchLeases(optimizedUrl, workers);
      const lifecycle = lifecycleWorker(spec.queueBatchSize, anchor);
      const optimizedQueue = await runQueue({ url: optimizedUrl, workers, claim: lifecycle.claim, complete: lifecycle.complete, dueBefore: anchor, dataDir, quiet: true });
      step.advance(1);
      const baselineQueue = await runQueue({
        url: baselineUrl,
        workers,
        claim: patternClaim(LEGACY_CLAIM_SQL, anchor, spec.queueBatchSize),
        complete: legacyComplete,
        dueBefore: anchor,
        timeLimitMs: spec.baselinePatternBudgetMs,
      });
      step.advance(1);
      // A burst due at one instant: handed out (claims only), handed back, then drained through the whole lifecycle.
      progress.log(`  inserting a burst of ${spec.queueBurstPosts} posts due at one instant`);
      await insertBurst(optimizedUrl, spec.queueBurstPosts, spec.targetsPerPost, anchor);
      const burstClaims = lifecycleWorker(spec.queueBurstBatchSize, anchor);
      const burstHandOut = await runQueue({ url: optimizedUrl, workers, claim: burstClaims.claim, complete: null, dueBefore: anchor, dataDir, quiet: true });
      await releaseBenchLeases(optimizedUrl, workers);
      const burstWorker = lifecycleWorker(spec.queueBurstBatchSize, anchor);
      const burst = await runQueue({ url: optimizedUrl, workers, claim: burstWorker.claim, complete: burstWorker.complete, dueBefore: anchor, dataDir, quiet: true });
      step.advance(1);
      progress.log(`  pg-boss: ${spec.queueBurstPosts} jobs, ${workers} workers, batch ${spec.queueBurstBatchSize}: fetch only, then fetch and complete`);
      const pgBossOptions = { url: optimizedUrl, jobs: spec.queueBurstPosts, workers, batchSize: spec.queueBurstBatchSize, dataDir, quiet: true };
      const pgBossFetchOnly = await pgBossDrain({ ...pgBossOptions, fetchOnly: true }, options.repoRoot);
      const pgBoss = await pgBossDrain(pgBossOptions, options.repoRoot);
      // A publisher on pg-boss drains a burst of its own: it too must write the targets and the
      // posts, which pg-boss knows nothing of. A platform on pg-boss has no publish_queue: its
      // posts are neither queued nor dequeued by the queue's triggers here.
      const pgBossPublisher = async (dueAt: Date): Promise<PgBossResult> => {
        progress.log(`  pg-boss writing the posts back: ${spec.queueBurstPosts} posts`);
        const { posts, drained } = await withoutPublishQueueTriggers(optimizedUrl, async () => {
          const posts = await insertBurst(optimizedUrl, spec.queueBurstPosts, spec.targetsPerPost, dueAt);
          const writeBack = { firstPostId: posts.firstId, lastPostId: posts.lastId };
          return { posts, drained: await pgBossDrain({ ...pgBossOptions, writeBack }, options.repoRoot) };
        });
        drained.unpublishedPosts = await withClient(optimizedUrl, async (client) =>
          Number(
            (
              await client.query<{ n: string }>(`SELECT count(*) AS n FROM public.posts WHERE id BETWEEN $1 AND $2 AND status <> 'PUBLISHED'`, [
                posts.firstId,
                posts.lastId,
              ])
            ).rows[0].n,
          ),
        );
        return drained;
      };
      // The lifecycle over a fresh burst, queued as it is inserted.
      const lifecycleDrain = async (): Promise<QueueResult> => {
        progress.log(`  the whole lifecycle: a fresh burst of ${spec.queueBurstPosts} posts`);
        await insertBurst(optimizedUrl, spec.queueBurstPosts, spec.targetsPerPost, anchor);
        const worker = lifecycleWorker(spec.queueBurstBatchSize, anchor);
        return runQueue({ url: optimizedUrl, workers, claim: worker.claim, complete: worker.complete, dueBefore: anchor, dataDir, quiet: true });
      };
      const pair = (first: LifecyclePair['first'], lifecycleRun: QueueResult, pgBossRun: PgBossResult): LifecyclePair => ({
        first,
        lifecycle: lifecycleRun,
        pgBossWriteBack: pgBossRun,
        ratio: quotient(lifecycleRun.claimsPerSecond, pgBossRun.claimsPerSecond),
      });
      // The first pair is the burst drained above and pg-boss after it; then the order swaps each pair.
      const pgBossWriteBack = await pgBossPublisher(new Date(anchor.getTime() + 86_400_000));
      const lifecyclePairs = [pair('lifecycle', burst, pgBossWriteBack)];
      for (let i = 2; i <= spec.queueLifecyclePairs; i++) {
        const dueAt = new Date(anchor.getTime() + i * 86_400_000);
        if (i % 2 === 0) {
          const theirs = await pgBossPublisher(dueAt);
          lifecyclePairs.push(pair('pg-boss', await lifecycleDrain(), theirs));
        } else {
          const ours = await lifecycleDrain();
          lifecyclePairs.push(pair('lifecycle', ours, await pgBossPublisher(dueAt)));
        }
      }
      step.advance(1);
      progress.log('  the lifecycle under faults (crashing workers, failing platform)');
      const faults = await lifecycleUnderFaults({
        url: optimizedUrl,
        workers,
        batchSize: spec.queueBurstBatchSize,
        posts: spec.queueBurstPosts,
        targetsPerPost: spec.targetsPerPost,
        seed: options.seed,
        crashRate: 0.02,
        transientRate: 0.03,
        permanentRate: 0.002,
        maxAttempts: 5,
        leaseSeconds: 2,
        requeueEveryMs: 1000,
        timeLimitMs: 15 * 60_000,
      });
      step.done();
      queue = {
        handOut,
        optimized: optimizedQueue,
        baseline: baselineQueue,
        batchSize: spec.queueBatchSize,
        burstHandOut,
        burst,
        burstBatchSize: spec.queueBurstBatchSize,
        pgBossFetchOnly,
        pgBoss,
        pgBossWriteBack,
        lifecyclePairs,
        faults,
      };
    } else if (!claimQuery) {
      sectionsSkipped.push('queue (no sql/queries/scheduled_post_claim.sql)');
    }

    // --- 5. maintenance ------------------------------------------------------------------------
    let maintenance: BenchResult['maintenance'] = null;
    if (!skip.has('maintenance')) {
      const pool = new Pool({ connectionString: optimizedUrl, max: 2 });
      pool.on('error', () => undefined);
      try {
        const viewReads = queries.filter((q) => /\bpublic\.mv_/.test(q.sql));
        const step = progress.step('maintenance tasks', 1);
        const refresh = viewReads.length ? await refreshUnderRead(pool, optimizedUrl, viewReads, sampler!, 200) : null;
        const largest = await withClient(optimizedUrl, largestBtreeIndex);
        const tasks: TaskRunResult[] = [];
        for (const run of maintenancePlan(largest)) tasks.push(await runMaintenanceTask(pool, run));
        step.done();
        maintenance = { tasks, refreshUnderRead: refresh };
      } finally {
        await pool.end();
      }
    }

    // --- 6. bundles ----------------------------------------------------------------------------
    let bundles: BenchResult['bundles'] = null;
    if (!skip.has('bundles')) {
      const step = progress.step('lambda bundles', 1);
      bundles = await measureBundles(options.repoRoot);
      step.done();
    }

    // --- 7. history growth ------------------------------------------------------------------------
    let growth: GrowthResult | null = null;
    if (!skip.has('growth')) {
      const growthSpec = options.growth?.spec ?? spec;
      const multipliers = options.growth?.multipliers ?? [1, 2, 4];
      const step = progress.step(`history growth (${growthSpec.name} x ${multipliers.join(', ')})`, 1);
      growth = await runHistoryGrowth({
        adminUrl: server.adminUrl,
        spec: growthSpec,
        multipliers,
        seed: options.seed,
        anchor,
        queries,
        dayHours: options.growth?.dayHours,
        progress,
        skipForeignKeyChecks: options.skipForeignKeyChecks,
      });
      step.done();
    }

    const facts = await serverFacts(optimizedUrl);
    const finished = new Date();
    const result: BenchResult = {
      meta: {
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationMs: finished.getTime() - started.getTime(),
        scale: spec,
        seed: options.seed,
        anchor: anchor.toISOString(),
        machine: {
          cpus: cpus().length,
          cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
          memoryBytes: totalmem(),
          platform: `${process.platform} ${process.arch}`,
          node: process.versions.node,
        },
        loadAverage: { start: Math.round(loadAtStart * 100) / 100, end: Math.round(loadavg()[0] * 100) / 100 },
        postgres: facts,
        server: server.embedded ? 'embedded' : 'external',
        durabilityNote:
          facts.settings.fsync === 'on' && facts.settings.synchronous_commit === 'on'
            ? 'fsync and synchronous_commit on: every ingest batch and every claim/complete commit waits for its WAL flush. Only the data generator sets synchronous_commit = off in its own sessions.'
            : `fsync=${facts.settings.fsync}, synchronous_commit=${facts.settings.synchronous_commit}: commits do not wait for durable storage, so ingest and queue rates are optimistic.`,
        sectionsSkipped,
      },
      data: {
        expected,
        baseline: counts.baseline,
        optimized: counts.optimized,
        load: { ...load.timings, foreignKeyChecks: load.generation.foreignKeyChecks, cloneMs, optimize, initialViewFillMs: initialFill.durationMs },
      },
      queries: queryResults,
      patternsQuiet,
      views,
      pkPointSelect,
      ingest,
      queue,
      maintenance,
      bundles,
      growth,
      targets: [],
    };
    result.targets = targetChecks(result);
    return result;
  } finally {
    if (ownDatabases && !options.keepDatabases) {
      await dropDatabase(server.adminUrl, names.optimized).catch(() => undefined);
      await dropDatabase(server.adminUrl, names.baseline).catch(() => undefined);
    }
    if (!options.server) await server.stop();
  }
}

export function targetChecks(result: BenchResult): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const q of result.queries) {
    checks.push(check(q.view ? TARGETS.viewReadP95 : TARGETS.queryP95, q.name, q.optimized.p95Ms));
  }
  if (result.queue) {
    const q = result.queue;
    checks.push(check(TARGETS.scheduledPosts, `backlog of ${q.handOut.duePosts}, ${q.handOut.workers} workers, batch ${q.batchSize}`, q.handOut.claimsPerSecond));
    checks.push(check(TARGETS.burstClaims, `burst of ${q.burstHandOut.duePosts}, ${q.burstHandOut.workers} workers, batch ${q.burstBatchSize}`, q.burstHandOut.claimsPerSecond));
    checks.push(
      check(TARGETS.handOutVsPgBoss, `${q.burstHandOut.claimsPerSecond} / ${q.pgBossFetchOnly.claimsPerSecond} claims/s`, quotient(q.burstHandOut.claimsPerSecond, q.pgBossFetchOnly.claimsPerSecond)),
    );
    const ratios = q.lifecyclePairs.map((p) => p.ratio);
    checks.push(
      check(
        TARGETS.lifecycleVsPgBoss,
        `median of ${ratios.length} alternated pairs: ${ratios.map((r) => `${Math.round(r * 1000) / 1000}x`).join(', ')}`,
        median(ratios),
      ),
    );
  }
  const claim = result.queries.find((q) => q.name === 'scheduled_post_claim');
  if (claim) checks.push(check(TARGETS.claimP95, 'scheduled_post_claim, batch 50, rolled back', claim.optimized.p95Ms));
  const all = result.ingest.results[0];
  if (all) checks.push(check(TARGETS.mentionIngest, `${all.batchRows}-row batches, 1 writer`, all.rowsPerSecond));
  if (result.growth) {
    const g = result.growth;
    const last = g.sizes[g.sizes.length - 1];
    for (const size of g.sizes) checks.push(check(TARGETS.growthHourlyRefresh, `${g.scale} history ${size.multiplier}x`, size.refresh.ms));
    checks.push(check(TARGETS.growthRefreshRatio, `${g.scale} ${last.multiplier}x / 1x`, g.ratios.refresh));
    for (const p of last.patterns) checks.push(check(TARGETS.queryP95, `${p.name} at ${g.scale} ${last.multiplier}x history`, p.p95Ms));
    for (const [name, r] of Object.entries(g.ratios.patterns)) checks.push(check(TARGETS.growthPatternRatio, `${name} ${last.multiplier}x / 1x`, r));
  }
  if (result.ingest.captureRatio !== null) checks.push(check(TARGETS.captureIngestRatio, 'capture on / capture off, rows/s', result.ingest.captureRatio));
  return checks;
}

export function defaultRepoRoot(): string {
  return path.resolve(__dirname, '..');
}
