import type { HealthCheck } from './health';
import { num, Queryable } from './queryable';

/**
 * INVALID indexes: what a failed or cancelled CREATE INDEX / REINDEX CONCURRENTLY leaves behind.
 * The planner ignores them but every write still maintains them. REINDEX CONCURRENTLY names its
 * copies <index>_ccnew[N] (the unfinished new one) and <index>_ccold[N] (the old one, already
 * swapped out); both are safe to drop. System schemas are left out: nothing here may drop there.
 */
export const INVALID_INDEXES_SQL = `
  SELECT n.nspname AS schema, t.relname AS table_name, c.relname AS index_name,
         format('%I.%I', n.nspname, c.relname) AS qualified_name,
         pg_get_indexdef(i.indexrelid) AS definition, pg_relation_size(i.indexrelid)::bigint AS size_bytes,
         EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid) AS in_progress,
         c.relname ~ '_cc(new|old)[0-9]*$' AS reindex_leftover
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE NOT i.indisvalid
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
   ORDER BY 1, 2, 3`;

export interface InvalidIndex {
  schema: string;
  table: string;
  index: string;
  /** schema.index, quoted where needed: what DROP INDEX takes. */
  qualifiedName: string;
  definition: string;
  sizeBytes: number;
  /** A CREATE INDEX CONCURRENTLY / REINDEX CONCURRENTLY is building it right now: not (yet) a failure. */
  buildInProgress: boolean;
  /** Named like a REINDEX CONCURRENTLY copy: the reindex task drops these. */
  reindexLeftover: boolean;
  remedy: string;
}

export async function invalidIndexes(db: Queryable): Promise<InvalidIndex[]> {
  const rows = await db.query<{
    schema: string;
    table_name: string;
    index_name: string;
    qualified_name: string;
    definition: string;
    size_bytes: string;
    in_progress: boolean;
    reindex_leftover: boolean;
  }>(INVALID_INDEXES_SQL);
  return rows.map((r) => ({
    schema: r.schema,
    table: r.table_name,
    index: r.index_name,
    qualifiedName: r.qualified_name,
    definition: r.definition,
    sizeBytes: num(r.size_bytes),
    buildInProgress: r.in_progress,
    reindexLeftover: r.reindex_leftover,
    remedy: remedyFor(r.index_name, r.in_progress),
  }));
}

function remedyFor(index: string, inProgress: boolean): string {
  if (inProgress) return 'wait for the running build to finish';
  if (/_ccold\d*$/.test(index)) return 'leftover of REINDEX CONCURRENTLY: DROP INDEX CONCURRENTLY it';
  if (/_ccnew\d*$/.test(index)) return 'failed REINDEX CONCURRENTLY copy: DROP INDEX CONCURRENTLY it, then retry the reindex';
  return 'DROP INDEX CONCURRENTLY it and create it again (or REINDEX INDEX CONCURRENTLY), after fixing the cause (e.g. duplicate keys)';
}

export const invalidIndexesCheck: HealthCheck<{ invalidIndexes: InvalidIndex[] }> = {
  name: 'invalid indexes',
  run: async (db) => ({ invalidIndexes: await invalidIndexes(db) }),
  metrics: (r) => [['invalidIndexCount', r.invalidIndexes.length]],
  summary: (r) => ({ invalidIndexes: r.invalidIndexes.map((i) => i.qualifiedName) }),
  rows: (r) => [{ check: 'invalid indexes', value: String(r.invalidIndexes.length), detail: r.invalidIndexes.map((i) => i.qualifiedName).join(', ') || '-' }],
};
