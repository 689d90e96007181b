import { formatBytes } from './format';
import type { HealthCheck, HealthDatum } from './health';
import type { Queryable } from './queryable';

/**
 * Estimated wasted bytes per table without any extension: the ioguix / check_postgres estimate,
 * comparing relpages with the pages reltuples rows of the average width (pg_stats, read through dbops.column_width_stats() so that a role that may
 * maintain but not read still sees them) would need,
 * fillfactor included. An estimate, refreshed by ANALYZE; tables with "name" columns or columns
 * without statistics are flagged is_na and left out.
 */
export const TABLE_BLOAT_SQL = `
  WITH columns AS (
    SELECT tbl.oid AS table_oid,
           format('%I.%I', ns.nspname, tbl.relname) AS table_name,
           tbl.reltuples, tbl.relpages AS heap_pages,
           coalesce(toast.relpages, 0) AS toast_pages,
           coalesce(toast.reltuples, 0) AS toast_tuples,
           coalesce(substring(array_to_string(tbl.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::smallint, 100) AS fillfactor,
           current_setting('block_size')::numeric AS bs,
           23 + CASE WHEN max(coalesce(s.null_frac, 0)) > 0 THEN (7 + count(s.attname)) / 8 ELSE 0 END AS tuple_header,
           sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0)) AS tuple_data,
           bool_or(att.atttypid = 'pg_catalog.name'::regtype)
             OR sum(CASE WHEN att.attnum > 0 THEN 1 ELSE 0 END) <> count(s.attname) AS is_na
      FROM pg_attribute att
      JOIN pg_class tbl ON tbl.oid = att.attrelid
      JOIN pg_namespace ns ON ns.oid = tbl.relnamespace
      LEFT JOIN dbops.column_width_stats() s ON s.schemaname = ns.nspname AND s.tablename = tbl.relname
                          AND s.inherited = false AND s.attname = att.attname
      LEFT JOIN pg_class toast ON toast.oid = tbl.reltoastrelid
     WHERE NOT att.attisdropped AND att.attnum > 0
       AND tbl.relkind IN ('r', 'm')
       AND ns.nspname NOT IN ('pg_catalog', 'information_schema') AND ns.nspname !~ '^pg_toast'
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
  ), sized AS (
    SELECT *,
           -- 4-byte line pointer + header + data, each aligned to 8 bytes (64-bit servers).
           4 + tuple_header + tuple_data + 16
             - CASE WHEN tuple_header % 8 = 0 THEN 8 ELSE tuple_header % 8 END
             - CASE WHEN ceil(tuple_data)::int % 8 = 0 THEN 8 ELSE ceil(tuple_data)::int % 8 END AS tuple_size
      FROM columns
  ), estimated AS (
    SELECT table_name, is_na, bs, heap_pages + toast_pages AS pages,
           ceil(reltuples / ((bs - 24) * fillfactor / (tuple_size * 100))) + ceil(toast_tuples / 4) AS expected_pages
      FROM sized
     WHERE reltuples >= 0
  )
  SELECT table_name,
         (bs * pages)::bigint AS real_bytes,
         greatest((pages - expected_pages) * bs, 0)::bigint AS bloat_bytes,
         CASE WHEN pages > 0 THEN greatest(100 * (pages - expected_pages) / pages, 0) ELSE 0 END::float8 AS bloat_percent
    FROM estimated
   WHERE NOT is_na
   ORDER BY bloat_bytes DESC, table_name`;

export interface TableBloat {
  table: string;
  realBytes: number;
  bloatBytes: number;
  bloatPercent: number;
}

export async function tableBloat(db: Queryable): Promise<TableBloat[]> {
  const rows = await db.query<{ table_name: string; real_bytes: string; bloat_bytes: string; bloat_percent: number }>(TABLE_BLOAT_SQL);
  return rows.map((r) => ({ table: r.table_name, realBytes: Number(r.real_bytes), bloatBytes: Number(r.bloat_bytes), bloatPercent: Number(r.bloat_percent) }));
}

export const tableBloatCheck: HealthCheck<{ tableBloat: TableBloat[]; estimatedTableBloatBytes: number }> = {
  name: 'table bloat',
  run: async (db) => {
    const bloat = await tableBloat(db);
    return { tableBloat: bloat, estimatedTableBloatBytes: bloat.reduce((sum, b) => sum + b.bloatBytes, 0) };
  },
  metrics: (r, o) => [
    ['estimatedTableBloat', r.estimatedTableBloatBytes],
    ...r.tableBloat.filter((t) => t.bloatBytes > 0).slice(0, o.maxPerTableMetrics).map((b): HealthDatum => ['tableBloat', b.bloatBytes, { Table: b.table }]),
  ],
  summary: (r) => ({ estimatedTableBloatBytes: r.estimatedTableBloatBytes }),
  rows: (r) => [{ check: 'estimated table bloat', value: formatBytes(r.estimatedTableBloatBytes), detail: r.tableBloat[0]?.table ?? '-' }],
};
