import { num, Queryable } from '../queryable';

export interface InvalidIndex {
  schema: string;
  table: string;
  index: string;
  definition: string;
  sizeBytes: number;
  /** A CREATE INDEX CONCURRENTLY / REINDEX CONCURRENTLY is building it right now: not (yet) a failure. */
  buildInProgress: boolean;
  remedy: string;
}

/**
 * Indexes marked NOT indisvalid: a concurrent build or reindex that failed or was cancelled.
 * The planner ignores them but every write still maintains them.
 */
export async function invalidIndexes(db: Queryable): Promise<InvalidIndex[]> {
  const { rows } = await db.query(
    `SELECT n.nspname AS schema, t.relname AS table_name, c.relname AS index_name,
            pg_get_indexdef(i.indexrelid) AS definition, pg_relation_size(i.indexrelid) AS size_bytes,
            EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid) AS in_progress
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT i.indisvalid
      ORDER BY 1, 2, 3`,
  );
  return rows.map((r) => ({
    schema: r.schema,
    table: r.table_name,
    index: r.index_name,
    definition: r.definition,
    sizeBytes: num(r.size_bytes),
    buildInProgress: r.in_progress,
    remedy: remedyFor(r.index_name, r.in_progress),
  }));
}

function remedyFor(index: string, inProgress: boolean): string {
  if (inProgress) return 'wait for the running build to finish';
  if (/_ccold\d*$/.test(index)) return 'leftover of REINDEX CONCURRENTLY: DROP INDEX CONCURRENTLY it';
  if (/_ccnew\d*$/.test(index)) return 'failed REINDEX CONCURRENTLY copy: DROP INDEX CONCURRENTLY it, then retry the reindex';
  return 'DROP INDEX CONCURRENTLY it and create it again (or REINDEX INDEX CONCURRENTLY), after fixing the cause (e.g. duplicate keys)';
}
