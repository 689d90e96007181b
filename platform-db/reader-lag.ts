import type { Pool } from 'pg';

/**
 * How far the reader behind a pool is behind its writer, measured on the reader itself, in
 * milliseconds. Aurora readers share storage and report their own lag in aurora_replica_status();
 * a vanilla hot standby has the replay timestamp. A reader URL that points at a primary (no
 * recovery in progress) has no lag.
 */
export const AURORA_PRESENT_SQL = `SELECT to_regproc('aurora_replica_status') IS NOT NULL AS aurora`;

export const AURORA_READER_LAG_SQL = `
  SELECT coalesce(max(replica_lag_in_msec), 0)::float8 AS lag_ms
    FROM aurora_replica_status()
   WHERE server_id = aurora_db_instance_identifier()`;

/**
 * Everything received is replayed: no lag, however old the last commit (an idle writer).
 * Otherwise the age of the last replayed commit, which grows while replay is behind or paused.
 */
export const STANDBY_LAG_SQL = `
  SELECT CASE WHEN NOT pg_is_in_recovery()
                OR pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
              ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000, 0) END::float8 AS lag_ms`;

export type ReaderFlavour = 'aurora' | 'standby';

export async function detectReaderFlavour(pool: Pool): Promise<ReaderFlavour> {
  const { rows } = await pool.query<{ aurora: boolean }>(AURORA_PRESENT_SQL);
  return rows[0].aurora ? 'aurora' : 'standby';
}

export async function measureReaderLag(pool: Pool, flavour: ReaderFlavour): Promise<number> {
  const { rows } = await pool.query<{ lag_ms: number }>(flavour === 'aurora' ? AURORA_READER_LAG_SQL : STANDBY_LAG_SQL);
  return Number(rows[0].lag_ms);
}
