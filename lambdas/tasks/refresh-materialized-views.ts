import { quoteQualified } from '../db/session-settings';
import { toData } from '../checks/health';
import { stalenessMetrics, viewStaleness } from '../checks/mv-staleness';
import { MetricDatum, datum } from '../metrics/datum';
import { errorText } from './context';
import { eachWithinBudget, qualifiedNameOption, requireManaged } from './shared';
import { TaskContext, defineTask } from './types';

/** Managed views in refresh order, with whether Postgres considers each populated. */
const VIEWS_SQL = `
  SELECT mv.view_name, m.ispopulated AS populated, m.matviewname IS NOT NULL AS present
    FROM dbops.materialized_views mv
    LEFT JOIN pg_matviews m ON format('%I.%I', m.schemaname, m.matviewname) = mv.view_name
   WHERE ($1::text IS NULL OR mv.view_name = $1)
   ORDER BY mv.refresh_order, mv.view_name`;

const LOG_SQL = `
  INSERT INTO dbops.mv_refresh_log (view_name, mode, started_at, finished_at, duration_ms, succeeded, error)
  VALUES ($1, $2, $3, clock_timestamp(), $4, $5, $6)`;

type Mode = 'concurrently' | 'complete';

async function refreshOne(ctx: TaskContext, view: string, populated: boolean): Promise<{ mode: Mode; durationMs: number }> {
  // CONCURRENTLY is refused on a view that was never filled (040 creates them WITH NO DATA);
  // the first fill is a plain refresh, which nobody can be reading from yet anyway.
  const mode: Mode = populated ? 'concurrently' : 'complete';
  const [{ started }] = await ctx.read<{ started: Date }>('SELECT clock_timestamp() AS started');
  const t0 = Date.now();
  try {
    await ctx.maintain(`REFRESH MATERIALIZED VIEW ${mode === 'concurrently' ? 'CONCURRENTLY ' : ''}${quoteQualified(view)}`, [], { label: view });
  } catch (error) {
    const durationMs = Date.now() - t0;
    await ctx.read(LOG_SQL, [view, mode, started, durationMs, false, errorText(error).slice(0, 2000)]).catch(() => undefined);
    throw error;
  }
  const durationMs = Date.now() - t0;
  await ctx.read(LOG_SQL, [view, mode, started, durationMs, true, null]);
  return { mode, durationMs };
}

export const refreshMaterializedViews = defineTask({
  name: 'refresh-materialized-views',
  description: 'REFRESH MATERIALIZED VIEW CONCURRENTLY each managed view in refresh_order (plain refresh while unpopulated), logged in dbops.mv_refresh_log',
  statementTimeoutMs: 15 * 60_000,
  options: {
    view: qualifiedNameOption('Only this managed view (schema.view)'),
  },
  async run(ctx, options) {
    const only = options.view ? await requireManaged(ctx, 'dbops.materialized_views', 'view_name', options.view) : null;
    const views = await ctx.read<{ view_name: string; populated: boolean | null; present: boolean }>(VIEWS_SQL, [only]);
    const refreshed: { view: string; mode: Mode; durationMs: number }[] = [];
    ctx.progress.refreshed = refreshed;
    if (ctx.dryRun) {
      return {
        summary: { wouldRefresh: views.map((v) => ({ view: v.view_name, mode: v.populated ? 'concurrently' : 'complete', present: v.present })) },
        metrics: [],
      };
    }
    const metrics: MetricDatum[] = [];
    const { remaining, failures } = await eachWithinBudget(ctx, views, (v) => v.view_name, async (v) => {
      if (!v.present) throw new Error(`${v.view_name} is registered in dbops.materialized_views but does not exist`);
      const result = await refreshOne(ctx, v.view_name, Boolean(v.populated));
      refreshed.push({ view: v.view_name, ...result });
      metrics.push(datum('viewRefreshDuration', result.durationMs, { View: v.view_name }));
    });
    const freshness = (await viewStaleness(ctx.reader)) ?? [];
    metrics.push(...toData(stalenessMetrics(freshness)));
    const warnings = ctx.driver === 'data-api' ? ['Data API: a refresh longer than 45 s is cut off (and rolled back); use DBOPS_DRIVER=pg for large views'] : [];
    return {
      summary: {
        refreshed,
        staleness: Object.fromEntries(freshness.map((f) => [f.view, f.stalenessSeconds])),
      },
      metrics,
      remaining,
      failures,
      warnings,
    };
  },
});
