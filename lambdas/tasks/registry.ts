import { createPartitions } from './create-partitions';
import { dropOldPartitions } from './drop-old-partitions';
import { healthCheck } from './health-check';
import { longQueryCheck } from './long-query-check';
import { refreshMaterializedViews } from './refresh-materialized-views';
import { reindex } from './reindex';
import { releaseStuckClaims } from './release-stuck-claims';
import { TASK_NAMES, TaskDefinition, TaskName } from './types';
import { updateStatistics } from './update-statistics';
import { vacuumAnalyze } from './vacuum-analyze';

/** Every task, by name. */
export const TASKS: { readonly [K in TaskName]: TaskDefinition } = {
  'refresh-materialized-views': refreshMaterializedViews,
  'create-partitions': createPartitions,
  'drop-old-partitions': dropOldPartitions,
  'vacuum-analyze': vacuumAnalyze,
  reindex: reindex,
  'update-statistics': updateStatistics,
  'health-check': healthCheck,
  'long-query-check': longQueryCheck,
  'release-stuck-claims': releaseStuckClaims,
};

export function isTaskName(name: unknown): name is TaskName {
  return typeof name === 'string' && (TASK_NAMES as readonly string[]).includes(name);
}
