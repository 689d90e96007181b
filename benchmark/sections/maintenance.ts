import { Client, Pool } from 'pg';
import type { QueryFile } from '../../sql/query-files';
import { PgExecutor } from '../../lambdas/db/pg-executor';
import { MemorySink } from '../../lambdas/metrics/sink';
import { runTask } from '../../lambdas/tasks/runner';
import type { TaskResult } from '../../lambdas/tasks/types';
import { ParamSampler } from '../params';
import { LatencySummary, summarize, timed } from '../stats';

/**
 * Section 5: each maintenance task run the way the Lambda runs it (lambdas/tasks/runner.ts
 * runTask, pg driver, metrics to memory), timed end to end; and a refresh of every view while a
 * reader keeps querying them: REFRESH ... CONCURRENTLY must not block readers.
 */
export interface TaskRun {
  task: string;
  options: Record<string, unknown>;
  note: string;
}

export interface TaskRunResult extends TaskRun {
  status: string;
  durationMs: number;
  reason?: string;
  summary: Record<string, unknown>;
}

export interface RefreshUnderReadResult {
  refresh: TaskRunResult;
  /** Per view: refresh mode and duration, from the task's summary. */
  views: { view: string; mode: string; durationMs: number }[];
  readerExecutions: number;
  readerLatency: LatencySummary;
  /** The same reads with no refresh running, for comparison. */
  idleLatency: LatencySummary;
}

export async function runMaintenanceTask(pool: Pool, run: TaskRun): Promise<TaskRunResult> {
  const executor = new PgExecutor(pool, false);
  const { value: result, ms } = await timed<TaskResult>(() =>
    runTask({ task: run.task, ...run.options }, {
      executor,
      sink: new MemorySink(),
      settings: { environment: 'bench', lockTimeoutMs: 5000 },
      log: () => undefined,
    }),
  );
  return {
    ...run,
    status: result.status,
    durationMs: Math.round(ms),
    reason: result.reason,
    summary: result.summary,
  };
}

/** The scheduled set, in a sensible order, plus two heavier variants an operator runs by hand. */
export function maintenancePlan(largestIndex: string | null): TaskRun[] {
  const plan: TaskRun[] = [
    { task: 'create-partitions', options: {}, note: 'daily: current month + premake, moves default-partition rows' },
    { task: 'update-statistics', options: {}, note: 'daily: ANALYZE tables changed beyond the threshold' },
    { task: 'vacuum-analyze', options: {}, note: 'weekly: tables with dead tuples (the queue and ingest left some)' },
    { task: 'reindex', options: {}, note: 'monthly: bloated btree indexes only' },
    { task: 'drop-old-partitions', options: {}, note: 'weekly: partitions beyond retention (none in a 24-month history)' },
    { task: 'health-check', options: {}, note: 'every 5 min' },
    { task: 'long-query-check', options: {}, note: 'every minute' },
  ];
  if (largestIndex) {
    const after = plan.findIndex((run) => run.task === 'reindex') + 1;
    plan.splice(after, 0, { task: 'reindex', options: { index: largestIndex }, note: `by hand: REINDEX CONCURRENTLY of the largest index (${largestIndex})` });
  }
  return plan;
}

export async function largestBtreeIndex(client: Client): Promise<string | null> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_am am ON am.oid = c.relam
      WHERE n.nspname = 'public' AND am.amname = 'btree' AND c.relkind = 'i'
      ORDER BY pg_relation_size(c.oid) DESC LIMIT 1`,
  );
  return rows[0]?.name ?? null;
}

async function readLoop(client: Client, reads: { query: QueryFile; params: unknown[][] }[], until: () => boolean): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; !until(); i++) {
    const read = reads[i % reads.length];
    const { ms } = await timed(() => client.query(read.query.sql, read.params[Math.floor(i / reads.length) % read.params.length]));
    samples.push(ms);
  }
  return samples;
}

export async function refreshUnderRead(
  pool: Pool,
  url: string,
  viewReads: QueryFile[],
  sampler: ParamSampler,
  idleReads: number,
): Promise<RefreshUnderReadResult> {
  const reads = viewReads.map((query) => ({ query, params: sampler.sampleMany(query, 50) }));
  const reader = new Client({ connectionString: url, application_name: 'dbops:bench-view-reader' });
  await reader.connect();
  try {
    let n = 0;
    const idle = await readLoop(reader, reads, () => n++ >= idleReads);
    let refreshing = true;
    const during = readLoop(reader, reads, () => !refreshing);
    const refresh = await runMaintenanceTask(pool, { task: 'refresh-materialized-views', options: {}, note: 'hourly: every view, CONCURRENTLY' }).finally(() => {
      refreshing = false;
    });
    const samples = await during;
    const refreshed = (refresh.summary.refreshed as { view: string; mode: string; durationMs: number }[] | undefined) ?? [];
    return { refresh, views: refreshed, readerExecutions: samples.length, readerLatency: summarize(samples), idleLatency: summarize(idle) };
  } finally {
    await reader.end();
  }
}
