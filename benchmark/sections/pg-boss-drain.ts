import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LatencySummary, summarize, timed } from '../stats';

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
}

export interface PgBossResult {
  version: string;
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
}

const QUEUE = 'bench-publish';

/** Runs in the child: one pg-boss instance, a connection per worker. */
async function drain(options: PgBossOptions): Promise<PgBossResult> {
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
    for (let i = 0; i < options.jobs; i += 1000) {
      const n = Math.min(1000, options.jobs - i);
      await boss.insert(QUEUE, Array.from({ length: n }, (_, k) => ({ data: { post: i + k } })));
    }
    const insertMs = Date.now() - t;
    const seen = new Map<string, number>();
    const fetchMs: number[] = [];
    const completeMs: number[] = [];
    let completed = 0;
    t = Date.now();
    const worker = async () => {
      for (;;) {
        const { value: jobs, ms } = await timed(() => boss.fetch(QUEUE, { batchSize: options.batchSize }));
        if (jobs.length === 0) break;
        fetchMs.push(ms);
        for (const job of jobs) seen.set(job.id, (seen.get(job.id) ?? 0) + 1);
        const done = await timed(() => boss.complete(QUEUE, jobs.map((j) => j.id)));
        completeMs.push(done.ms);
        completed += jobs.length;
      }
    };
    await Promise.all(Array.from({ length: options.workers }, () => worker()));
    const durationMs = Date.now() - t;
    const fetched = [...seen.values()].reduce((s, v) => s + v, 0);
    return {
      version,
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
