import { STANDBY_LAG_SQL } from '../../platform-db/reader-lag';
import type { HealthCheck } from './health';
import type { Queryable } from './queryable';

/**
 * Replica lag, wherever the check runs:
 * - Aurora: aurora_replica_status() (storage-level replicas, which pg_stat_replication does not list);
 * - a vanilla primary: pg_stat_replication, one row per streaming standby;
 * - a vanilla standby: its own replay delay (the same measurement the application's reader routing uses).
 */
export const AURORA_FUNCTION_SQL = `SELECT to_regproc('aurora_replica_status') IS NOT NULL AS present, pg_is_in_recovery() AS standby`;
export const REPLICA_LAG_SQL = `
  SELECT max(replica_lag_in_msec)::float8 AS max_lag_ms, count(*)::int AS replicas
    FROM aurora_replica_status()
   WHERE session_id <> 'MASTER_SESSION_ID'`;
/**
 * replay_lag goes NULL once a standby has caught up and the primary is idle, so a standby that has
 * replayed everything sent counts as 0. One that is behind without a timing sample yet (just
 * connected) has no time figure, only bytes.
 */
export const STREAMING_REPLICAS_SQL = `
  SELECT max(CASE WHEN replay_lsn >= pg_current_wal_lsn() THEN 0 ELSE extract(epoch FROM replay_lag) * 1000 END)::float8 AS max_lag_ms,
         max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn))::float8 AS max_lag_bytes,
         count(*)::int AS replicas
    FROM pg_stat_replication`;

export type ReplicaLagSource = 'aurora' | 'pg_stat_replication' | 'standby';

export interface ReplicaLag {
  source: ReplicaLagSource;
  /** null: no replica to measure (a primary without standbys), or no timing sample yet. */
  maxLagMs: number | null;
  replicas: number;
  /** WAL not yet replayed, from pg_stat_replication only. */
  maxLagBytes?: number | null;
}

const num = (value: unknown) => (value === null || value === undefined ? null : Number(value));

export async function replicaLag(db: Queryable): Promise<ReplicaLag> {
  const [{ present, standby }] = await db.query<{ present: boolean; standby: boolean }>(AURORA_FUNCTION_SQL);
  if (present) {
    const [row] = await db.query<{ max_lag_ms: number | null; replicas: number }>(REPLICA_LAG_SQL);
    return { source: 'aurora', maxLagMs: num(row.max_lag_ms), replicas: Number(row.replicas) };
  }
  if (standby) {
    const [row] = await db.query<{ lag_ms: number }>(STANDBY_LAG_SQL);
    return { source: 'standby', maxLagMs: Number(row.lag_ms), replicas: 1 };
  }
  const [row] = await db.query<{ max_lag_ms: number | null; max_lag_bytes: number | null; replicas: number }>(STREAMING_REPLICAS_SQL);
  return { source: 'pg_stat_replication', maxLagMs: num(row.max_lag_ms), replicas: Number(row.replicas), maxLagBytes: num(row.max_lag_bytes) };
}

export const replicaLagCheck: HealthCheck<{ replicaLag: ReplicaLag }> = {
  name: 'replica lag',
  run: async (db) => ({ replicaLag: await replicaLag(db) }),
  metrics: ({ replicaLag: lag }) => (lag.maxLagMs !== null ? [['replicaLag', lag.maxLagMs]] : []),
  summary: ({ replicaLag: lag }) => ({ replicaLag: lag }),
  rows: ({ replicaLag: lag }) => [
    {
      check: 'replica lag',
      value: lag.maxLagMs === null ? 'n/a' : `${lag.maxLagMs.toFixed(0)} ms`,
      detail: `${lag.replicas} replicas (${lag.source})`,
    },
  ],
};
