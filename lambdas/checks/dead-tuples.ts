import { percent } from './format';
import type { HealthCheck, HealthDatum } from './health';
import type { Queryable } from './queryable';

/**
 * Dead-tuple share per table, worst first; tiny tables are left out because a handful of dead
 * rows there is a big percentage and no problem. Also what vacuum-analyze orders its work by:
 * ties go to the table vacuumed longest ago.
 */
export const DEAD_TUPLES_SQL = `
  SELECT format('%I.%I', schemaname, relname) AS table_name,
         n_live_tup::bigint AS live,
         n_dead_tup::bigint AS dead,
         (100.0 * n_dead_tup / nullif(n_live_tup + n_dead_tup, 0))::float8 AS dead_percent,
         greatest(last_vacuum, last_autovacuum) AS last_vacuumed_at
    FROM pg_stat_user_tables
   WHERE n_live_tup + n_dead_tup >= $1
   ORDER BY dead_percent DESC NULLS LAST, greatest(last_vacuum, last_autovacuum) ASC NULLS FIRST, relname`;

export interface DeadTuples {
  table: string;
  live: number;
  dead: number;
  deadPercent: number;
  lastVacuumedAt: Date | null;
}

export async function deadTuples(db: Queryable, minRows = 1000): Promise<DeadTuples[]> {
  const rows = await db.query<{ table_name: string; live: string; dead: string; dead_percent: number | null; last_vacuumed_at: Date | null }>(
    DEAD_TUPLES_SQL,
    [minRows],
  );
  return rows.map((r) => ({
    table: r.table_name,
    live: Number(r.live),
    dead: Number(r.dead),
    deadPercent: Number(r.dead_percent ?? 0),
    lastVacuumedAt: r.last_vacuumed_at,
  }));
}

export const deadTuplesCheck: HealthCheck<{ deadTuples: DeadTuples[]; maxDeadTuplePercent: number }> = {
  name: 'dead tuples',
  run: async (db, o) => {
    const dead = await deadTuples(db, o.deadTupleMinRows);
    return { deadTuples: dead, maxDeadTuplePercent: dead.reduce((max, d) => Math.max(max, d.deadPercent), 0) };
  },
  metrics: (r, o) => [
    ['maxDeadTuplePercent', r.maxDeadTuplePercent],
    ...r.deadTuples.slice(0, o.maxPerTableMetrics).map((d): HealthDatum => ['deadTuplePercent', d.deadPercent, { Table: d.table }]),
  ],
  summary: (r) => ({ maxDeadTuplePercent: r.maxDeadTuplePercent, worstDeadTupleTables: r.deadTuples.slice(0, 5) }),
  rows: (r) => [{ check: 'max dead tuples', value: percent(r.maxDeadTuplePercent), detail: r.deadTuples[0]?.table ?? '-' }],
};
