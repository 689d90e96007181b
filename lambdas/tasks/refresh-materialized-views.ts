import { toData } from '../checks/health';
import { stalenessMetrics, viewStaleness } from '../checks/mv-staleness';
import { MetricDatum, datum } from '../metrics/datum';
import { errorText } from './context';
import { eachWithinBudgetSideBySide, qualifiedNameOption, requireManaged } from './shared';
import { TaskContext, defineTask } from './types';

/**
 * Managed analytics relations in refresh order. Since migration 070 they are tables kept by an
 * invalidation log (dbops.analytics_changes), not MATERIALIZED VIEWs: a run recomputes only the
 * buckets the log names, batch by batch, each batch its own short transaction. A full rebuild
 * (095) goes range by range, each range its own transaction, and the next run resumes it.
 */
const RELATIONS_SQL = `
  SELECT mv.view_name, a.view_id IS NOT NULL AS kept, coalesce(a.needs_full, false) AS needs_full,
         a.rebuild_from IS NOT NULL AS rebuilding, a.populated_at IS NOT NULL AS populated, f.pending_since,
         feeder.view_name AS fed_by
    FROM dbops.materialized_views mv
    LEFT JOIN dbops.analytics_relations a ON a.view_name = mv.view_name
    LEFT JOIN dbops.analytics_relations feeder ON feeder.view_id = a.fed_by
    LEFT JOIN dbops.mv_freshness f ON f.view_name = mv.view_name
   WHERE ($1::text IS NULL OR mv.view_name = $1)
   ORDER BY mv.refresh_order, mv.view_name`;

const LOG_SQL = `
  INSERT INTO dbops.mv_refresh_log (view_name, mode, started_at, finished_at, duration_ms, succeeded, error, buckets, rows_changed)
  VALUES ($1, $2, $3, clock_timestamp(), $4, $5, $6, $7, $8)`;

type Mode = 'incremental' | 'full';

type RelationRow = {
  view_name: string;
  kept: boolean;
  needs_full: boolean;
  rebuilding: boolean;
  populated: boolean;
  pending_since: Date | null;
  /** The relation this one is summed from (the rollup: mv_daily_post_metrics since 093, analytics_campaign_totals since 105). */
  fed_by: string | null;
};

interface Refreshed {
  view: string;
  mode: Mode;
  durationMs: number;
  batches: number;
  buckets: number;
  rowsChanged: number;
  /** false when the time budget ran out with buckets still logged or a rebuild unfinished (the next run goes on). */
  complete: boolean;
  /** A relation summed from another that is not built yet: nothing done, the next run tries again. */
  waiting?: string;
}

/** 55000 object_not_in_prerequisite_state: dbops.analytics_rebuild_step's refusal to sum an unbuilt feeder. */
const FEEDER_NOT_BUILT = '55000';

/**
 * Rebuild steps until the rebuild is done or the budget is spent. Returns false when it is left
 * unfinished (the next run resumes it from the cursor the last step left).
 */
async function rebuildSteps(ctx: TaskContext, view: string, rebuildBuckets: number, done: Refreshed): Promise<boolean> {
  for (;;) {
    const [step] = await ctx.maintain<{ buckets: number; rows_changed: string; done: boolean }>(
      `SELECT buckets, rows_changed, done FROM dbops.analytics_rebuild_step($1, $2)`,
      [view, rebuildBuckets],
      { label: `${view}: rebuild step` },
    );
    done.batches += 1;
    done.buckets += Number(step.buckets);
    done.rowsChanged += Number(step.rows_changed);
    if (step.done) return true;
    if (!ctx.budget.allows()) return false;
  }
}

async function refreshOne(ctx: TaskContext, view: string, mode: Mode, buckets: { batch: number; rebuild: number }): Promise<Refreshed> {
  const [{ started }] = await ctx.read<{ started: Date }>('SELECT clock_timestamp() AS started');
  const t0 = Date.now();
  const done: Refreshed = { view, mode, durationMs: 0, batches: 0, buckets: 0, rowsChanged: 0, complete: false };
  try {
    if (mode === 'full' && !(await rebuildSteps(ctx, view, buckets.rebuild, done))) {
      done.durationMs = Date.now() - t0;
      await ctx.read(LOG_SQL, [view, mode, started, done.durationMs, true, null, done.buckets, done.rowsChanged]);
      return done;
    }
    // At least one batch per run, so a budget spent on earlier relations still moves this one
    // (after a rebuild: the writes that committed while it ran).
    do {
      const [batch] = await ctx.maintain<{ buckets: number; rows_changed: string; more: boolean }>(
        `SELECT buckets, rows_changed, more FROM dbops.analytics_refresh_batch($1, $2)`,
        [view, buckets.batch],
        { label: view },
      );
      done.batches += 1;
      done.buckets += Number(batch.buckets);
      done.rowsChanged += Number(batch.rows_changed);
      done.complete = !batch.more;
    } while (!done.complete && ctx.budget.allows());
  } catch (error) {
    done.durationMs = Date.now() - t0;
    if ((error as { code?: string }).code === FEEDER_NOT_BUILT) {
      // Not a failure: the first fill of its feeder spans runs (it was refused before any write).
      done.waiting = errorText(error);
      return done;
    }
    await ctx
      .read(LOG_SQL, [view, mode, started, done.durationMs, false, errorText(error).slice(0, 2000), done.buckets, done.rowsChanged])
      .catch(() => undefined);
    throw error;
  }
  done.durationMs = Date.now() - t0;
  await ctx.read(LOG_SQL, [view, mode, started, done.durationMs, true, null, done.buckets, done.rowsChanged]);
  return done;
}

export const refreshMaterializedViews = defineTask({
  name: 'refresh-materialized-views',
  description:
    'Recompute the analytics buckets touched since the last run (dbops.analytics_changes, plus SLA deadlines passed), per relation in refresh_order on `parallel` sessions side by side, in short batches; full=true rebuilds each relation range by range (resumed by the next run when the budget runs out); logged in dbops.mv_refresh_log',
  statementTimeoutMs: 5 * 60_000,
  options: {
    view: qualifiedNameOption('Only this managed relation (schema.name)', 'managed-materialized-view'),
    full: {
      type: 'boolean',
      description:
        'Rebuild each relation from the base tables, a range of keys per transaction; a run that runs out of budget leaves the rest to the next (repair after a TRUNCATE, a restore or a capture bug; readers are not blocked)',
    },
    // 5,000: a spec-rate hour at medium logs about 45,000 post buckets; batches of 500 spent a
    // third of the refresh on per-batch planning, and 5,000 buckets still commit in well under a second.
    batchBuckets: { type: 'integer', min: 1, max: 100_000, default: 5000, description: 'Buckets recomputed per transaction' },
    // 1,000: a rebuild step of a daily relation takes whole (workspace, day) buckets of the biggest
    // tenants, which the hourly batches rarely see (5,000 of them took 6.0 s at medium).
    rebuildBuckets: { type: 'integer', min: 1, max: 100_000, default: 1000, description: 'Buckets (or keys) recomputed per transaction of a rebuild' },
    // 2: the relations share no rows (each has its own lock), so they can be recomputed side by
    // side; the rollup alone is about half of a spec-rate hour. More sessions than the writer has
    // spare cores would only queue, and no more are opened than the executor's pool allows beside
    // the task's own (the Lambda's pool of 2: one more; the Data API: none).
    parallel: {
      type: 'integer',
      min: 1,
      max: 4,
      default: 2,
      description: 'Sessions recomputing relations side by side, no more than the pool holds (a relation summed from another starts once that one is through)',
    },
  },
  async run(ctx, options) {
    const only = options.view ? await requireManaged(ctx, 'dbops.materialized_views', 'view_name', options.view) : null;
    const relations = await ctx.read<RelationRow>(RELATIONS_SQL, [only]);
    const modeOf = (r: RelationRow): Mode => (options.full || r.needs_full || r.rebuilding ? 'full' : 'incremental');
    const refreshed: Refreshed[] = [];
    ctx.progress.refreshed = refreshed;
    if (ctx.dryRun) {
      return {
        summary: {
          wouldRefresh: relations.map((r) => ({ view: r.view_name, mode: modeOf(r), kept: r.kept, pendingSince: r.pending_since })),
        },
        metrics: [],
      };
    }
    if (options.full) {
      // Recorded before any step, so a rebuild the budget does not reach this run is still done by the next ones.
      await ctx.maintain(`SELECT dbops.analytics_request_rebuild(v) FROM unnest($1::text[]) v`, [relations.filter((r) => r.kept).map((r) => r.view_name)], {
        label: 'full rebuild requested',
      });
    }
    const metrics: MetricDatum[] = [];
    const incomplete: string[] = [];
    const { remaining, failures } = await eachWithinBudgetSideBySide(
      ctx,
      relations,
      (r) => r.view_name,
      options.parallel,
      async (r, lane) => {
        if (!r.kept) throw new Error(`${r.view_name} is registered in dbops.materialized_views but not in dbops.analytics_relations (nothing keeps it)`);
        const result = await refreshOne(lane, r.view_name, modeOf(r), {
          batch: options.batchBuckets,
          rebuild: options.rebuildBuckets,
        });
        refreshed.push(result);
        if (!result.complete) incomplete.push(r.view_name);
        metrics.push(datum('viewRefreshDuration', result.durationMs, { View: r.view_name }));
      },
      // A feeder's rebuild marks what it feeds for one, which must then sum the rebuilt feeder.
      (r) => (r.fed_by && relations.some((x) => x.view_name === r.fed_by) ? r.fed_by : null),
    );
    // Lanes finish in any order; report in refresh order.
    const order = relations.map((r) => r.view_name);
    refreshed.sort((x, y) => order.indexOf(x.view) - order.indexOf(y.view));
    const freshness = (await viewStaleness(ctx.reader)) ?? [];
    metrics.push(...toData(stalenessMetrics(freshness)));
    const warnings = [
      ...(ctx.driver === 'data-api' ? ['Data API: a statement longer than 45 s is cut off (and rolled back): lower batchBuckets'] : []),
      ...refreshed.filter((r) => r.waiting).map((r) => `${r.view}: waiting, ${r.waiting}`),
    ];
    return {
      summary: {
        refreshed,
        bucketsRecomputed: refreshed.reduce((s, r) => s + r.buckets, 0),
        rowsChanged: refreshed.reduce((s, r) => s + r.rowsChanged, 0),
        staleness: Object.fromEntries(freshness.map((f) => [f.view, f.stalenessSeconds])),
      },
      metrics,
      remaining: [...incomplete, ...remaining],
      failures,
      warnings,
    };
  },
});
