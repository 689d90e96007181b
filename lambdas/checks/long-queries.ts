import type { HealthCheck } from './health';
import type { Queryable } from './queryable';

/** Active statements older than a threshold, oldest first; our own backend is left out. */
export const LONG_QUERIES_SQL = `
  SELECT pid,
         usename AS user_name,
         state,
         extract(epoch FROM now() - query_start)::float8 AS duration_seconds,
         query_start::text AS query_start,
         application_name,
         left(query, 200) AS query
    FROM pg_stat_activity
   WHERE state <> 'idle'
     AND pid <> pg_backend_pid()
     AND backend_type = 'client backend'
     AND query_start < now() - make_interval(secs => $1)
   ORDER BY query_start`;

export interface LongQuery {
  pid: number;
  user: string | null;
  /** 'active', or 'idle in transaction' (holding locks and a snapshot, which matters as much). */
  state: string;
  durationSeconds: number;
  /** First 200 characters. */
  query: string;
  /** Exact (text, microseconds) start of the statement: tells it apart from a later one on the same pid. */
  queryStart: string;
  applicationName: string;
}

export async function longQueries(db: Queryable, thresholdSeconds: number): Promise<LongQuery[]> {
  const rows = await db.query<{ pid: number; user_name: string | null; state: string; duration_seconds: number; query: string; query_start: string; application_name: string | null }>(
    LONG_QUERIES_SQL,
    [thresholdSeconds],
  );
  return rows.map((r) => ({
    pid: Number(r.pid),
    user: r.user_name,
    state: r.state,
    durationSeconds: Number(r.duration_seconds),
    query: r.query,
    queryStart: r.query_start,
    applicationName: r.application_name ?? '',
  }));
}

/** No metric here: LongRunningQueryCount / LongestQueryDuration are long-query-check's (every minute,
 * its own threshold); publishing them from the health check too would mix two thresholds in one series. */
export const longQueriesCheck: HealthCheck<{ longQueries: LongQuery[]; longestQuerySeconds: number }> = {
  name: 'long queries',
  run: async (db, o) => {
    const active = await longQueries(db, 0);
    return {
      longQueries: active.filter((q) => q.durationSeconds > o.longQuerySeconds),
      longestQuerySeconds: active.reduce((max, q) => Math.max(max, q.durationSeconds), 0),
    };
  },
  summary: (r) => ({ longRunningQueries: r.longQueries.length, longestQuerySeconds: r.longestQuerySeconds }),
  rows: (r) => [{ check: 'long-running queries', value: String(r.longQueries.length), detail: `longest active ${r.longestQuerySeconds.toFixed(1)} s` }],
};
