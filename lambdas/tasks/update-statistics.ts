import { quoteQualified } from '../db/session-settings';
import { eachWithinBudget, qualifiedNameOption, qualify } from './shared';
import { defineTask } from './types';

/**
 * Tables whose rows changed enough since their last ANALYZE: at least $2 rows, or at least $3 %
 * of the live rows; never-analyzed tables with rows always qualify. Most changed first.
 */
const CANDIDATES_SQL = `
  SELECT format('%I.%I', s.schemaname, s.relname) AS table_name,
         s.n_live_tup::bigint AS live, s.n_mod_since_analyze::bigint AS modified
    FROM pg_stat_user_tables s
    JOIN pg_class c ON c.oid = s.relid
   WHERE c.relkind IN ('r', 'm')
     AND ($1::text IS NULL OR format('%I.%I', s.schemaname, s.relname) = $1)
     AND s.n_mod_since_analyze > 0
     AND (s.n_mod_since_analyze >= $2
          OR s.n_mod_since_analyze >= $3::float8 / 100 * s.n_live_tup
          OR greatest(s.last_analyze, s.last_autoanalyze) IS NULL)
   ORDER BY s.n_mod_since_analyze DESC, greatest(s.last_analyze, s.last_autoanalyze) ASC NULLS FIRST, table_name`;

/**
 * Autovacuum never analyzes a partitioned table itself (only its partitions), so the planner has
 * no parent-level statistics unless someone runs ANALYZE on it: parents never analyzed, or not
 * for parentMaxAgeHours, are analyzed last (it samples every partition, so it costs the most).
 */
const PARENTS_SQL = `
  SELECT format('%I.%I', s.schemaname, s.relname) AS table_name, 0::bigint AS live, s.n_mod_since_analyze::bigint AS modified
    FROM pg_stat_user_tables s
    JOIN pg_class c ON c.oid = s.relid
   WHERE c.relkind = 'p'
     AND ($1::text IS NULL OR format('%I.%I', s.schemaname, s.relname) = $1)
     AND (greatest(s.last_analyze, s.last_autoanalyze) IS NULL
          OR greatest(s.last_analyze, s.last_autoanalyze) < now() - make_interval(hours => $2))
   ORDER BY greatest(s.last_analyze, s.last_autoanalyze) ASC NULLS FIRST, table_name`;

export const updateStatistics = defineTask({
  name: 'update-statistics',
  description: 'ANALYZE tables whose modifications since the last ANALYZE pass a threshold',
  // PgHero's ANALYZE: statement_timeout 120 s.
  statementTimeoutMs: 120_000,
  options: {
    table: qualifiedNameOption('Only this table (schema.table)', 'table'),
    minModifiedRows: { type: 'integer', min: 1, max: 1e12, default: 1000, description: 'Absolute threshold of n_mod_since_analyze' },
    minModifiedPercent: { type: 'number', min: 0, max: 100, default: 10, description: 'Threshold relative to n_live_tup' },
    parentMaxAgeHours: { type: 'integer', min: 1, max: 24 * 365, default: 168, description: 'Re-analyze partitioned parents after this long' },
  },
  async run(ctx, options) {
    const only = options.table ? qualify(options.table) : null;
    const leaves = await ctx.read<{ table_name: string; live: string; modified: string }>(CANDIDATES_SQL, [
      only,
      options.minModifiedRows,
      options.minModifiedPercent,
    ]);
    const parents = await ctx.read<{ table_name: string; live: string; modified: string }>(PARENTS_SQL, [only, options.parentMaxAgeHours]);
    const parentNames = new Set(parents.map((p) => p.table_name));
    const tables = [...leaves, ...parents];
    const analyzed: { table: string; modifiedBefore: number; liveRows: number; partitionedParent?: true }[] = [];
    ctx.progress.analyzed = analyzed;
    if (ctx.dryRun) {
      return { summary: { wouldAnalyze: tables.map((t) => ({ table: t.table_name, modified: Number(t.modified), live: Number(t.live) })) }, metrics: [] };
    }
    const { remaining, failures } = await eachWithinBudget(
      ctx,
      tables,
      (t) => t.table_name,
      async (t) => {
        await ctx.maintain(`ANALYZE ${quoteQualified(t.table_name)}`, [], { label: t.table_name });
        analyzed.push({
          table: t.table_name,
          modifiedBefore: Number(t.modified),
          liveRows: Number(t.live),
          ...(parentNames.has(t.table_name) ? { partitionedParent: true as const } : {}),
        });
      },
    );
    return { summary: { candidates: tables.length, analyzed }, metrics: [], remaining, failures };
  },
});
