import { MetricDatum, datum } from '../metrics/datum';
import { defineTask } from './types';

/**
 * The publishing queue's minute (migration 080): puts posts whose lease expired back in the queue
 * (a worker died or hung mid-batch), fails the posts whose leases keep expiring, prunes old
 * outcomes, and publishes the queue's health. It runs as dbops_maintenance, which reads no
 * platform data: each step is a SECURITY DEFINER function that returns counts only.
 *
 * StuckClaims counts the leases found expired in this run (the ones just requeued or abandoned),
 * before any were released, so the figure is what the workers left behind in the last minute.
 * The other figures are read after the requeue, so the lag is what the next claim will see.
 */
type ReleaseRow = {
  requeued: number;
  abandoned: number;
  oldest_expired_seconds: number;
};

type StatsRow = {
  due_unheld: string;
  lag_seconds: number;
  held: string;
  expired_leases: string;
  retry_backlog: string;
  window_published: string;
  window_failed: string;
  success_percent: number | null;
  window_targets_published: string;
  window_targets_failed: string;
  target_success_percent: number | null;
};

export const releaseStuckClaims = defineTask({
  name: 'release-stuck-claims',
  description: 'Requeue publishing-queue posts whose lease expired, fail poison posts, publish queue lag, stuck claims, retries and the success rate',
  statementTimeoutMs: 20_000,
  options: {
    maxClaims: {
      type: 'integer',
      min: 1,
      max: 1000,
      default: 10,
      description: 'A post whose lease expired this many times is failed instead of requeued',
    },
    limit: { type: 'integer', min: 1, max: 1_000_000, default: 10_000, description: 'Leases released per run at most' },
    successWindowMinutes: {
      type: 'integer',
      min: 1,
      max: 44_640,
      default: 60,
      description: 'PublishSuccessRate covers posts due in this many minutes before now that have finished',
    },
    keepOutcomesDays: { type: 'integer', min: 1, max: 366, default: 7, description: 'Finished outcomes kept for the success rate and history' },
  },
  async run(ctx, options) {
    const maxClaims = options.maxClaims;
    const limit = options.limit;
    const windowMinutes = options.successWindowMinutes;
    const keepDays = options.keepOutcomesDays;
    const [released] = await ctx.read<ReleaseRow>('SELECT * FROM dbops.release_stuck_claims($1::integer, $2::integer, $3::boolean)', [
      maxClaims,
      limit,
      ctx.dryRun,
    ]);
    ctx.progress.requeued = released.requeued;
    const pruned = ctx.dryRun
      ? 0
      : (await ctx.read<{ pruned: number }>(`SELECT dbops.prune_publish_outcomes(make_interval(days => $1::integer)) AS pruned`, [keepDays]))[0].pruned;
    const [stats] = await ctx.read<StatsRow>('SELECT * FROM dbops.publish_queue_stats(make_interval(mins => $1::integer))', [windowMinutes]);
    const stuck = released.requeued + released.abandoned;
    if (stuck > 0) ctx.log('released stuck claims', { requeued: released.requeued, abandoned: released.abandoned, oldestExpiredSeconds: released.oldest_expired_seconds });

    const metrics: MetricDatum[] = [
      datum('stuckClaims', stuck),
      datum('abandonedPosts', released.abandoned),
      datum('publishQueueLag', stats.lag_seconds),
      datum('publishQueueDue', Number(stats.due_unheld)),
      datum('publishRetryBacklog', Number(stats.retry_backlog)),
    ];
    // No finished post in the window (a quiet hour, or a dev stack) is no data, not 0% or 100%.
    if (stats.success_percent !== null) metrics.push(datum('publishSuccessRate', stats.success_percent));
    if (stats.target_success_percent !== null) metrics.push(datum('publishTargetSuccessRate', stats.target_success_percent));
    return {
      summary: {
        requeued: released.requeued,
        abandoned: released.abandoned,
        stuckClaims: stuck,
        oldestExpiredLeaseSeconds: Number(released.oldest_expired_seconds.toFixed(3)),
        prunedOutcomes: pruned,
        dueUnheld: Number(stats.due_unheld),
        held: Number(stats.held),
        expiredLeasesLeft: Number(stats.expired_leases),
        queueLagSeconds: Number(stats.lag_seconds.toFixed(3)),
        retryBacklog: Number(stats.retry_backlog),
        successWindowMinutes: windowMinutes,
        windowPublished: Number(stats.window_published),
        windowFailed: Number(stats.window_failed),
        successPercent: stats.success_percent,
        targetSuccessPercent: stats.target_success_percent,
      },
      metrics,
    };
  },
});
