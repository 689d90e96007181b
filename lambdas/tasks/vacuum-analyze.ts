import { quoteQualified } from '../db/session-settings';
import { eachWithinBudget, qualifiedNameOption, qualify } from './shared';
import { defineTask } from './types';

/**
 * Leaf tables (partitions included, partitioned parents excluded: VACUUM on a parent only
 * recurses), worst dead-tuple share first and, among equals, the one vacuumed longest ago, so a
 * run cut short by its budget leaves the least urgent tables for the next one.
 */
const CANDIDATES_SQL = `
  SELECT format('%I.%I', s.schemaname, s.relname) AS table_name,
         s.n_live_tup::bigint AS live, s.n_dead_tup::bigint AS dead,
         coalesce(100.0 * s.n_dead_tup / nullif(s.n_live_tup + s.n_dead_tup, 0), 0)::float8 AS dead_percent
    FROM pg_stat_user_tables s
    JOIN pg_class c ON c.oid = s.relid
   WHERE c.relkind IN ('r', 'm')
     AND ($1::text IS NULL OR format('%I.%I', s.schemaname, s.relname) = $1)
     AND ($2 OR s.n_dead_tup >= $3 OR greatest(s.last_vacuum, s.last_autovacuum) IS NULL)
   ORDER BY dead_percent DESC, greatest(s.last_vacuum, s.last_autovacuum) ASC NULLS FIRST, s.n_dead_tup DESC, table_name`;

export const vacuumAnalyze = defineTask({
  name: 'vacuum-analyze',
  description: 'VACUUM (ANALYZE) each table, worst dead-tuple share first; never inside a transaction',
  statementTimeoutMs: 30 * 60_000,
  options: {
    table: qualifiedNameOption('Only this table (schema.table)', 'table'),
    all: { type: 'boolean', default: false, description: 'Also tables without dead tuples that were vacuumed before' },
    minDeadTuples: { type: 'integer', min: 0, max: 1e12, default: 1, description: 'Skip tables with fewer dead tuples' },
  },
  async run(ctx, options) {
    const tables = await ctx.read<{ table_name: string; live: string; dead: string; dead_percent: number }>(CANDIDATES_SQL, [
      options.table ? qualify(options.table) : null,
      options.all,
      options.minDeadTuples,
    ]);
    const vacuumed: { table: string; deadBefore: number; deadPercentBefore: number; durationMs: number }[] = [];
    ctx.progress.vacuumed = vacuumed;
    if (ctx.dryRun) {
      return {
        summary: { wouldVacuum: tables.map((t) => ({ table: t.table_name, dead: Number(t.dead), deadPercent: round(t.dead_percent) })) },
        metrics: [],
      };
    }
    const { remaining, failures } = await eachWithinBudget(
      ctx,
      tables,
      (t) => t.table_name,
      async (t) => {
        const started = Date.now();
        await ctx.maintain(`VACUUM (ANALYZE) ${quoteQualified(t.table_name)}`, [], { label: t.table_name, noTransaction: true });
        vacuumed.push({ table: t.table_name, deadBefore: Number(t.dead), deadPercentBefore: round(t.dead_percent), durationMs: Date.now() - started });
      },
    );
    const warnings = ctx.driver === 'data-api' ? ['Data API: VACUUM runs without lock_timeout (no session state) and is cut off after 45 s per table'] : [];
    return {
      summary: { candidates: tables.length, vacuumed },
      // Dead-tuple shares are published by health-check from the statistics, not guessed here.
      metrics: [],
      remaining,
      failures,
      warnings,
    };
  },
});

function round(value: number): number {
  return Math.round(Number(value) * 100) / 100;
}
