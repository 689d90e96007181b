import type { Queryable } from '../db/executor';

/**
 * INVALID indexes: what a failed or cancelled CREATE INDEX / REINDEX CONCURRENTLY leaves behind.
 * REINDEX CONCURRENTLY names its copies <index>_ccnew[N] (the unfinished new one) and
 * <index>_ccold[N] (the old one, already swapped out); both are safe to drop.
 */
export const INVALID_INDEXES_SQL = `
  SELECT format('%I.%I', n.nspname, c.relname) AS index_name,
         c.relname AS relname,
         format('%I.%I', n.nspname, t.relname) AS table_name,
         c.relname ~ '_cc(new|old)[0-9]*$' AS reindex_leftover
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE NOT i.indisvalid
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
   ORDER BY index_name`;

export interface InvalidIndex {
  index: string;
  table: string;
  /** Named like a REINDEX CONCURRENTLY copy: the reindex task drops these. */
  reindexLeftover: boolean;
}

export async function invalidIndexes(db: Queryable): Promise<InvalidIndex[]> {
  const rows = await db.query<{ index_name: string; table_name: string; reindex_leftover: boolean }>(INVALID_INDEXES_SQL);
  return rows.map((r) => ({ index: r.index_name, table: r.table_name, reindexLeftover: r.reindex_leftover }));
}
