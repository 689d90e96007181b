import { AnalyzerError, ExtensionMissingError } from './errors';
import type { HealthCheck } from './health';
import { num, PgRow, Queryable, quoteIdent } from './queryable';

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

/** Where pg_stat_statements lives in this database; undefined when the extension is not installed here. */
async function findStatementsView(db: Queryable): Promise<string | undefined> {
  const rows = await db.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`,
  );
  return rows.length === 0 ? undefined : `${quoteIdent(rows[0].schema)}.pg_stat_statements`;
}

/** Where pg_stat_statements lives, or a clear error when it is not installed in this database. */
async function statementsView(db: Queryable): Promise<string> {
  const view = await findStatementsView(db);
  if (view === undefined) {
    throw new ExtensionMissingError('pg_stat_statements', 'run CREATE EXTENSION pg_stat_statements in this database (on Aurora it is preloaded by the cluster parameter group)');
  }
  return view;
}

/** Both figures read the statements of the current database only. */
const THIS_DATABASE = `s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`;

/** Statements of the current database whose mean execution time is at least thresholdMs, costliest in total first. */
export async function getSlowQueries(db: Queryable, thresholdMs: number, limit = 50): Promise<SlowQuery[]> {
  if (typeof thresholdMs !== 'number' || !Number.isFinite(thresholdMs) || thresholdMs < 0) throw new AnalyzerError(`thresholdMs must be a non-negative number, got ${thresholdMs}`);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new AnalyzerError(`limit must be a whole number from 1 to 1000, got ${limit}`);
  const view = await statementsView(db);
  try {
    const rows = await db.query<PgRow>(
      `SELECT s.queryid::text AS query_id, s.query, s.calls, s.total_exec_time, s.mean_exec_time, s.max_exec_time,
              s.stddev_exec_time, s.rows,
              100.0 * s.shared_blks_hit / NULLIF(s.shared_blks_hit + s.shared_blks_read, 0) AS cache_hit_percent
         FROM ${view} s
        WHERE ${THIS_DATABASE}
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

/**
 * The slowest-statement health figure: the highest mean time among application statements.
 * Utility statements (the migrations' index builds, VACUUM, REFRESH, ...) and everything the
 * maintenance role runs are left out: they are slow by nature and would hold the query-time alarm
 * in ALARM after every deploy or refresh. getSlowQueries lists them all, for a person to read.
 */
export function slowestStatementSql(view: string): string {
  return `
  SELECT max(s.mean_exec_time)::float8 AS mean_ms
    FROM ${view} s
   WHERE ${THIS_DATABASE}
     -- Statements nested in a function or DO block are already timed in their top-level caller.
     AND s.toplevel
     AND s.userid NOT IN (SELECT oid FROM pg_roles WHERE rolname = 'dbops_maintenance')
     AND s.query ~* '^\\s*(select|insert|update|delete|merge|with|values|table)\\M'`;
}

/** undefined when pg_stat_statements is not installed here, null when it has no application statement yet. */
export async function slowestStatementMeanMs(db: Queryable): Promise<number | null | undefined> {
  const view = await findStatementsView(db);
  if (view === undefined) return undefined;
  const [row] = await db.query<{ mean_ms: number | null }>(slowestStatementSql(view));
  return row.mean_ms === null ? null : Number(row.mean_ms);
}

export const slowestStatementCheck: HealthCheck<{ slowestStatementMeanMs?: number | null }> = {
  name: 'slowest statement',
  run: async (db) => ({ slowestStatementMeanMs: await slowestStatementMeanMs(db) }),
  metrics: ({ slowestStatementMeanMs: ms }) => (ms !== undefined && ms !== null ? [['slowestStatementMean', ms]] : []),
  summary: () => ({}),
  rows: ({ slowestStatementMeanMs: ms }) =>
    ms === undefined ? [] : [{ check: 'slowest statement (mean)', value: ms === null ? 'n/a' : `${ms.toFixed(2)} ms`, detail: 'pg_stat_statements' }],
};
