import type { HealthCheck } from './health';
import type { Queryable } from './queryable';

/**
 * Replica lag from aurora_replica_status(), which exists only on Aurora. Vanilla streaming
 * functions (pg_last_wal_*) say nothing about Aurora's storage-level replicas, so elsewhere
 * the check reports "not available" instead of a misleading zero.
 */
export const AURORA_FUNCTION_SQL = `SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'aurora_replica_status') AS present`;
export const REPLICA_LAG_SQL = `
  SELECT max(replica_lag_in_msec)::float8 AS max_lag_ms, count(*)::int AS replicas
    FROM aurora_replica_status()
   WHERE session_id <> 'MASTER_SESSION_ID'`;

export interface ReplicaLag {
  available: boolean;
  maxLagMs: number | null;
  replicas: number;
}

export async function replicaLag(db: Queryable): Promise<ReplicaLag> {
  const [{ present }] = await db.query<{ present: boolean }>(AURORA_FUNCTION_SQL);
  if (!present) return { available: false, maxLagMs: null, replicas: 0 };
  const [row] = await db.query<{ max_lag_ms: number | null; replicas: number }>(REPLICA_LAG_SQL);
  return { available: true, maxLagMs: row.max_lag_ms === null ? null : Number(row.max_lag_ms), replicas: Number(row.replicas) };
}

export const replicaLagCheck: HealthCheck<{ replicaLag: ReplicaLag }> = {
  name: 'replica lag',
  run: async (db) => ({ replicaLag: await replicaLag(db) }),
  metrics: ({ replicaLag: lag }) => (lag.available && lag.maxLagMs !== null ? [['replicaLag', lag.maxLagMs]] : []),
  summary: ({ replicaLag: lag }) => ({ replicaLag: lag }),
  rows: ({ replicaLag: lag }) => [
    {
      check: 'replica lag',
      value: lag.available ? `${lag.maxLagMs ?? 0} ms` : 'n/a',
      detail: lag.available ? `${lag.replicas} replicas` : 'not Aurora (no aurora_replica_status())',
    },
  ],
};
