import { toData } from '../checks/health';
import { partitionMetrics, partitionStatus } from '../checks/partitions';
import { eachWithinBudget, qualifiedNameOption, requireManaged } from './shared';
import { defineTask } from './types';

const DROP_SQL = `
  SELECT table_name, partition_name, range_start, range_end, dropped
    FROM dbops.drop_old_partitions(p_table => $1, p_retention_months => $2, p_dry_run => $3)`;

export const dropOldPartitions = defineTask({
  name: 'drop-old-partitions',
  description: 'Detach and drop monthly partitions older than the retention (dbops.drop_old_partitions); dryRun lists them',
  statementTimeoutMs: 5 * 60_000,
  options: {
    table: qualifiedNameOption('Only this managed table (schema.table)', 'managed-partitioned-table'),
    retentionMonths: { type: 'integer', min: 1, max: 1200, description: 'Overrides PARTITION_RETENTION_MONTHS for this run' },
  },
  async run(ctx, options) {
    const tables = options.table
      ? [await requireManaged(ctx, 'dbops.partitioned_tables', 'table_name', options.table)]
      : (await ctx.read<{ table_name: string }>('SELECT table_name FROM dbops.partitioned_tables ORDER BY table_name')).map((r) => r.table_name);
    const retention = options.retentionMonths ?? ctx.retentionMonths ?? null;
    const listed: { table: string; partition: string; rangeStart: Date; rangeEnd: Date; dropped: boolean }[] = [];
    ctx.progress.partitions = listed;
    const { remaining, failures } = await eachWithinBudget(ctx, tables, (t) => t, async (table) => {
      // Dry run goes through the same function with p_dry_run, so it lists exactly what a real run drops.
      const run = ctx.dryRun ? ctx.read.bind(ctx) : (text: string, params: readonly unknown[]) => ctx.maintain(text, params, { label: table });
      const rows = await run(DROP_SQL, [table, retention, ctx.dryRun]);
      for (const r of rows as { partition_name: string; range_start: Date; range_end: Date; dropped: boolean }[]) {
        listed.push({ table, partition: r.partition_name, rangeStart: r.range_start, rangeEnd: r.range_end, dropped: r.dropped });
      }
    });
    const status = (await partitionStatus(ctx.reader)) ?? [];
    return {
      summary: {
        retentionMonths: retention ?? 'per table (dbops.partitioned_tables.retention_months)',
        dryRun: ctx.dryRun,
        dropped: listed.filter((p) => p.dropped).map((p) => `${p.table}: ${p.partition}`),
        ...(ctx.dryRun ? { wouldDrop: listed.map((p) => `${p.table}: ${p.partition}`) } : {}),
      },
      metrics: toData(partitionMetrics(status)),
      remaining,
      failures,
    };
  },
});
