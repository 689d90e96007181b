import { num, PgRow, Queryable } from './queryable';
import { resolveTable } from './relation';

export interface IndexStats {
  index: string;
  definition: string;
  method: string;
  unique: boolean;
  primary: boolean;
  valid: boolean;
  scans: number;
  tuplesRead: number;
  sizeBytes: number;
  /** Scanned at least once since statistics were last reset. */
  used: boolean;
}

/** Every index of one table; a partitioned index sums its partitions' scans and sizes. */
export async function getIndexStats(db: Queryable, table: string): Promise<IndexStats[]> {
  const resolved = await resolveTable(db, table);
  const rows = await db.query<PgRow>(
    `SELECT ic.relname AS index_name, pg_get_indexdef(i.indexrelid) AS definition, am.amname AS method,
            i.indisunique AS is_unique, i.indisprimary AS is_primary, i.indisvalid AS is_valid,
            u.scans, u.tuples_read, u.size_bytes
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_am am ON am.oid = ic.relam
      CROSS JOIN LATERAL (
        -- A partitioned index has no storage or statistics of its own: sum its partitions.
        SELECT coalesce(sum(s.idx_scan), 0) AS scans, coalesce(sum(s.idx_tup_read), 0) AS tuples_read,
               coalesce(sum(pg_relation_size(p.relid)), 0) AS size_bytes
          FROM (SELECT t.relid FROM pg_partition_tree(i.indexrelid) t WHERE t.isleaf
                UNION
                SELECT i.indexrelid::regclass) AS p
          LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = p.relid
      ) u
      WHERE i.indrelid = $1::oid
      ORDER BY ic.relname`,
    [resolved.oid],
  );
  return rows.map((r) => ({
    index: String(r.index_name),
    definition: String(r.definition),
    method: String(r.method),
    unique: Boolean(r.is_unique),
    primary: Boolean(r.is_primary),
    valid: Boolean(r.is_valid),
    scans: num(r.scans),
    tuplesRead: num(r.tuples_read),
    sizeBytes: num(r.size_bytes),
    used: num(r.scans) > 0,
  }));
}
