import { num, PgRow, Queryable } from './queryable';
import { resolveTable } from './relation';

export interface TableStats {
  schema: string;
  table: string;
  partitioned: boolean;
  /** Leaf partitions summed (1 for an ordinary table). */
  partitions: number;
  seqScans: number;
  seqTuplesRead: number;
  indexScans: number;
  indexTuplesFetched: number;
  inserts: number;
  updates: number;
  deletes: number;
  liveTuples: number;
  deadTuples: number;
  deadTuplePercent: number;
  /** Share of scans that used an index, 0-100; null before the first scan. */
  indexUsagePercent: number | null;
  tableBytes: number;
  indexBytes: number;
  totalBytes: number;
  lastVacuum: Date | null;
  lastAutovacuum: Date | null;
  lastAnalyze: Date | null;
  lastAutoanalyze: Date | null;
}

/** pg_stat_user_tables for one table; a partitioned table is the sum of its leaf partitions. */
export async function getTableStats(db: Queryable, table: string): Promise<TableStats> {
  const resolved = await resolveTable(db, table);
  const rows = await db.query<PgRow>(
    `SELECT count(*) FILTER (WHERE c.relkind = 'r') AS partitions,
            sum(s.seq_scan) AS seq_scan, sum(s.seq_tup_read) AS seq_tup_read,
            sum(coalesce(s.idx_scan, 0)) AS idx_scan, sum(coalesce(s.idx_tup_fetch, 0)) AS idx_tup_fetch,
            sum(s.n_tup_ins) AS n_tup_ins, sum(s.n_tup_upd) AS n_tup_upd, sum(s.n_tup_del) AS n_tup_del,
            sum(s.n_live_tup) AS n_live_tup, sum(s.n_dead_tup) AS n_dead_tup,
            sum(pg_relation_size(c.oid)) AS table_bytes, sum(pg_indexes_size(c.oid)) AS index_bytes,
            sum(pg_total_relation_size(c.oid)) AS total_bytes,
            max(s.last_vacuum) AS last_vacuum, max(s.last_autovacuum) AS last_autovacuum,
            max(s.last_analyze) AS last_analyze, max(s.last_autoanalyze) AS last_autoanalyze
       FROM (SELECT t.relid FROM pg_partition_tree($1::oid::regclass) t WHERE t.isleaf
             UNION
             SELECT $1::oid::regclass) AS rel -- the table itself, whether or not it has partitions
       JOIN pg_class c ON c.oid = rel.relid
       LEFT JOIN pg_stat_user_tables s ON s.relid = rel.relid`,
    [resolved.oid],
  );
  const r = rows[0];
  const seq = num(r.seq_scan);
  const idx = num(r.idx_scan);
  const live = num(r.n_live_tup);
  const dead = num(r.n_dead_tup);
  return {
    schema: resolved.schema,
    table: resolved.name,
    partitioned: resolved.partitioned,
    partitions: num(r.partitions),
    seqScans: seq,
    seqTuplesRead: num(r.seq_tup_read),
    indexScans: idx,
    indexTuplesFetched: num(r.idx_tup_fetch),
    inserts: num(r.n_tup_ins),
    updates: num(r.n_tup_upd),
    deletes: num(r.n_tup_del),
    liveTuples: live,
    deadTuples: dead,
    deadTuplePercent: live + dead > 0 ? (100 * dead) / (live + dead) : 0,
    indexUsagePercent: seq + idx > 0 ? (100 * idx) / (seq + idx) : null,
    tableBytes: num(r.table_bytes),
    indexBytes: num(r.index_bytes),
    totalBytes: num(r.total_bytes),
    lastVacuum: r.last_vacuum ?? null,
    lastAutovacuum: r.last_autovacuum ?? null,
    lastAnalyze: r.last_analyze ?? null,
    lastAutoanalyze: r.last_autoanalyze ?? null,
  };
}
