import { toData } from '../checks/health';
import { partitionMetrics, partitionStatus } from '../checks/partitions';
import { eachWithinBudget, qualifiedNameOption, requireManaged } from './shared';
import { defineTask } from './types';

const CREATE_SQL = `
  SELECT table_name, partition_name, range_start, range_end, created, rows_moved::bigint AS rows_moved
    FROM dbops.create_monthly_partitions(p_table => $1, p_months_ahead => $2, p_include_default_months => $3)`;

export const createPartitions = defineTask({
  name: 'create-partitions',
  description: 'Create the current and upcoming monthly partitions (dbops.create_monthly_partitions), moving rows out of the default partition',
  statementTimeoutMs: 5 * 60_000,
  options: {
    table: qualifiedNameOption('Only this managed table (schema.table)', 'managed-partitioned-table'),
    monthsAhead: { type: 'integer', min: 1, max: 120, description: "Months after the current one (default: the table's premake_months)" },
    includeDefaultMonths: {
      type: 'boolean',
      default: true,
      description: 'Also create every month that has rows in the default partition, moving them out',
    },
  },
  async run(ctx, options) {
    const tables = options.table
      ? [await requireManaged(ctx, 'dbops.partitioned_tables', 'table_name', options.table)]
      : (await ctx.read<{ table_name: string }>('SELECT table_name FROM dbops.partitioned_tables ORDER BY table_name')).map((r) => r.table_name);
    const created: { table: string; partition: string; rowsMoved: number }[] = [];
    ctx.progress.created = created;
    let remaining: string[] = [];
    let failures: { item: string; error: string }[] = [];
    if (!ctx.dryRun) {
      // One table per statement: each is its own short transaction under lock_timeout.
      ({ remaining, failures } = await eachWithinBudget(ctx, tables, (t) => t, async (table) => {
        const rows = await ctx.maintain<{ partition_name: string; created: boolean; rows_moved: string }>(
          CREATE_SQL,
          [table, options.monthsAhead ?? null, options.includeDefaultMonths],
          { label: table },
        );
        for (const row of rows.filter((r) => r.created)) created.push({ table, partition: row.partition_name, rowsMoved: Number(row.rows_moved) });
      }));
    }
    const status = (await partitionStatus(ctx.reader)) ?? [];
    return {
      summary: {
        partitionsCreated: created.length,
        created,
        rowsMoved: created.reduce((sum, c) => sum + c.rowsMoved, 0),
        headroomMonths: Object.fromEntries(status.map((s) => [s.table, s.headroomMonths])),
        defaultPartitionRows: Object.fromEntries(status.map((s) => [s.table, s.defaultRows])),
        ...(ctx.dryRun ? { dryRun: 'nothing created; status only' } : {}),
      },
      metrics: toData(partitionMetrics(status)),
      remaining,
      failures,
    };
  },
});
