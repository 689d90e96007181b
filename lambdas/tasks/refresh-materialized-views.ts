import { toData } from '../checks/health';
import { stalenessMetrics, viewStaleness } from '../checks/mv-staleness';
import { MetricDatum, datum } from '../metrics/datum';
import { errorText } from './context';
import { eachWithinBudget, qualifiedNameOption, requireManaged } from './shared';
import { TaskContext, defineTask } from './types';

/**
 * Managed analytics relations in refresh order. Since migration 070 they are tables kept by an
 * invalidation log (dbops.analytics_changes), not MATERIALIZED VIEWs: a run recomputes only the
 * buckets the log names, batch by batch, each batch its own short transaction.
 */
const RELATIONS_SQL = `
  SELECT mv.view_name, a.view_id IS NOT NULL AS kept, coalesce(a.needs_full, false) AS needs_full,
         a.populated_at IS NOT NULL AS populated, f.pending_since
    FROM dbops.materialized_views mv
    LEFT JOIN dbops.analytics_relations a ON a.view_name = mv.view_name
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
  populated: boolean;
  pending_since: Date | null;
};

interface Refreshed {
  view: string;
  mode: Mode;
  durationMs: number;
  batches: number;
  buckets: number;
  rowsChanged: number;
  /** false when the time budget ran out with buckets still logged (the next run goes on). */
  complete: boolean;
}

async function refreshOne(ctx: TaskContext, view: string, mode: Mode, batchBuckets: number): Promise<Refreshed> {
  const [{ started }] = await ctx.read<{ started: Date }>('SELECT clock_timestamp() AS started');
  const t0 = Date.now();
  const done: Refreshed = { view, mode, durationMs: 0, batches: 0, buckets: 0, rowsChanged: 0, complete: false };
  try {
    if (mode === 'full') {
      const [rebuilt] = await ctx.maintain<{ buckets: string; rows_changed: string }>(
        `SELECT buckets, rows_changed FROM dbops.analytics_rebuild($1)`,
        [view],
        { label: `${view}: full rebuild` },
      );
      done.batches = 1;
      done.buckets = Number(rebuilt.buckets);
      done.rowsChanged = Number(rebuilt.rows_changed);
    }
    // At least one batch per run, so a budget spent on earlier relations still moves this one
    // (after a full rebuild: the writes that committed while it ran).
    do {
      const [batch] = await ctx.maintain<{ buckets: number; rows_changed: string; more: boolean }>(
        `SELECT buckets, rows_changed, more FROM dbops.analytics_refresh_batch($1, $2)`,
        [view, batchBuckets],
        { label: view },
      );
      done.batches += 1;
      done.buckets += Number(batch.buckets);
      done.rowsChanged += Number(batch.rows_changed);
      done.complete = !batch.more;
    } while (!done.complete && ctx.budget.allows());
  } catch (error) {
    done.durationMs = Date.now() - t0;
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
    'Recompute the analytics buckets touched since the last run (dbops.analytics_changes, plus SLA deadlines passed), per relation in refresh_order, in short batches; full=true rebuilds each relation in one set-based statement; logged in dbops.mv_refresh_log',
  statementTimeoutMs: 5 * 60_000,
  options: {
    view: qualifiedNameOption('Only this managed relation (schema.name)', 'managed-materialized-view'),
    full: {
      type: 'boolean',
      description: 'Rebuild each relation from its live definition in one set-based statement per relation (repair after a TRUNCATE, a restore or a capture bug; readers are not blocked)',
    },
    // 5,000: a spec-rate hour at medium logs about 45,000 post buckets; batches of 500 spent a
    // third of the refresh on per-batch planning, and 5,000 buckets still commit in well under a second.
    batchBuckets: { type: 'integer', min: 1, max: 100_000, default: 5000, description: 'Buckets recomputed per transaction' },
  },
  async run(ctx, options) {
    const only = options.view ? await requireManaged(ctx, 'dbops.materialized_views', 'view_name', options.view) : null;
    const relations = await ctx.read<RelationRow>(RELATIONS_SQL, [only]);
    const modeOf = (r: RelationRow): Mode => (options.full || r.needs_full ? 'full' : 'incremental');
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
    const metrics: MetricDatum[] = [];
    const incomplete: string[] = [];
    const { remaining, failures } = await eachWithinBudget(ctx, relations, (r) => r.view_name, async (r) => {
      if (!r.kept) throw new Error(`${r.view_name} is registered in dbops.materialized_views but not in dbops.analytics_relations (nothing keeps it)`);
      const result = await refreshOne(ctx, r.view_name, modeOf(r), options.batchBuckets ?? 5000);
      refreshed.push(result);
      if (!result.complete) incomplete.push(r.view_name);
      metrics.push(datum('viewRefreshDuration', result.durationMs, { View: r.view_name }));
    });
    const freshness = (await viewStaleness(ctx.reader)) ?? [];
    metrics.push(...toData(stalenessMetrics(freshness)));
    const warnings = ctx.driver === 'data-api' ? ['Data API: a statement longer than 45 s is cut off (and rolled back): lower batchBuckets, and run full=true with DBOPS_DRIVER=pg'] : [];
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
