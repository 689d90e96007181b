import { percent } from './format';
import type { HealthCheck } from './health';
import type { Queryable } from './queryable';

/** Client backends against max_connections (PgHero: connection warning at 90 %, ours at 80 %). */
export const CONNECTIONS_SQL = `
  SELECT count(*)::int AS used,
         current_setting('max_connections')::int AS max,
         100.0 * count(*) / current_setting('max_connections')::int AS percent
    FROM pg_stat_activity
   WHERE backend_type = 'client backend'`;

export interface ConnectionUse {
  used: number;
  max: number;
  percent: number;
}

export async function connectionUse(db: Queryable): Promise<ConnectionUse> {
  const [row] = await db.query<{ used: number; max: number; percent: string }>(CONNECTIONS_SQL);
  return { used: Number(row.used), max: Number(row.max), percent: Number(row.percent) };
}

export const connectionsCheck: HealthCheck<{ connections: ConnectionUse }> = {
  name: 'connections',
  run: async (db) => ({ connections: await connectionUse(db) }),
  metrics: ({ connections }) => [['connectionUtilization', connections.percent]],
  summary: ({ connections }) => ({ connectionUtilizationPercent: connections.percent }),
  rows: ({ connections }) => [{ check: 'connection utilization', value: percent(connections.percent), detail: `${connections.used} of ${connections.max}` }],
};
