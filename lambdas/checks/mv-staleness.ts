import type { HealthCheck, HealthDatum } from './health';
import type { Queryable } from './queryable';

/**
 * Freshness of the analytics relations, from dbops.mv_freshness: since 070 the age of the oldest
 * change not yet applied (the invalidation log, or an SLA deadline passed since the last clock);
 * before a relation is first built, the age of its last refresh (dbops.mv_refresh_log) or of its
 * registration.
 */
export const MV_STALENESS_SQL = `
  SELECT view_name, populated, last_refreshed_at, staleness_seconds::float8 AS staleness_seconds, age_seconds::float8 AS age_seconds
    FROM dbops.mv_freshness
   ORDER BY view_name`;

export interface ViewStaleness {
  view: string;
  populated: boolean;
  lastRefreshedAt: Date | null;
  /** null when the view was never refreshed successfully. */
  stalenessSeconds: number | null;
  /** stalenessSeconds, or since registration when never refreshed: what is published. */
  ageSeconds: number;
}

export async function viewStaleness(db: Queryable): Promise<ViewStaleness[] | undefined> {
  const [{ present }] = await db.query<{ present: boolean }>(`SELECT to_regclass('dbops.mv_freshness') IS NOT NULL AS present`);
  if (!present) return undefined;
  const rows = await db.query<{ view_name: string; populated: boolean; last_refreshed_at: Date | null; staleness_seconds: number | null; age_seconds: number }>(MV_STALENESS_SQL);
  return rows.map((r) => ({
    view: r.view_name,
    populated: Boolean(r.populated),
    lastRefreshedAt: r.last_refreshed_at,
    stalenessSeconds: r.staleness_seconds === null ? null : Number(r.staleness_seconds),
    ageSeconds: Number(r.age_seconds),
  }));
}

/** Per-view staleness and the stalest view; a never-refreshed view counts from its registration. */
export function stalenessMetrics(views: readonly ViewStaleness[]): HealthDatum[] {
  const data = views.map((v): HealthDatum => ['viewStaleness', v.ageSeconds, { View: v.view }]);
  if (views.length > 0) data.push(['maxViewStaleness', Math.max(...views.map((v) => v.ageSeconds))]);
  return data;
}

export const viewStalenessCheck: HealthCheck<{ views?: ViewStaleness[] }> = {
  name: 'view staleness',
  run: async (db) => ({ views: await viewStaleness(db) }),
  metrics: (r) => stalenessMetrics(r.views ?? []),
  summary: (r) => ({ views: r.views ?? 'dbops.mv_freshness not installed' }),
  rows: (r) =>
    (r.views ?? []).map((v) => ({
      check: `staleness ${v.view}`,
      value: v.stalenessSeconds === null ? 'never refreshed' : `${v.stalenessSeconds.toFixed(0)} s`,
      detail: v.populated ? 'populated' : 'not populated',
    })),
};
