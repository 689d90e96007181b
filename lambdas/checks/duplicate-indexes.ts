import type { HealthCheck } from './health';
import { num, PgRow, Queryable } from './queryable';

export interface DuplicateIndex {
  schema: string;
  table: string;
  /** The redundant index, safe to drop once nothing names it in a hint or constraint. */
  index: string;
  indexDefinition: string;
  /** The index that already serves every lookup the redundant one can. */
  coveredBy: string;
  coveredByDefinition: string;
  sizeBytes: number;
}

/**
 * An index is redundant when another valid index on the same table, with the same access
 * method, starts with the same key columns, operator classes, collations and sort options, holds
 * every column it holds (INCLUDE columns too), and has the same predicate and expressions. Only
 * key columns count as the prefix: (a) INCLUDE (b) cannot serve a lookup on (a, b). Unique and primary-key indexes are never reported as the
 * redundant one (they enforce a constraint); two identical non-unique indexes report only one.
 * Partitions' copies of a partitioned index are left out (the parent index is reported).
 */
export async function duplicateIndexes(db: Queryable): Promise<DuplicateIndex[]> {
  const rows = await db.query<PgRow>(
    `WITH idx AS (
       SELECT i.indexrelid, i.indrelid, ic.relam, n.nspname AS schema,
              i.indisunique, i.indisprimary,
              (string_to_array(i.indkey::text, ' ')::int[])[1:i.indnkeyatts] AS cols,
              string_to_array(i.indkey::text, ' ')::int[] AS all_columns,
              string_to_array(i.indclass::text, ' ')::oid[] AS opclasses,
              string_to_array(i.indcollation::text, ' ')::oid[] AS collations,
              string_to_array(i.indoption::text, ' ')::int[] AS options,
              pg_get_expr(i.indpred, i.indrelid) AS predicate,
              pg_get_expr(i.indexprs, i.indrelid) AS expressions
         FROM pg_index i
         JOIN pg_class ic ON ic.oid = i.indexrelid
         JOIN pg_namespace n ON n.oid = ic.relnamespace
        WHERE i.indisvalid AND i.indisready AND i.indislive
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
          AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
     )
     SELECT d.schema, d.indrelid::regclass::text AS table_name,
            d.indexrelid::regclass::text AS index_name, pg_get_indexdef(d.indexrelid) AS index_definition,
            o.indexrelid::regclass::text AS covered_by, pg_get_indexdef(o.indexrelid) AS covered_by_definition,
            (SELECT coalesce(sum(pg_relation_size(p.relid)), 0)
               FROM (SELECT t.relid FROM pg_partition_tree(d.indexrelid) t UNION SELECT d.indexrelid::regclass) AS p) AS size_bytes
       FROM idx d
       JOIN idx o ON o.indrelid = d.indrelid AND o.indexrelid <> d.indexrelid AND o.relam = d.relam
      WHERE NOT d.indisunique AND NOT d.indisprimary
        AND cardinality(d.cols) <= cardinality(o.cols)
        AND o.cols[1:cardinality(d.cols)] = d.cols
        AND o.opclasses[1:cardinality(d.cols)] = d.opclasses
        AND o.collations[1:cardinality(d.cols)] = d.collations
        AND o.options[1:cardinality(d.cols)] = d.options
        AND d.all_columns <@ o.all_columns
        AND d.predicate IS NOT DISTINCT FROM o.predicate
        AND d.expressions IS NOT DISTINCT FROM o.expressions
        -- identical twins: report the younger one only (a unique twin always wins)
        AND (cardinality(d.cols) < cardinality(o.cols) OR o.indisunique OR d.indexrelid > o.indexrelid)
      ORDER BY 1, 2, 3, 5`,
  );
  return rows.map((r) => ({
    schema: r.schema,
    table: r.table_name,
    index: r.index_name,
    indexDefinition: r.index_definition,
    coveredBy: r.covered_by,
    coveredByDefinition: r.covered_by_definition,
    sizeBytes: num(r.size_bytes),
  }));
}

/** Redundant indexes cost every write and their storage, and serve nothing the other does not. */
export const duplicateIndexesCheck: HealthCheck<{ duplicateIndexes: DuplicateIndex[] }> = {
  name: 'duplicate indexes',
  run: async (db) => ({ duplicateIndexes: await duplicateIndexes(db) }),
  metrics: (r) => [['duplicateIndexCount', r.duplicateIndexes.length]],
  summary: (r) => ({ duplicateIndexes: r.duplicateIndexes.map((d) => ({ index: `${d.schema}.${d.index}`, coveredBy: d.coveredBy })) }),
  rows: (r) => [
    { check: 'duplicate indexes', value: String(r.duplicateIndexes.length), detail: r.duplicateIndexes.map((d) => `${d.schema}.${d.index} (covered by ${d.coveredBy})`).join(', ') || '-' },
  ],
};
