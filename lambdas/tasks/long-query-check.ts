import { longQueries } from '../health/long-queries';
import { datum } from '../metrics/datum';
import { defineTask } from './types';

/** Our own maintenance (a REINDEX CONCURRENTLY, say) is reported but never cancelled: that would leave INVALID indexes. */
const APP_NAMES_SQL = `SELECT pid, application_name FROM pg_stat_activity WHERE pid = ANY($1::int[])`;

export const longQueryCheck = defineTask({
  name: 'long-query-check',
  schedule: 'rate(1 minute)',
  description: 'Count and log active queries older than a threshold; optionally cancel those above a hard limit',
  statementTimeoutMs: 15_000,
  options: {
    thresholdSeconds: { type: 'number', min: 0.1, max: 86_400, description: 'Report active queries older than this (default 30)' },
    cancelAboveSeconds: {
      type: 'number',
      min: 1,
      max: 86_400,
      description: 'pg_cancel_backend queries older than this; unset (default) cancels nothing',
    },
  },
  async run(ctx, options) {
    const threshold = options.thresholdSeconds ?? 30;
    const active = await longQueries(ctx.reader, 0);
    const long = active.filter((q) => q.durationSeconds > threshold);
    for (const q of long) {
      ctx.log('long-running query', { pid: q.pid, durationSeconds: Number(q.durationSeconds.toFixed(1)), user: q.user, state: q.state, query: q.query });
    }
    const cancelled: number[] = [];
    const wouldCancel: number[] = [];
    const limit = options.cancelAboveSeconds;
    if (limit !== undefined) {
      const over = long.filter((q) => q.durationSeconds > limit);
      const names = new Map(
        (await ctx.read<{ pid: number; application_name: string }>(APP_NAMES_SQL, [over.map((q) => q.pid)])).map((r) => [Number(r.pid), r.application_name]),
      );
      for (const q of over) {
        if ((names.get(q.pid) ?? '').startsWith('dbops:')) continue;
        if (ctx.dryRun) {
          wouldCancel.push(q.pid);
          continue;
        }
        const [row] = await ctx.read<{ cancelled: boolean }>('SELECT pg_cancel_backend($1) AS cancelled', [q.pid]);
        if (row.cancelled) cancelled.push(q.pid);
      }
    }
    const longest = active.reduce((max, q) => Math.max(max, q.durationSeconds), 0);
    return {
      summary: {
        thresholdSeconds: threshold,
        longRunningQueries: long.length,
        longestQuerySeconds: Number(longest.toFixed(3)),
        queries: long.map((q) => ({ pid: q.pid, durationSeconds: Number(q.durationSeconds.toFixed(1)), user: q.user, state: q.state, query: q.query })),
        cancelAboveSeconds: limit ?? 'off',
        cancelled,
        ...(ctx.dryRun ? { wouldCancel } : {}),
      },
      metrics: [
        datum('longRunningQueries', long.length),
        datum('longestQueryDuration', longest),
        datum('cancelledQueries', cancelled.length),
      ],
    };
  },
});
