import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { MIGRATIONS_DIR } from '../lambdas/migrate/migration-files';
import { migrate } from '../lambdas/migrate/migrator';
import type { ReplicatedCluster } from '../local/replica';
import type { AppDatabase } from '../platform-db/pools';
import { WrittenIds } from './ids';
import { Maintenance, SOAK_LOCK_TIMEOUT_MS } from './maintenance';
import { FaultName, FaultWindow } from './plan';
import { Recorder } from './recorder';

/**
 * The six faults. Each runs inside its window, bounded by the window's end, and states what it
 * saw as checks; the report adds what the workload and the routing samples saw meanwhile.
 */
export interface FaultCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface FaultOutcome {
  fault: FaultName;
  label: string;
  startMs: number;
  endMs: number;
  checks: FaultCheck[];
  /** When the fault itself was over (lock released, server back, replay resumed...). */
  clearedAtMs?: number;
  /** When the fault's code actually ran (a slow shutdown can run past the planned window). */
  ranFromMs?: number;
  ranToMs?: number;
}

export interface FaultContext {
  cluster: ReplicatedCluster;
  database: string;
  db: AppDatabase;
  maintenance: Maintenance;
  recorder: Recorder;
  ids: WrittenIds;
  lockHoldMs: number;
  maxLagMs: number;
  repoRoot: string;
  /** The running fault's waits end here at the latest: the next window's start (or the end of the run). */
  hardEndMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function untilOrDeadline(check: () => Promise<boolean> | boolean, recorder: Recorder, deadlineMs: number, stepMs = 100): Promise<boolean> {
  while (recorder.now() < deadlineMs) {
    if (await check()) return true;
    await sleep(stepMs);
  }
  return check();
}

/** (a) An application transaction writes to listening_mentions and keeps its lock; the DDL of create-partitions meets it. */
async function lockHeld(ctx: FaultContext, _w: FaultWindow, checks: FaultCheck[]): Promise<number> {
  const url = ctx.cluster.primaryUrl(ctx.database);
  const holder = await connect(url);
  const old = new Date();
  old.setUTCMonth(old.getUTCMonth() - 12);
  const insert = `INSERT INTO public.listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, content, published_at)
                  VALUES (1, 1, 'twitter', $1, '@holder', 'held', $2)`;
  try {
    // A committed row of a month without a partition: create-partitions must create it (DDL).
    const committed = `soak-fault-a-${Date.now()}`;
    await holder.query(insert, [committed, old]);
    ctx.ids.mentions.push(committed);
    await holder.query('BEGIN');
    const held = `soak-fault-a-held-${Date.now()}`;
    await holder.query(insert, [held, new Date()]);
    ctx.recorder.event('a', `lock held on listening_mentions for ${ctx.lockHoldMs} ms`);
    const releaseAt = ctx.recorder.now() + ctx.lockHoldMs;
    let runs = 0;
    let lockTimeouts = 0;
    // create-partitions runs meanwhile, in the background, so the lock goes at releaseAt however
    // long a run keeps retrying. A scheduled run may hold the task lock meanwhile (skipped); it
    // meets the held lock the same way, so every run overlapping the hold counts.
    const attempts = (async () => {
      for (let i = 0; i < 20 && ctx.recorder.now() < releaseAt - 500; i++) {
        const result = await ctx.maintenance.run('create-partitions', {}, 'fault');
        if (result?.status !== 'skipped') runs += 1;
        await sleep(300);
      }
    })();
    const rest = releaseAt - ctx.recorder.now();
    if (rest > 0) await sleep(rest);
    await holder.query('COMMIT');
    ctx.ids.mentions.push(held);
    ctx.recorder.event('a', 'lock released');
    await attempts;
    const heldFrom = releaseAt - ctx.lockHoldMs;
    const overlapping = ctx.recorder.tasks.filter((t) => t.task === 'create-partitions' && t.endedAt >= heldFrom && t.startedAt <= releaseAt);
    lockTimeouts = overlapping.reduce((n, t) => n + t.lockTimeouts, 0);
    checks.push({ name: 'DDL gave up on the lock and retried', ok: lockTimeouts > 0, detail: `${lockTimeouts} lock timeouts in the ${overlapping.length} create-partitions runs overlapping the hold (${runs} started by the fault)` });
    const cleared = releaseAt;
    const after = await ctx.maintenance.run('create-partitions', {}, 'fault');
    checks.push({ name: 'next create-partitions run succeeds', ok: after?.status === 'succeeded', detail: `${after?.status ?? 'no result'}${after?.reason ? `: ${after.reason}` : ''}` });
    return cleared;
  } finally {
    await holder.query('ROLLBACK').catch(() => undefined);
    await holder.end().catch(() => undefined);
  }
}

/** (b) A reindex task in its own process waits inside REINDEX CONCURRENTLY; the process is SIGKILLed and its backend terminated. */
async function taskKilled(ctx: FaultContext, _w: FaultWindow, checks: FaultCheck[]): Promise<number> {
  const url = ctx.cluster.primaryUrl(ctx.database);
  const admin = await connect(url);
  const holder = await connect(url);
  const index = 'public.posts_pkey';
  let child: ReturnType<typeof spawn> | undefined;
  await ctx.maintenance.pause('reindex');
  try {
    // An open write transaction on posts: REINDEX CONCURRENTLY waits for it after creating its INVALID copy.
    await holder.query('BEGIN');
    await holder.query(`UPDATE public.posts SET updated_at = updated_at WHERE id = (SELECT min(id) FROM public.posts WHERE status = 'ARCHIVED')`);
    child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ctx.repoRoot, 'bin', 'dbops.ts'), 'run', 'reindex', '--option', `index=${index}`, '--option', 'lockTimeoutMs=60000', '--database-url', url, '--metrics', 'none'],
      { cwd: ctx.repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DBOPS_ENV: 'soak' } },
    );
    let stderr = '';
    const keep = (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-600));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let exitCode: number | null | undefined;
    const exited = new Promise<void>((resolve) => child!.once('exit', (code) => ((exitCode = code), resolve())));
    let pid: number | undefined;
    await untilOrDeadline(
      async () => {
        const { rows } = await admin.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE application_name = 'dbops:reindex' AND query ILIKE 'REINDEX%' AND wait_event_type = 'Lock' LIMIT 1`,
        );
        pid = rows[0]?.pid;
        return pid !== undefined || exitCode !== undefined;
      },
      ctx.recorder,
      ctx.hardEndMs - 1000,
    );
    // Whether it ended on its own, before the kill below (after it, exitCode is the kill's null).
    const exitedFirst = exitCode !== undefined;
    child.kill('SIGKILL');
    await exited;
    ctx.recorder.event('b', pid === undefined ? 'reindex process killed before it reached REINDEX' : `reindex process SIGKILLed while REINDEX CONCURRENTLY waited (backend ${pid})`);
    checks.push({ name: 'task killed mid-run (inside REINDEX CONCURRENTLY)', ok: pid !== undefined, detail:
        pid !== undefined
          ? `backend ${pid}`
          : exitedFirst
            ? `the child exited (code ${exitCode}) before REINDEX: ${stderr.trim()}`
            : `the child never reached REINDEX before the window ran out ${stderr.trim()}`,
    });
    if (pid !== undefined) {
      const { rows } = await admin.query<{ terminated: boolean }>('SELECT pg_terminate_backend($1, 5000) AS terminated', [pid]);
      checks.push({ name: "its backend terminated", ok: rows[0].terminated === true, detail: `pg_terminate_backend(${pid}) = ${rows[0].terminated}` });
    }
    await holder.query('COMMIT');
    const { rows: invalid } = await admin.query<{ name: string }>(`SELECT indexrelid::regclass::text AS name FROM pg_index WHERE NOT indisvalid`);
    ctx.recorder.event('b', `INVALID indexes after the kill: ${invalid.map((r) => r.name).join(', ') || 'none'}`);
    const cleared = ctx.recorder.now();
    // The next run: a scheduled reindex may hold the task lock for a moment (skipped), so up to three tries.
    let next;
    for (let i = 0; i < 3; i++) {
      next = await ctx.maintenance.run('reindex', { index }, 'fault');
      if (next?.status !== 'skipped') break;
      await sleep(500);
    }
    const dropped = (next?.summary as { droppedLeftovers?: string[] } | undefined)?.droppedLeftovers ?? [];
    checks.push({ name: 'next reindex run succeeds', ok: next?.status === 'succeeded', detail: `${next?.status ?? 'no result'}; dropped leftovers: ${dropped.join(', ') || 'none'}` });
    const { rows: still } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_index WHERE NOT indisvalid`);
    checks.push({ name: 'no INVALID index left', ok: still[0].n === 0, detail: `${still[0].n} INVALID (${invalid.length} right after the kill)` });
    return cleared;
  } finally {
    ctx.maintenance.resume('reindex');
    child?.kill('SIGKILL');
    await holder.query('ROLLBACK').catch(() => undefined);
    await Promise.all([holder.end().catch(() => undefined), admin.end().catch(() => undefined)]);
  }
}

/** (c) The primary stops (fast shutdown) and starts again. */
async function primaryRestart(ctx: FaultContext, w: FaultWindow, checks: FaultCheck[]): Promise<number> {
  const down = ctx.recorder.now();
  ctx.recorder.event('c', 'stopping the primary (fast shutdown)');
  await ctx.cluster.stopPrimary('fast');
  ctx.recorder.event('c', 'primary stopped (fast shutdown)');
  await sleep(Math.min(1000, (w.endMs - w.startMs) / 6));
  await ctx.cluster.startPrimary();
  const up = ctx.recorder.now();
  ctx.recorder.event('c', `primary started again, ${up - down} ms after the stop began`);
  checks.push({ name: 'primary restarted', ok: ctx.cluster.isPrimaryRunning(), detail: `down ${up - down} ms` });
  return up;
}

/** (d) The replica stops, later starts again. */
async function replicaDown(ctx: FaultContext, w: FaultWindow, checks: FaultCheck[]): Promise<number> {
  const before = ctx.db.routingStats();
  ctx.recorder.event('d', 'stopping the replica (fast shutdown)');
  await ctx.cluster.stopReplica('fast');
  ctx.recorder.event('d', 'replica stopped');
  await sleep(Math.min(3000, (w.endMs - w.startMs) * 0.25));
  const during = ctx.db.routingStats();
  await ctx.cluster.startReplica();
  const up = ctx.recorder.now();
  ctx.recorder.event('d', 'replica started again');
  checks.push({ name: 'reads fell back to the writer', ok: during.fallbacks > before.fallbacks, detail: `${during.fallbacks - before.fallbacks} fallbacks, ${during.readsOnWriter - before.readsOnWriter} reads on the writer while it was down` });
  const back = await untilOrDeadline(() => ctx.db.routingStats().readsOnReader > during.readsOnReader, ctx.recorder, ctx.hardEndMs);
  checks.push({ name: 'reads returned to the replica', ok: back, detail: back ? `within ${ctx.recorder.now() - up} ms of its start` : 'not before the window ended' });
  return up;
}

/** (e) Replay on the replica pauses until its lag is past the bound, then resumes. */
async function replayPaused(ctx: FaultContext, w: FaultWindow, checks: FaultCheck[]): Promise<number> {
  const before = ctx.db.routingStats();
  await ctx.cluster.pauseReplay();
  ctx.recorder.event('e', 'replay paused');
  const half = w.startMs + (w.endMs - w.startMs) * 0.5;
  const lagged = await untilOrDeadline(() => (ctx.db.readerLag() ?? 0) > ctx.maxLagMs, ctx.recorder, half);
  // Hold a little past the bound so reads are seen avoiding it.
  await sleep(Math.max(0, Math.min(1500, half - ctx.recorder.now())));
  const during = ctx.db.routingStats();
  const lagSeen = ctx.db.readerLag();
  await ctx.cluster.resumeReplay();
  const resumed = ctx.recorder.now();
  ctx.recorder.event('e', `replay resumed (lag seen by the pools: ${lagSeen?.toFixed(0) ?? '?'} ms)`);
  checks.push({ name: 'lag passed the bound', ok: lagged, detail: `${lagSeen?.toFixed(0) ?? '?'} ms measured, bound ${ctx.maxLagMs} ms` });
  checks.push({ name: 'reads avoided the lagging replica', ok: during.lagAvoided > before.lagAvoided, detail: `${during.lagAvoided - before.lagAvoided} reads sent to the writer for lag` });
  const back = await untilOrDeadline(() => ctx.db.routingStats().readsOnReader > during.readsOnReader && (ctx.db.readerLag() ?? 0) <= ctx.maxLagMs, ctx.recorder, ctx.hardEndMs);
  checks.push({ name: 'reads returned once it caught up', ok: back, detail: back ? `within ${ctx.recorder.now() - resumed} ms of the resume` : 'not before the window ended' });
  return resumed;
}

export const SOAK_MIGRATION = '999_soak_concurrent_index.sql';
export const SOAK_INDEX = 'soak_posts_workspace_updated_idx';

/** (f) A migration with CREATE INDEX CONCURRENTLY on posts, which the workload keeps writing, applied by the migration runner. */
async function concurrentMigration(ctx: FaultContext, _w: FaultWindow, checks: FaultCheck[]): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'soak-migrations-'));
  try {
    for (const name of readdirSync(MIGRATIONS_DIR).filter((n) => n.endsWith('.sql'))) copyFileSync(path.join(MIGRATIONS_DIR, name), path.join(dir, name));
    writeFileSync(
      path.join(dir, SOAK_MIGRATION),
      `-- dbops:no-transaction\n-- The soak's own migration (never in sql/migrations): a concurrent build on a table under write load.\nCREATE INDEX CONCURRENTLY IF NOT EXISTS ${SOAK_INDEX} ON public.posts (workspace_id, updated_at);\n`,
    );
    const started = ctx.recorder.now();
    const result = await migrate({ databaseUrl: ctx.cluster.primaryUrl(ctx.database), dir, lockTimeoutMs: SOAK_LOCK_TIMEOUT_MS, log: () => undefined });
    ctx.recorder.event('f', `migration applied in ${ctx.recorder.now() - started} ms: ${result.applied.join(', ') || 'nothing'}`);
    checks.push({ name: 'migration applied under load', ok: result.applied.includes(SOAK_MIGRATION), detail: `applied: ${result.applied.join(', ') || 'none'}` });
    const admin = await connect(ctx.cluster.primaryUrl(ctx.database));
    try {
      const { rows } = await admin.query<{ valid: boolean }>(`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)`, [`public.${SOAK_INDEX}`]);
      checks.push({ name: 'the new index is VALID', ok: rows[0]?.valid === true, detail: rows[0] ? `indisvalid = ${rows[0].valid}` : 'index missing' });
    } finally {
      await admin.end();
    }
    return ctx.recorder.now();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const RUNNERS: Record<FaultName, (ctx: FaultContext, w: FaultWindow, checks: FaultCheck[]) => Promise<number>> = {
  a: lockHeld,
  b: taskKilled,
  c: primaryRestart,
  d: replicaDown,
  e: replayPaused,
  f: concurrentMigration,
};

/** Runs each fault when its window opens. A fault that throws is a failed check, never the end of the soak. */
export async function runFaults(base: Omit<FaultContext, 'hardEndMs'>, windows: FaultWindow[], runEndMs: number, isStopped: () => boolean): Promise<FaultOutcome[]> {
  const outcomes: FaultOutcome[] = [];
  for (const [i, w] of windows.entries()) {
    const ctx: FaultContext = { ...base, hardEndMs: (windows[i + 1]?.startMs ?? runEndMs) - 200 };
    const wait = w.startMs - ctx.recorder.now();
    if (wait > 0) await sleep(wait);
    if (isStopped()) break;
    const checks: FaultCheck[] = [];
    const outcome: FaultOutcome = { fault: w.fault, label: w.label, startMs: w.startMs, endMs: w.endMs, checks, ranFromMs: ctx.recorder.now() };
    try {
      outcome.clearedAtMs = await RUNNERS[w.fault](ctx, w, checks);
    } catch (error) {
      checks.push({ name: 'fault ran to the end', ok: false, detail: (error as Error).message });
    }
    outcome.ranToMs = ctx.recorder.now();
    outcomes.push(outcome);
  }
  return outcomes;
}
