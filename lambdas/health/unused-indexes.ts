import type { Queryable } from '../db/executor';

/** Indexes never scanned since statistics were reset; unique ones enforce constraints and stay out. */
export const UNUSED_INDEXES_SQL = `
  SELECT format('%I.%I', s.schemaname, s.indexrelname) AS index_name,
         format('%I.%I', s.schemaname, s.relname) AS table_name,
         pg_relation_size(s.indexrelid)::bigint AS bytes
    FROM pg_stat_user_indexes s
    JOIN pg_index i ON i.indexrelid = s.indexrelid
   WHERE s.idx_scan = 0 AND NOT i.indisunique AND i.indisvalid
   ORDER BY bytes DESC, index_name`;

export interface UnusedIndex {
  index: string;
  table: string;
  bytes: number;
}

export async function unusedIndexes(db: Queryable): Promise<UnusedIndex[]> {
  const rows = await db.query<{ index_name: string; table_name: string; bytes: string }>(UNUSED_INDEXES_SQL);
  return rows.map((r) => ({ index: r.index_name, table: r.table_name, bytes: Number(r.bytes) }));
}
