import type { Queryable } from '../db/executor';

/**
 * The application statement with the highest mean time in pg_stat_statements, when the extension
 * is installed here. Utility statements (the migrations' index builds, VACUUM, REFRESH, ...) and
 * everything the maintenance role runs are left out: they are slow by nature and would hold the
 * query-time alarm in ALARM after every deploy or refresh.
 */
export const SLOWEST_STATEMENT_SQL = `
  SELECT max(s.mean_exec_time)::float8 AS mean_ms
    FROM pg_stat_statements s
   WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
     -- Statements nested in a function or DO block are already timed in their top-level caller.
     AND s.toplevel
     AND s.userid NOT IN (SELECT oid FROM pg_roles WHERE rolname = 'dbops_maintenance')
     AND s.query ~* '^\\s*(select|insert|update|delete|merge|with|values|table)\\M'`;

export async function slowestStatementMeanMs(db: Queryable): Promise<number | null | undefined> {
  const [{ present }] = await db.query<{ present: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS present`,
  );
  if (!present) return undefined;
  const [row] = await db.query<{ mean_ms: number | null }>(SLOWEST_STATEMENT_SQL);
  return row.mean_ms === null ? null : Number(row.mean_ms);
}
