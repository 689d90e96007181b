import type { Queryable } from '../db/executor';

/** The statement with the highest mean time in pg_stat_statements, when the extension is installed here. */
export const SLOWEST_STATEMENT_SQL = `
  SELECT max(mean_exec_time)::float8 AS mean_ms
    FROM pg_stat_statements
   WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`;

export async function slowestStatementMeanMs(db: Queryable): Promise<number | null | undefined> {
  const [{ present }] = await db.query<{ present: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS present`,
  );
  if (!present) return undefined;
  const [row] = await db.query<{ mean_ms: number | null }>(SLOWEST_STATEMENT_SQL);
  return row.mean_ms === null ? null : Number(row.mean_ms);
}
