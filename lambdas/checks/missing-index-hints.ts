import { num, PgRow, Queryable } from './queryable';

export interface MissingIndexHint {
  schema: string;
  table: string;
  estimatedRows: number;
  seqScans: number;
  seqTuplesRead: number;
  indexScans: number;
  indexUsagePercent: number;
}

export interface MissingIndexOptions {
  /** Smaller tables are cheap to scan; a sequential scan there is usually the right plan. */
  minRows?: number;
  /** Tables whose scans use an index less often than this (percent) are reported. */
  maxIndexUsagePercent?: number;
}

/**
 * Large tables read mostly by sequential scans (PgHero's "tables that may need an index"). The
 * hint names the table; which columns need the index comes from getSlowQueries and explainQuery.
 */
export async function missingIndexHints(db: Queryable, options: MissingIndexOptions = {}): Promise<MissingIndexHint[]> {
  const minRows = options.minRows ?? 10_000;
  const maxUsage = options.maxIndexUsagePercent ?? 95;
  const rows = await db.query<PgRow>(
    `SELECT s.schemaname AS schema, s.relname AS table_name,
            greatest(s.n_live_tup, c.reltuples::bigint) AS estimated_rows,
            s.seq_scan, s.seq_tup_read, coalesce(s.idx_scan, 0) AS idx_scan,
            100.0 * coalesce(s.idx_scan, 0) / (s.seq_scan + coalesce(s.idx_scan, 0)) AS index_usage_percent
       FROM pg_stat_user_tables s
       JOIN pg_class c ON c.oid = s.relid
      WHERE s.seq_scan > 0
        AND greatest(s.n_live_tup, c.reltuples::bigint) >= $1
        AND 100.0 * coalesce(s.idx_scan, 0) / (s.seq_scan + coalesce(s.idx_scan, 0)) < $2
      ORDER BY s.seq_tup_read DESC`,
    [minRows, maxUsage],
  );
  return rows.map((r) => ({
    schema: r.schema,
    table: r.table_name,
    estimatedRows: num(r.estimated_rows),
    seqScans: num(r.seq_scan),
    seqTuplesRead: num(r.seq_tup_read),
    indexScans: num(r.idx_scan),
    indexUsagePercent: num(r.index_usage_percent),
  }));
}
