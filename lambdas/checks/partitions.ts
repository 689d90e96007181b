import { formatBytes } from './format';
import type { HealthCheck, HealthDatum } from './health';
import type { Queryable } from './queryable';

/** Partition count, size, headroom and default-partition rows per managed table (dbops.partition_status). */
export const PARTITIONS_SQL = `
  SELECT table_name, partition_count, total_bytes, default_rows, headroom_months, newest_partition_end
    FROM dbops.partition_status
   ORDER BY table_name`;

export interface PartitionStatus {
  table: string;
  partitionCount: number;
  totalBytes: number;
  defaultRows: number;
  headroomMonths: number;
  newestPartitionEnd: Date | null;
}

export async function partitionStatus(db: Queryable): Promise<PartitionStatus[] | undefined> {
  const [{ present }] = await db.query<{ present: boolean }>(`SELECT to_regclass('dbops.partition_status') IS NOT NULL AS present`);
  if (!present) return undefined;
  const rows = await db.query<{
    table_name: string;
    partition_count: number;
    total_bytes: string;
    default_rows: string;
    headroom_months: number;
    newest_partition_end: Date | null;
  }>(PARTITIONS_SQL);
  return rows.map((r) => ({
    table: r.table_name,
    partitionCount: Number(r.partition_count),
    totalBytes: Number(r.total_bytes),
    defaultRows: Number(r.default_rows),
    headroomMonths: Number(r.headroom_months),
    newestPartitionEnd: r.newest_partition_end,
  }));
}

/** Per-table partition metrics plus the two the alarms watch: least headroom, rows in default partitions. */
export function partitionMetrics(status: readonly PartitionStatus[]): HealthDatum[] {
  const data: HealthDatum[] = [];
  for (const s of status) {
    data.push(['partitionCount', s.partitionCount, { Table: s.table }]);
    data.push(['partitionSize', s.totalBytes, { Table: s.table }]);
    data.push(['partitionHeadroom', s.headroomMonths, { Table: s.table }]);
    data.push(['defaultPartitionRows', s.defaultRows, { Table: s.table }]);
  }
  if (status.length > 0) {
    data.push(['minPartitionHeadroom', Math.min(...status.map((s) => s.headroomMonths))]);
    data.push(['totalDefaultPartitionRows', status.reduce((sum, s) => sum + s.defaultRows, 0)]);
  }
  return data;
}

export const partitionsCheck: HealthCheck<{ partitions?: PartitionStatus[] }> = {
  name: 'partitions',
  run: async (db) => ({ partitions: await partitionStatus(db) }),
  metrics: (r) => partitionMetrics(r.partitions ?? []),
  summary: (r) => ({ partitions: r.partitions ?? 'dbops.partition_status not installed' }),
  rows: (r) =>
    (r.partitions ?? []).map((p) => ({
      check: `partitions ${p.table}`,
      value: `${p.partitionCount} (${formatBytes(p.totalBytes)})`,
      detail: `headroom ${p.headroomMonths} months, ${p.defaultRows} rows in default`,
    })),
};
