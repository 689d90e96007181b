import { cacheHitCheck } from '../checks/cache-hit';
import { connectionsCheck } from '../checks/connections';
import { deadTuplesCheck } from '../checks/dead-tuples';
import { invalidIndexesCheck } from '../checks/invalid-indexes';
import { missingGrantsCheck } from '../checks/missing-grants';
import { duplicateIndexesCheck } from '../checks/duplicate-indexes';
import { sequenceOverflowCheck } from '../checks/sequence-overflow';
import { longQueriesCheck } from '../checks/long-queries';
import { viewStalenessCheck } from '../checks/mv-staleness';
import { partitionsCheck } from '../checks/partitions';
import { replicaLagCheck } from '../checks/replica-lag';
import { slowestStatementCheck } from '../checks/slow-queries';
import { tableBloatCheck } from '../checks/table-bloat';
import { transactionIdAgeCheck } from '../checks/transaction-id-age';
import { unusedIndexesCheck } from '../checks/unused-indexes';

/**
 * The one catalog of custom metrics. The tasks publish by these definitions and the CDK alarms
 * and dashboard read them, so a name or unit can never drift between producer and consumer.
 * Units are CloudWatch StandardUnit strings.
 */
export const METRIC_NAMESPACE = 'AuroraDbops';

export type MetricUnit = 'Percent' | 'Count' | 'Seconds' | 'Milliseconds' | 'Bytes';
export type DimensionName = 'Environment' | 'Task' | 'Table' | 'View' | 'Pool' | 'Query' | 'DBInstanceIdentifier';

export interface MetricDefinition {
  readonly name: string;
  readonly unit: MetricUnit;
  /** Every datum carries exactly these dimensions, in this order. */
  readonly dimensions: readonly DimensionName[];
  readonly description: string;
}

function metric(name: string, unit: MetricUnit, dimensions: readonly DimensionName[], description: string): MetricDefinition {
  return { name, unit, dimensions, description };
}

const ENV = ['Environment'] as const;
/** Per-server figures (every Aurora instance is its own server), next to the cluster-wide series of the same name. */
const INSTANCE = ['Environment', 'DBInstanceIdentifier'] as const;

export const METRICS = {
  // health-check
  connectionUtilization: metric('ConnectionUtilization', 'Percent', ENV, 'Backends in use as a share of max_connections'),
  cacheHitRatio: metric('CacheHitRatio', 'Percent', ENV, 'Heap blocks served from cache, user tables'),
  indexCacheHitRatio: metric('IndexCacheHitRatio', 'Percent', ENV, 'Index blocks served from cache, user indexes'),
  maxDeadTuplePercent: metric('MaxDeadTuplePercent', 'Percent', ENV, 'Worst dead-tuple share over tables large enough to matter'),
  deadTuplePercent: metric('DeadTuplePercent', 'Percent', ['Environment', 'Table'], 'Dead-tuple share of one table'),
  estimatedTableBloat: metric('EstimatedTableBloatBytes', 'Bytes', ENV, 'Estimated wasted bytes over all user tables'),
  tableBloat: metric('TableBloatBytes', 'Bytes', ['Environment', 'Table'], 'Estimated wasted bytes of one table'),
  unusedIndexCount: metric('UnusedIndexCount', 'Count', ENV, 'Indexes with no scans since statistics reset, constraint-enforcing ones left out'),
  invalidIndexCount: metric('InvalidIndexCount', 'Count', ENV, 'Indexes left INVALID by a failed concurrent build'),
  duplicateIndexCount: metric('DuplicateIndexCount', 'Count', ENV, 'Indexes another index on the same table already covers'),
  maxSequenceUsedPercent: metric('MaxSequenceUsedPercent', 'Percent', ENV, 'Share of its range the fullest ascending sequence has used (the column type counts)'),
  missingGrantCount: metric('MissingGrants', 'Count', ENV, 'Role grants the migrations were refused (dbops.missing_grants); tasks needing them fail until granted'),
  viewStaleness: metric('MaterializedViewStaleness', 'Seconds', ['Environment', 'View'], 'Seconds since the last successful refresh of a view'),
  maxViewStaleness: metric('MaxMaterializedViewStaleness', 'Seconds', ENV, 'Stalest managed materialized view'),
  partitionCount: metric('PartitionCount', 'Count', ['Environment', 'Table'], 'Partitions of a managed table, default included'),
  partitionSize: metric('PartitionedTableSizeBytes', 'Bytes', ['Environment', 'Table'], 'Total size of a managed table and its partitions'),
  partitionHeadroom: metric('PartitionHeadroomMonths', 'Count', ['Environment', 'Table'], 'Whole future months covered by partitions'),
  minPartitionHeadroom: metric('MinPartitionHeadroomMonths', 'Count', ENV, 'Smallest headroom over all managed tables'),
  defaultPartitionRows: metric('DefaultPartitionRows', 'Count', ['Environment', 'Table'], 'Rows sitting in the default partition of a table'),
  totalDefaultPartitionRows: metric('TotalDefaultPartitionRows', 'Count', ENV, 'Rows in all default partitions'),
  replicaLag: metric('ReplicaLagMaximum', 'Milliseconds', ENV, 'Largest replica lag: aurora_replica_status() on Aurora, pg_stat_replication or the replay timestamp on PostgreSQL'),
  transactionIdAge: metric('TransactionIdAge', 'Count', ENV, 'age(datfrozenxid) of the oldest database'),
  slowestStatementMean: metric('SlowestStatementMeanTime', 'Milliseconds', ENV, 'Highest mean execution time in pg_stat_statements'),
  connectionUtilizationByInstance: metric('ConnectionUtilization', 'Percent', INSTANCE, 'Backends in use as a share of max_connections, one instance'),
  cacheHitRatioByInstance: metric('CacheHitRatio', 'Percent', INSTANCE, 'Heap blocks served from cache, one instance'),
  unusedIndexCountByInstance: metric('UnusedIndexCount', 'Count', INSTANCE, 'Indexes with no scans on this instance (the cluster-wide count needs no scans on any)'),
  slowestStatementMeanByInstance: metric('SlowestStatementMeanTime', 'Milliseconds', INSTANCE, 'Highest mean execution time in pg_stat_statements, one instance'),
  // long-query-check
  longRunningQueries: metric('LongRunningQueryCount', 'Count', ENV, 'Active queries older than the long-query threshold'),
  longestQueryDuration: metric('LongestQueryDuration', 'Seconds', ENV, 'Age of the oldest active query'),
  longRunningQueriesByInstance: metric('LongRunningQueryCount', 'Count', INSTANCE, 'Active queries older than the threshold on one instance'),
  longestQueryDurationByInstance: metric('LongestQueryDuration', 'Seconds', INSTANCE, 'Age of the oldest active query on one instance'),
  cancelledQueries: metric('CancelledQueryCount', 'Count', ENV, 'Queries cancelled above the hard limit'),
  // release-stuck-claims (the publishing queue, every minute)
  stuckClaims: metric('StuckClaims', 'Count', ENV, 'Publishing leases found expired this run (requeued or abandoned): posts a worker left behind'),
  abandonedPosts: metric('AbandonedPosts', 'Count', ENV, 'Posts failed because their lease expired the maximum number of times'),
  publishQueueLag: metric('PublishQueueLagSeconds', 'Seconds', ENV, 'Age of the oldest due post nobody holds (0 when none waits)'),
  publishQueueDue: metric('PublishQueueDuePosts', 'Count', ENV, 'Due posts nobody holds, waiting for a claim'),
  publishRetryBacklog: metric('PublishRetryBacklog', 'Count', ENV, 'Posts waiting for a retry after a transient platform failure'),
  publishSuccessRate: metric('PublishSuccessRate', 'Percent', ENV, 'Posts due in the window that finished PUBLISHED, as a share of those that finished'),
  publishTargetSuccessRate: metric('PublishTargetSuccessRate', 'Percent', ENV, 'Targets of the posts finished in the window that were published'),
  // refresh-materialized-views
  viewRefreshDuration: metric('MaterializedViewRefreshDuration', 'Milliseconds', ['Environment', 'View'], 'Duration of one view refresh'),
  // every task
  taskDuration: metric('TaskDuration', 'Milliseconds', ['Environment', 'Task'], 'Wall time of one task invocation'),
  taskSuccess: metric('TaskSuccess', 'Count', ['Environment', 'Task'], '1 per successful invocation'),
  taskFailure: metric('TaskFailure', 'Count', ['Environment', 'Task'], '1 per failed invocation'),
  taskSkipped: metric('TaskSkipped', 'Count', ['Environment', 'Task'], '1 per invocation skipped because another run held the lock'),
  taskRejected: metric('TaskRejected', 'Count', ['Environment', 'Task'], '1 per event refused as invalid (bad option, a named object that is missing or unmanaged); not a failure, never retried'),
  // application library
  poolUtilization: metric('PoolUtilization', 'Percent', ['Environment', 'Pool'], 'Checked-out clients as a share of the pool maximum'),
  poolWaiting: metric('PoolWaitingClients', 'Count', ['Environment', 'Pool'], 'Callers queued for a pool client'),
  queryDuration: metric('QueryDuration', 'Milliseconds', ['Environment', 'Query'], 'Duration of one named application query'),
  slowQueries: metric('SlowQueryCount', 'Count', ['Environment', 'Query'], 'Named application queries above the slow-query threshold'),
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof METRICS;

/**
 * The checks the health-check task (and `dbops health`) runs, in this order, each publishing its
 * metrics above. Here rather than in lambdas/checks/ so that a new health metric is its check file,
 * its entry in this file and its test. Check files import only types from lambdas/metrics, so this
 * import cannot become a cycle.
 */
export const HEALTH_CHECKS = [
  connectionsCheck,
  cacheHitCheck,
  deadTuplesCheck,
  tableBloatCheck,
  unusedIndexesCheck,
  invalidIndexesCheck,
  missingGrantsCheck,
  duplicateIndexesCheck,
  sequenceOverflowCheck,
  transactionIdAgeCheck,
  longQueriesCheck,
  replicaLagCheck,
  slowestStatementCheck,
  viewStalenessCheck,
  partitionsCheck,
] as const;
