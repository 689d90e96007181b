import { AnalyzerError, ExtensionMissingError } from '../errors';
import { num, Queryable, quoteIdent } from '../queryable';

export interface SlowQuery {
  queryId: string;
  query: string;
  calls: number;
  totalMs: number;
  meanMs: number;
  maxMs: number;
  stddevMs: number;
  rows: number;
  /** Share of shared-buffer reads served from cache for this statement, 0-100. */
  cacheHitPercent: number | null;
}

/** Where pg_stat_statements lives, or a clear error when it is not installed in this database. */
async function statementsView(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`,
  );
  if (rows.length === 0) {
    throw new ExtensionMissingError('pg_stat_statements', 'run CREATE EXTENSION pg_stat_statements in this database (on Aurora it is preloaded by the cluster parameter group)');
  }
  return `${quoteIdent(rows[0].schema)}.pg_stat_statements`;
}

/** Statements of the current database whose mean execution time is at least thresholdMs, costliest in total first. */
export async function getSlowQueries(db: Queryable, thresholdMs: number, limit = 50): Promise<SlowQuery[]> {
  if (typeof thresholdMs !== 'number' || !Number.isFinite(thresholdMs) || thresholdMs < 0) throw new AnalyzerError(`thresholdMs must be a non-negative number, got ${thresholdMs}`);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new AnalyzerError(`limit must be a whole number from 1 to 1000, got ${limit}`);
  const view = await statementsView(db);
  try {
    const { rows } = await db.query(
      `SELECT s.queryid::text AS query_id, s.query, s.calls, s.total_exec_time, s.mean_exec_time, s.max_exec_time,
              s.stddev_exec_time, s.rows,
              100.0 * s.shared_blks_hit / NULLIF(s.shared_blks_hit + s.shared_blks_read, 0) AS cache_hit_percent
         FROM ${view} s
        WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND s.mean_exec_time >= $1
        ORDER BY s.total_exec_time DESC
        LIMIT $2`,
      [thresholdMs, limit],
    );
    return rows.map((r) => ({
      queryId: String(r.query_id),
      query: String(r.query),
      calls: num(r.calls),
      totalMs: num(r.total_exec_time),
      meanMs: num(r.mean_exec_time),
      maxMs: num(r.max_exec_time),
      stddevMs: num(r.stddev_exec_time),
      rows: num(r.rows),
      cacheHitPercent: r.cache_hit_percent === null ? null : num(r.cache_hit_percent),
    }));
  } catch (error) {
    const code = (error as { code?: string }).code;
    // 55000: the extension exists but the library is not in shared_preload_libraries.
    if (code === '55000' || code === '42P01') throw new ExtensionMissingError('pg_stat_statements', (error as Error).message);
    throw error;
  }
}
