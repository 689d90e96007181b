import type { Pool } from 'pg';

export interface PoolMetrics {
  totalConnections: number;
  /** Checked out by callers right now. */
  activeConnections: number;
  idleConnections: number;
  /** Callers queued because every connection is checked out and the pool is at max. */
  waitingClients: number;
  maxConnections: number;
  /** activeConnections / maxConnections * 100. */
  utilizationPercent: number;
}

export function getPoolMetrics(pool: Pool): PoolMetrics {
  const max = pool.options.max ?? 10;
  const total = pool.totalCount;
  const idle = pool.idleCount;
  const active = Math.max(0, total - idle);
  return {
    totalConnections: total,
    activeConnections: active,
    idleConnections: idle,
    waitingClients: pool.waitingCount,
    maxConnections: max,
    utilizationPercent: max > 0 ? (active / max) * 100 : 0,
  };
}
