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
