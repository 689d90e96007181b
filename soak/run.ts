import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { migrate } from '../lambdas/migrate/migrator';
import { seedDemo } from '../local/demo-seed';
import { startReplicatedCluster } from '../local/replica';
import { loadPlatformDbConfig } from '../platform-db/config';
import type { Logger } from '../platform-db/logger';
import { createPool } from '../platform-db/pools';
import { analyse } from './analysis';
import { FaultOutcome, runFaults } from './faults';
import { WrittenIds } from './ids';
import { Maintenance } from './maintenance';
import { planFor } from './plan';
import { Recorder } from './recorder';
import type { SoakResult } from './report';
import { verifyRows } from './verify';
import { drainQueue, Workload } from './workload';

export interface SoakOptions {
  seconds: number;
  /** Demo-seed scale (1 is about 100k rows). */
  scale?: number;
  /** Extra server settings for both nodes (the test turns fsync off). */
  serverSettings?: Record<string, string | number>;
  repoRoot?: string;
  progress?: (message: string) => void;
}

export const DATABASE = 'soak';
/** Reader routing in the soak: a tight lag bound and quick re-checks, so faults (d) and (e) show within their windows. */
export const SOAK_APP_SETTINGS = {
  DATABASE_POOL_MIN: '0',
  DATABASE_POOL_MAX: '10',
  DATABASE_CONNECTION_TIMEOUT: '3000',
  DATABASE_STATEMENT_TIMEOUT: '15000',
  DATABASE_QUERY_TIMEOUT: '20000',
  DATABASE_READ_AFTER_WRITE_WINDOW: '1000',
  DATABASE_REPLICA_RETRY_COOLDOWN: '1000',
  DATABASE_REPLICA_MAX_LAG: '1000',
  DATABASE_REPLICA_LAG_CHECK_INTERVAL: '200',
};

export function defaultRepoRoot(): string {
  return path.resolve(__dirname, '..');
}

/**
 * Starts a primary and its streaming replica on loopback, migrates and seeds, then runs the
 * workload, the compressed maintenance schedule and the faults for `seconds`, checks every
 * written row, and returns the result. Everything it started is stopped before it returns.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const plan = planFor(options.seconds);
  const progress = options.progress ?? (() => undefined);
  const repoRoot = options.repoRoot ?? defaultRepoRoot();
  const startedAt = new Date().toISOString();
  progress('starting the primary and its streaming replica');
  const cluster = await startReplicatedCluster({ settings: { max_connections: 100, ...options.serverSettings } });
  try {
    const admin = new Client({ connectionString: cluster.primaryUrl() });
    // A backend that goes away emits 'error' on an idle client; unhandled, it ends the process.
    admin.on('error', () => undefined);
    await admin.connect();
    await admin.query(`CREATE DATABASE ${DATABASE}`);
    await admin.end();
    const primaryUrl = cluster.primaryUrl(DATABASE);
    const replicaUrl = cluster.replicaUrl(DATABASE);
    progress('migrating');
    await migrate({ databaseUrl: primaryUrl, log: () => undefined });
    progress('seeding');
    const seeder = new Client({ connectionString: primaryUrl });
    seeder.on('error', () => undefined);
    await seeder.connect();
    const counts = await (async () => {
      try {
        await seedDemo({ query: async (text, params) => (await seeder.query(text, params as unknown[])).rows as never[] }, { scale: options.scale ?? 0.1 });
        await seeder.query('ANALYZE');
        const { rows } = await seeder.query<{ workspaces: number; conversations: number }>(
          `SELECT (SELECT count(*) FROM public.workspaces)::int AS workspaces, (SELECT max(id) FROM public.conversations)::int AS conversations`,
        );
        return rows[0];
      } finally {
        await seeder.end();
      }
    })();
    await cluster.waitForCatchUp(60_000);

    const config = loadPlatformDbConfig({ NODE_ENV: 'test', DATABASE_URL: primaryUrl, DATABASE_READ_REPLICA_URL: replicaUrl, DATABASE_APPLICATION_NAME: 'soak-app', ...SOAK_APP_SETTINGS });
    const recorder = new Recorder();
    const routingLog: { t: number; message: string }[] = [];
    const logger: Logger = {
      info: (message) => routingLog.push({ t: recorder.now(), message }),
      warn: (message) => routingLog.push({ t: recorder.now(), message }),
      error: (message) => routingLog.push({ t: recorder.now(), message }),
    };
    const db = createPool(config, { logger });
    const ids = new WrittenIds();
    const maintenance = new Maintenance({ databaseUrl: primaryUrl, recorder, startMs: plan.baselineEndMs, untilMs: plan.durationMs, maxRunsPerTask: options.seconds });
    const span = plan.durationMs / 11;
    const workload = new Workload({
      db,
      recorder,
      ids,
      untilMs: plan.durationMs,
      maxOpsPerWorker: options.seconds * 200,
      paceMs: 15,
      workspaces: counts.workspaces,
      conversations: counts.conversations,
      // Months 13..23 back (inside the 24-month retention), one after another, so each new month
      // starts in the default partition until create-partitions moves it.
      defaultPartitionMonthsBack: () => 13 + Math.min(10, Math.floor(recorder.now() / span)),
    });
    let stopped = false;
    const sampler = setInterval(() => {
      const stats = db.routingStats();
      recorder.routing.push({ t: recorder.now(), ...stats, readerLagMs: db.readerLag() ?? null });
    }, 500);
    progress(`running for ${options.seconds} s`);
    const ticker = setInterval(() => progress(`t=${(recorder.now() / 1000).toFixed(0)} s, ${recorder.samples.length} operations, ${recorder.errors.length} caller errors, ${recorder.tasks.length} task runs`), 10_000);
    let faults: FaultOutcome[] = [];
    try {
      [faults] = await Promise.all([
        runFaults({ cluster, database: DATABASE, db, maintenance, recorder, ids, lockHoldMs: plan.lockHoldMs, maxLagMs: config.replica.maxLagMillis, repoRoot }, plan.windows, plan.durationMs, () => stopped),
        workload.runAll(),
        maintenance.runSchedule(),
      ]);
    } finally {
      stopped = true;
      workload.stop();
      maintenance.stop();
      clearInterval(sampler);
      clearInterval(ticker);
    }
    for (const entry of routingLog) recorder.events.push({ t: entry.t, fault: 'routing', message: entry.message });
    recorder.events.sort((x, y) => x.t - y.t);

    progress('draining the queue and checking every written row');
    if (!cluster.isReplicaRunning()) await cluster.startReplica();
    await cluster.resumeReplay().catch(() => undefined);
    const drained = await drainQueue(db);
    await cluster.waitForCatchUp(60_000);
    const rows = await verifyRows(primaryUrl, replicaUrl, ids, drained);
    await db.end();
    await maintenance.end();
    const analysis = analyse(plan, recorder, faults, rows);
    return {
      meta: { startedAt, seconds: options.seconds, cpus: cpus().length, loadAverage: loadavg(), settings: { ...SOAK_APP_SETTINGS, lockTimeoutMs: 1000, seedScale: options.scale ?? 0.1 } },
      plan,
      analysis,
      faults,
      events: recorder.events,
      routing: recorder.routing,
      taskRuns: recorder.tasks,
    };
  } finally {
    await cluster.destroy();
  }
}
