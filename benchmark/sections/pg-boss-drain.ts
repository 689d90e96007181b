import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { CpuSplit, cpuWindow } from '../cpu';
import { LatencySummary, summarize, timed } from '../stats';
import { Quiet, waitForQuietServer } from '../quiet';
import { withClient } from '../server';

/**
 * The side-by-side: the same burst as jobs in pg-boss (npm, a PostgreSQL job queue on SKIP
 * LOCKED, job state in its own narrow table), on the same server, the same number of workers and
 * jobs and the same batch: each worker fetches a batch and completes it, until none is left.
 *
 * pg-boss is an ES module; it runs in a child process (tsx), so jest's CommonJS loader never has
 * to load it and the benchmark's process keeps one module system.
 */
export interface PgBossOptions {
  url: string;
  jobs: number;
  workers: number;
  batchSize: number;
  /**
   * Posts (an id range of SCHEDULED posts with pending targets, one job each) whose business rows
   * each worker writes before it completes a batch, as an application on pg-boss must: the targets
   * published with their external ids and the posts PUBLISHED (WRITE_BACK_SQL). Absent: the jobs
   * carry nothing and completing them is all there is.
   */
  writeBack?: { firstPostId: string; lastPostId: string };
  /**
   * Fetch only, the queue's hand-out: each worker fetches batches (jobs become active) until none
   * is left and completes nothing, as the lifecycle's claims-only drain leases and reports nothing.
   */
  fetchOnly?: boolean;
  /** The embedded server's data directory: the drain's server CPU is read from its processes. */
  dataDir?: string;
  /** Start the drain after a CHECKPOINT and once no autovacuum worker runs (waitForQuietServer), as runQueue. */
  quiet?: boolean;
}

/**
 * What a publisher on pg-boss writes for a batch besides completing its jobs: the least the
 * lifecycle's report writes (no fence, no outcome, no retry bookkeeping), one statement.
 */
export const WRITE_BACK_SQL = `
  WITH targets AS (
    UPDATE public.post_targets t
       SET status = 'published', published_at = now(), external_post_id = 'ext-' || t.id, attempts = t.attempts + 1
     WHERE t.post_id = ANY ($1::bigint[]) AND t.status = 'pending'
    RETURNING t.post_id
  )
  UPDATE public.posts p
     SET status = 'PUBLISHED', published_at = now(), publish_attempts = p.publish_attempts + 1
   WHERE p.id = ANY ($1::bigint[]) AND (SELECT count(*) FROM targets) >= 0`;

export interface PgBossResult {
  version: string;
  /** The workers also wrote each batch's posts and targets (PgBossOptions.writeBack). */
  writeBack: boolean;
  /** The workers only fetched (PgBossOptions.fetchOnly): completed is 0. */
  fetchOnly: boolean;
  jobs: number;
  workers: number;
  batchSize: number;
  fetched: number;
  completed: number;
  durationMs: number;
  /** Jobs fetched (claimed) per second of wall time, completes included, as the lifecycle drain counts them. */
  claimsPerSecond: number;
  fetchLatency: LatencySummary;
  completeLatency: LatencySummary;
  doubleFetches: number;
  insertMs: number;
  /** With writeBack: posts of the range not PUBLISHED afterwards (set by the caller; 0 when every batch was written). */
  unpublishedPosts?: number;
  /** Server CPU and this child's own CPU over the drain (the job inserts before it left out); with dataDir only. */
  cpu?: CpuSplit;
  /** With options.quiet: how quiet the server was when the drain started. */
  quiet?: Quiet;
}

const QUEUE = 'bench-publish';

/** Runs in the child: one pg-boss instance, a connection per worker. */
async function drain(options: PgBossOptions): Promise<PgBossResult> {
  if (options.fetchOnly && options.writeBack) throw new Error('pg-boss drain: fetchOnly completes nothing, so it cannot write the posts back');
  const { PgBoss } = await import('pg-boss');
  const { version } = JSON.parse(readFileSync(path.resolve('node_modules/pg-boss/package.json'), 'utf8')) as { version: string };
  const boss = new PgBoss({
    connectionString: options.url,
    schema: 'pgboss_bench',
    max: options.workers + 2,
    application_name: 'dbops:bench-pgboss',
    // Only the queue itself: no cron, no background maintenance competing with the workers.
    schedule: false,
    supervise: false,
  });
  boss.on('error', (error: Error) => console.error(`pg-boss: ${error.message}`));
  await boss.start();
  try {
    await boss.deleteQueue(QUEUE).catch(() => undefined);
    await boss.createQueue(QUEUE);
    let t = Date.now();
    const first = options.writeBack ? Number(options.writeBack.firstPostId) : 0;
    for (let i = 0; i < options.jobs; i += 1000) {
      const n = Math.min(1000, options.jobs - i);
      await boss.insert(QUEUE, Array.from({ length: n }, (_, k) => ({ data: { post: first + i + k } })));
    }
    const insertMs = Date.now() - t;
    const quiet = options.quiet ? await withClient(options.url, (client) => waitForQuietServer(client)) : undefined;
    const seen = new Map<string, number>();
    const fetchMs: number[] = [];
    const completeMs: number[] = [];
    let completed = 0;
    const cpu = cpuWindow(options.dataDir);
    t = Date.now();
    const worker = async () => {
      const writer = options.writeBack ? new Client({ connectionString: options.url, application_name: 'dbops:bench-pgboss-writer' }) : undefined;
      await writer?.connect();
      try {
        for (;;) {
          const { value: jobs, ms } = await timed(() => boss.fetch<{ post: number }>(QUEUE, { batchSize: options.batchSize }));
          if (jobs.length === 0) break;
          fetchMs.push(ms);
          for (const job of jobs) seen.set(job.id, (seen.get(job.id) ?? 0) + 1);
          if (options.fetchOnly) continue;
          const done = await timed(async () => {
            await writer?.query(WRITE_BACK_SQL, [jobs.map((j) => j.data.post)]);
            await boss.complete(QUEUE, jobs.map((j) => j.id));
          });
          completeMs.push(done.ms);
          completed += jobs.length;
        }
      } finally {
        await writer?.end();
      }
    };
    await Promise.all(Array.from({ length: options.workers }, () => worker()));
    const durationMs = Date.now() - t;
    const cpuSplit = await cpu.stop();
    const fetched = [...seen.values()].reduce((s, v) => s + v, 0);
    return {
      version,
      writeBack: options.writeBack !== undefined,
      fetchOnly: options.fetchOnly === true,
      jobs: options.jobs,
      workers: options.workers,
      batchSize: options.batchSize,
      fetched,
      completed,
      durationMs,
      claimsPerSecond: durationMs > 0 ? Math.round((fetched / durationMs) * 1000) : 0,
      fetchLatency: summarize(fetchMs),
      completeLatency: summarize(completeMs),
      doubleFetches: [...seen.values()].filter((v) => v > 1).length,
      insertMs,
      cpu: cpuSplit,
      quiet,
    };
  } finally {
    await boss.deleteQueue(QUEUE).catch(() => undefined);
    await boss.stop({ graceful: false, close: true });
  }
}

/** From the benchmark (or jest): runs drain() in a tsx child process and parses its JSON. */
export function pgBossDrain(options: PgBossOptions, repoRoot: string): Promise<PgBossResult> {
  const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
  return new Promise((resolve, reject) => {
    execFile(tsx, [__filename, JSON.stringify(options)], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024, timeout: 30 * 60_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`pg-boss drain failed: ${error.message}\n${stderr}`));
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as PgBossResult);
      } catch {
        reject(new Error(`pg-boss drain printed no result: ${stdout}\n${stderr}`));
      }
    });
  });
}

if (require.main === module) {
  drain(JSON.parse(process.argv[2]) as PgBossOptions).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (error: Error) => {
      console.error(error.stack ?? error.message);
      process.exit(1);
    },
  );
}
