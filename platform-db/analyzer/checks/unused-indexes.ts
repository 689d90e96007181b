import { num, Queryable } from '../queryable';

export interface UnusedIndex {
  schema: string;
  table: string;
  index: string;
  sizeBytes: number;
}

/**
 * Never scanned since statistics were reset. Indexes that enforce something (primary key,
 * unique, exclusion, any constraint) are kept out: they are used by every write even with zero scans.
 * On a replica setup, check the readers too before dropping: their scans are not counted here.
 */
export async function unusedIndexes(db: Queryable): Promise<UnusedIndex[]> {
  const { rows } = await db.query(
    `SELECT s.schemaname AS schema, s.relname AS table_name, s.indexrelname AS index_name,
            pg_relation_size(s.indexrelid) AS size_bytes
       FROM pg_stat_user_indexes s
       JOIN pg_index i ON i.indexrelid = s.indexrelid
      WHERE s.idx_scan = 0
        AND i.indisvalid
        AND NOT i.indisunique
        AND NOT i.indisprimary
        AND NOT i.indisexclusion
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
      ORDER BY pg_relation_size(s.indexrelid) DESC, s.schemaname, s.indexrelname`,
  );
  return rows.map((r) => ({ schema: r.schema, table: r.table_name, index: r.index_name, sizeBytes: num(r.size_bytes) }));
}
