import { loadavg } from 'node:os';
import type { Client } from 'pg';

export interface Quiet {
  /** The CHECKPOINT and the wait for autovacuum workers, together. */
  waitMs: number;
  /** Autovacuum workers still running when the wait gave up (0: none). */
  autovacuumWorkers: number;
  /** The machine's 1-minute load average when the wait ended. */
  loadAverage: number;
}

/**
 * Writes leave dirty pages and tables past their autovacuum thresholds. On a 2-core machine a
 * checkpoint or a vacuum running beside a measurement takes a core and shows up in whichever
 * figure it happens to fall on: a pattern's p95, or one of two drains compared side by side. So a
 * measurement starts after a CHECKPOINT, and once no autovacuum worker runs (up to maxWaitMs);
 * what the wait took and what was left can be reported beside the figures.
 */
export async function waitForQuietServer(client: Client, maxWaitMs = 600_000): Promise<Quiet> {
  const t0 = Date.now();
  await client.query('CHECKPOINT');
  let workers = 0;
  for (;;) {
    const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'");
    workers = rows[0].n;
    if (workers === 0 || Date.now() - t0 >= maxWaitMs) break;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  return { waitMs: Date.now() - t0, autovacuumWorkers: workers, loadAverage: Math.round(loadavg()[0] * 100) / 100 };
}
