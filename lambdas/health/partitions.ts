import { MetricDatum, datum } from '../metrics/datum';
import type { Queryable } from '../db/executor';

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
export function partitionMetrics(status: readonly PartitionStatus[]): MetricDatum[] {
  const data: MetricDatum[] = [];
  for (const s of status) {
    data.push(datum('partitionCount', s.partitionCount, { Table: s.table }));
    data.push(datum('partitionSize', s.totalBytes, { Table: s.table }));
    data.push(datum('partitionHeadroom', s.headroomMonths, { Table: s.table }));
    data.push(datum('defaultPartitionRows', s.defaultRows, { Table: s.table }));
  }
  if (status.length > 0) {
    data.push(datum('minPartitionHeadroom', Math.min(...status.map((s) => s.headroomMonths))));
    data.push(datum('totalDefaultPartitionRows', status.reduce((sum, s) => sum + s.defaultRows, 0)));
  }
  return data;
}
