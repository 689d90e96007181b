/** The scheduled tasks; each name is the `task` field of the handler's event. No imports: the CDK app reads this list too. */
export const TASK_NAMES = [
  'refresh-materialized-views',
  'create-partitions',
  'drop-old-partitions',
  'vacuum-analyze',
  'reindex',
  'update-statistics',
  'health-check',
  'long-query-check',
  'release-stuck-claims',
] as const;

export type TaskName = (typeof TASK_NAMES)[number];

/**
 * The tasks whose checks are per server (pg_stat_activity, pg_stat_statements, index and buffer
 * statistics) and so run on every instance of the cluster. The CDK app gives these functions the
 * RDS discovery permissions and the network path to each instance; the task definitions say the same
 * with `perInstance` (test/lambdas/tasks/health-check-instances.test.ts keeps the two in step).
 */
export const PER_INSTANCE_TASKS: readonly TaskName[] = ['health-check', 'long-query-check'];
