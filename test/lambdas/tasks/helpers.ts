import type { Pool, PoolClient } from 'pg';
import { PgExecutor } from '../../../lambdas/db/pg-executor';
import { MemorySink } from '../../../lambdas/metrics/sink';
import { RunnerDeps, runTask } from '../../../lambdas/tasks/runner';
import type { TaskResult } from '../../../lambdas/tasks/types';
import type { TestDatabase } from '../../support/database';

export interface TaskHarness {
  executor: PgExecutor;
  sink: MemorySink;
  logs: string[];
  run(event: Record<string, unknown>, overrides?: Partial<RunnerDeps>): Promise<TaskResult>;
}

/**
 * A runner on the test database (as the emulated Aurora master, see test/support/database.ts), with
 * an in-memory sink and quick lock retries. maintenance-role.test.ts runs the tasks as the
 * least-privileged maintenance role.
 */
export function harness(db: TestDatabase, settings: Partial<RunnerDeps['settings']> = {}): TaskHarness {
  const executor = new PgExecutor(db.newPool({ max: 3 }), false);
  const sink = new MemorySink();
  const logs: string[] = [];
  return {
    executor,
    sink,
    logs,
    run: (event, overrides = {}) =>
      runTask(event, {
        executor,
        sink,
        settings: { environment: 'test', lockTimeoutMs: 2000, ...settings },
        lockRetry: { attempts: 2, baseDelayMs: 20, maxDelayMs: 50 },
        log: (message, fields) => logs.push(fields ? `${message} ${JSON.stringify(fields)}` : message),
        ...overrides,
      }),
  };
}

/** Runs statements on one client and makes its statistics visible to other sessions at once. */
export async function withFlushedStats(pool: Pool, ...statements: string[]): Promise<void> {
  const client: PoolClient = await pool.connect();
  try {
    for (const sql of statements) await client.query(sql);
    // Statistics are flushed when the backend goes idle; this forces that flush (PG 15+).
    await client.query('SELECT pg_stat_force_next_flush()');
  } finally {
    client.release();
  }
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
