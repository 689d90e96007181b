import type { HealthCheck } from './health';
import { num, Queryable } from './queryable';

/**
 * Indexes never scanned since statistics were reset. An index that enforces a constraint (primary
 * key, unique, exclusion, or any other pg_constraint.conindid) is never "unused": every write
 * consults it even with zero scans, and dropping it drops the guarantee. (The health count used to
 * include exclusion-constraint indexes; this is the one definition now.) Scans are per
 * server: the health-check task counts an index unused only when no instance of the cluster scanned
 * it (lambdas/checks/per-instance.ts).
 */
export const UNUSED_INDEXES_SQL = `
  SELECT s.schemaname AS schema, s.relname AS table_name, s.indexrelname AS index_name,
         pg_relation_size(s.indexrelid)::bigint AS size_bytes
    FROM pg_stat_user_indexes s
    JOIN pg_index i ON i.indexrelid = s.indexrelid
   WHERE s.idx_scan = 0
     AND i.indisvalid
     AND NOT i.indisunique
     AND NOT i.indisprimary
     AND NOT i.indisexclusion
     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
   ORDER BY pg_relation_size(s.indexrelid) DESC, s.schemaname, s.indexrelname`;

export interface UnusedIndex {
  schema: string;
  table: string;
  index: string;
  sizeBytes: number;
}

export async function unusedIndexes(db: Queryable): Promise<UnusedIndex[]> {
  const rows = await db.query<{ schema: string; table_name: string; index_name: string; size_bytes: string }>(UNUSED_INDEXES_SQL);
  return rows.map((r) => ({ schema: r.schema, table: r.table_name, index: r.index_name, sizeBytes: num(r.size_bytes) }));
}

export const unusedIndexesCheck: HealthCheck<{ unusedIndexes: UnusedIndex[] }> = {
  name: 'unused indexes',
  run: async (db) => ({ unusedIndexes: await unusedIndexes(db) }),
  metrics: (r) => [['unusedIndexCount', r.unusedIndexes.length]],
  summary: (r) => ({ unusedIndexCount: r.unusedIndexes.length }),
  rows: (r) => [
    { check: 'unused indexes', value: String(r.unusedIndexes.length), detail: r.unusedIndexes.slice(0, 3).map((i) => `${i.schema}.${i.index}`).join(', ') || '-' },
  ],
};
