import type { Queryable } from './queryable';

/**
 * Estimated btree bloat per index, worst first. Without extensions: the ioguix / check_postgres
 * estimate (expected leaf pages from reltuples and the indexed columns' dbops.column_width_stats() width, against
 * relpages; needs fresh ANALYZE). With pgstattuple installed: pgstatindex's measured leaf density,
 * which reads the whole index, fine for a monthly task.
 */
export const INDEX_BLOAT_ESTIMATE_SQL = `
  WITH idx AS (
    SELECT ci.oid AS index_oid, i.indrelid AS table_oid, n.nspname, ci.relname AS index_name, ct.relname AS table_name,
           ci.reltuples, ci.relpages, i.indnatts,
           coalesce(substring(array_to_string(ci.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::smallint, 90) AS fillfactor,
           string_to_array(textin(int2vectorout(i.indkey)), ' ')::int[] AS indkey
      FROM pg_index i
      JOIN pg_class ci ON ci.oid = i.indexrelid
      JOIN pg_class ct ON ct.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = ci.relnamespace
     WHERE ci.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')
       AND ci.relkind = 'i' AND ci.relpages > 0 AND i.indisvalid
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
  ), cols AS (
    -- Key columns read their statistics from the table; expression columns from the index itself.
    SELECT idx.*, a.attname,
           CASE WHEN idx.indkey[pos] = 0 THEN idx.index_name ELSE idx.table_name END AS stats_relname,
           a.atttypid
      FROM idx
      CROSS JOIN LATERAL generate_series(1, idx.indnatts) AS pos
      JOIN pg_attribute a ON (idx.indkey[pos] <> 0 AND a.attrelid = idx.table_oid AND a.attnum = idx.indkey[pos])
                          OR (idx.indkey[pos] = 0 AND a.attrelid = idx.index_oid AND a.attnum = pos)
  ), widths AS (
    SELECT c.index_oid, c.nspname, c.index_name, c.table_name, c.reltuples, c.relpages, c.fillfactor,
           current_setting('block_size')::numeric AS bs,
           CASE WHEN max(coalesce(s.null_frac, 0)) = 0 THEN 8 ELSE 8 + ((32 + 8 - 1) / 8) END AS tuple_header,
           sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 1024)) AS data_width,
           bool_or(c.atttypid = 'pg_catalog.name'::regtype) OR count(s.attname) < count(*) AS is_na
      FROM cols c
      LEFT JOIN dbops.column_width_stats() s ON s.schemaname = c.nspname AND s.tablename = c.stats_relname AND s.attname = c.attname
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
  ), entry AS (
    SELECT *,
           (tuple_header + 8 - CASE WHEN tuple_header % 8 = 0 THEN 8 ELSE tuple_header % 8 END
            + data_width + 8 - CASE WHEN data_width = 0 THEN 0
                                    WHEN data_width::int % 8 = 0 THEN 8
                                    ELSE data_width::int % 8 END)::numeric AS entry_width
      FROM widths
  ), estimated AS (
    SELECT *,
           -- 24-byte page header, 16-byte btree special space, 4-byte line pointer per entry; +1 metapage.
           coalesce(1 + ceil(reltuples / floor((bs - 16 - 24) * fillfactor / (100 * (4 + entry_width)::float))), 0) AS expected_pages
      FROM entry
  )
  SELECT index_oid::bigint AS index_oid,
         format('%I.%I', nspname, index_name) AS index_name,
         format('%I.%I', nspname, table_name) AS table_name,
         (bs * relpages)::bigint AS bytes,
         greatest(bs * (relpages - expected_pages), 0)::bigint AS bloat_bytes,
         greatest(100 * (relpages - expected_pages)::float8 / relpages, 0)::float8 AS bloat_percent
    FROM estimated
   WHERE NOT is_na
   ORDER BY bloat_bytes DESC, index_name`;

export const INDEX_BLOAT_PGSTATTUPLE_SQL = `
  SELECT ci.oid::bigint AS index_oid,
         format('%I.%I', n.nspname, ci.relname) AS index_name,
         format('%I.%I', n.nspname, ct.relname) AS table_name,
         pg_relation_size(ci.oid)::bigint AS bytes,
         greatest(pg_relation_size(ci.oid) * (1 - s.avg_leaf_density / ff.fillfactor), 0)::bigint AS bloat_bytes,
         greatest(100 * (1 - s.avg_leaf_density / ff.fillfactor), 0)::float8 AS bloat_percent
    FROM pg_index i
    JOIN pg_class ci ON ci.oid = i.indexrelid
    JOIN pg_class ct ON ct.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = ci.relnamespace
    CROSS JOIN LATERAL (
      SELECT coalesce(substring(array_to_string(ci.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::numeric, 90) AS fillfactor
    ) ff
    CROSS JOIN LATERAL pgstatindex(ci.oid) s
   WHERE ci.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')
     AND ci.relkind = 'i' AND i.indisvalid AND pg_relation_size(ci.oid) > 0
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
     AND s.leaf_pages > 0
   ORDER BY bloat_bytes DESC, index_name`;

export interface IndexBloat {
  index: string;
  table: string;
  bytes: number;
  bloatBytes: number;
  bloatPercent: number;
}

export type IndexBloatMethod = 'estimate' | 'pgstattuple';

export async function indexBloatMethod(db: Queryable): Promise<IndexBloatMethod> {
  const [{ present }] = await db.query<{ present: boolean }>(`SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgstattuple') AS present`);
  return present ? 'pgstattuple' : 'estimate';
}

export async function indexBloat(db: Queryable, method?: IndexBloatMethod): Promise<{ method: IndexBloatMethod; indexes: IndexBloat[] }> {
  const chosen = method ?? (await indexBloatMethod(db));
  const rows = await db.query<{ index_name: string; table_name: string; bytes: string; bloat_bytes: string; bloat_percent: number }>(
    chosen === 'pgstattuple' ? INDEX_BLOAT_PGSTATTUPLE_SQL : INDEX_BLOAT_ESTIMATE_SQL,
  );
  return {
    method: chosen,
    indexes: rows.map((r) => ({
      index: r.index_name,
      table: r.table_name,
      bytes: Number(r.bytes),
      bloatBytes: Number(r.bloat_bytes),
      bloatPercent: Number(r.bloat_percent),
    })),
  };
}
