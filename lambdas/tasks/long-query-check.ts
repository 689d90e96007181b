import { DEFAULT_HEALTH_OPTIONS } from '../checks/health';
import { LongQuery, longQueries } from '../checks/long-queries';
import { MetricDatum, datum } from '../metrics/datum';
import { defineTask } from './types';

/**
 * Cancels the statement only if it is still the one we measured: still active (cancelling an idle
 * in-transaction session does nothing, so it must not be reported as cancelled), same start time
 * (the pid may have moved on to a new statement, or belong to a new backend), and not our own
 * maintenance (cancelling a REINDEX CONCURRENTLY leaves INVALID indexes), and not a superuser's:
 * pg_signal_backend may not signal those (on Aurora, rdsadmin's sessions), and trying raises.
 */
const CANCEL_SQL = `
  SELECT pg_cancel_backend(pid) AS cancelled
    FROM pg_stat_activity
   WHERE pid = $1
     -- Counting covers the whole server; cancelling stays inside the database this task maintains,
     -- so a hard limit set for the platform never stops another tenant database's work.
     AND datname = current_database()
     AND state = 'active'
     AND query_start = $2::timestamptz
     AND application_name NOT LIKE 'dbops:%'
     AND NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = usesysid AND r.rolsuper)`;

export const longQueryCheck = defineTask({
  name: 'long-query-check',
  description: 'Count and log active queries older than a threshold; optionally cancel those above a hard limit',
  perInstance: true,
  statementTimeoutMs: 15_000,
  options: {
    // The deployed schedule passes the alarm's threshold (lib/constructs/maintenance-functions.ts); CLI and demo runs take health-check's.
    thresholdSeconds: { type: 'number', min: 0.1, max: 86_400, default: DEFAULT_HEALTH_OPTIONS.longQuerySeconds, description: 'Report active queries older than this' },
    cancelAboveSeconds: {
      type: 'number',
      min: 1,
      max: 86_400,
      description: 'pg_cancel_backend queries older than this; unset (default) cancels nothing',
    },
  },
  async run(ctx, options) {
    const threshold = options.thresholdSeconds;
    // Every instance is its own server with its own pg_stat_activity: a reader's long query is seen only there.
    const servers = ctx.instances.length > 0 ? ctx.instances : [{ id: undefined, reader: ctx.reader }];
    const isOurs = (q: { applicationName: string }) => q.applicationName.startsWith('dbops:');
    const limit = options.cancelAboveSeconds;
    const long: (LongQuery & { instance?: string })[] = [];
    const cancelled: number[] = [];
    const wouldCancel: number[] = [];
    let longest = 0;
    const byInstance: MetricDatum[] = [];
    for (const server of servers) {
      const active = await longQueries(server.reader, 0);
      const here = active.filter((q) => q.durationSeconds > threshold).map((q) => ({ ...q, ...(server.id ? { instance: server.id } : {}) }));
      for (const q of here) {
        ctx.log('long-running query', { pid: q.pid, ...(server.id ? { instance: server.id } : {}), durationSeconds: Number(q.durationSeconds.toFixed(1)), user: q.user, state: q.state, query: q.query });
      }
      long.push(...here);
      const longestHere = active.filter((q) => !isOurs(q)).reduce((max, q) => Math.max(max, q.durationSeconds), 0);
      longest = Math.max(longest, longestHere);
      if (server.id) {
        const dims = { DBInstanceIdentifier: server.id };
        byInstance.push(datum('longRunningQueriesByInstance', here.filter((q) => !isOurs(q)).length, dims), datum('longestQueryDurationByInstance', longestHere, dims));
      }
      if (limit === undefined) continue;
      const over = here.filter((q) => q.durationSeconds > limit && q.state === 'active' && !isOurs(q));
      for (const q of over) {
        if (ctx.dryRun) {
          wouldCancel.push(q.pid);
          continue;
        }
        // On the server that runs it: a pid means nothing on another instance.
        const [row] = await server.reader.query<{ cancelled: boolean }>(CANCEL_SQL, [q.pid, q.queryStart]);
        if (row?.cancelled) cancelled.push(q.pid);
      }
    }
    // A monthly REINDEX CONCURRENTLY or an hourly refresh outlasting 30 s is expected, not an
    // incident: our own dbops: sessions are listed but kept out of the alarmed metrics.
    const application = long.filter((q) => !isOurs(q));
    return {
      summary: {
        thresholdSeconds: threshold,
        longRunningQueries: application.length,
        maintenanceQueries: long.length - application.length,
        longestQuerySeconds: Number(longest.toFixed(3)),
        queries: long.map((q) => ({ pid: q.pid, ...(q.instance ? { instance: q.instance } : {}), durationSeconds: Number(q.durationSeconds.toFixed(1)), user: q.user, state: q.state, query: q.query, maintenance: isOurs(q) })),
        cancelAboveSeconds: limit ?? 'off',
        cancelled,
        ...(ctx.dryRun ? { wouldCancel } : {}),
      },
      metrics: [
        datum('longRunningQueries', application.length),
        datum('longestQueryDuration', longest),
        datum('cancelledQueries', cancelled.length),
        ...byInstance,
      ],
    };
  },
});
