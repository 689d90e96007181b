import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { EnvironmentConfig } from '../config/environments';
import { TASK_NAMES, TaskName } from '../../lambdas/tasks/task-names';
import { MANAGED_MATERIALIZED_VIEWS, MANAGED_PARTITIONED_TABLES } from '../config/managed-objects';
import { DatabaseAlarms, thresholdLine } from './alarms';
import { MaintenanceTask } from './maintenance-functions';
import { catalogMetric, catalogSearch, clusterMetric, clusterRoleMetric, proxyMetric } from './metrics';

export interface DatabaseDashboardProps {
  readonly config: EnvironmentConfig;
  readonly clusterIdentifier: string;
  readonly proxyName: string;
  readonly tasks: Readonly<Record<TaskName, MaintenanceTask>>;
  /** Each graph of an alarmed metric draws the alarm's own metric and threshold from its definition. */
  readonly alarms: DatabaseAlarms;
}

const WIDTH = 8;
const HEIGHT = 6;

/**
 * One dashboard, one row per item of the spec's "Key Metrics to Monitor", each beside the AWS
 * metric that tells the same story from the outside, then the cluster and the maintenance tasks.
 */
export class DatabaseDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: DatabaseDashboardProps) {
    super(scope, id);
    const { config, clusterIdentifier, proxyName, tasks } = props;
    const envName = config.envName;
    const env = { Environment: envName };
    // Application-library metrics carry the app's NODE_ENV; envName too, in case the app passes it explicitly.
    const appEnvs = [config.applicationEnvironment, envName];
    const alarm = props.alarms.definitions;
    const graph = (title: string, left: cloudwatch.IMetric[], options: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: WIDTH, height: HEIGHT, ...options });
    const header = (text: string) => new cloudwatch.TextWidget({ markdown: `### ${text}`, width: 24, height: 1 });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `dbops-${envName}`,
      defaultInterval: Duration.hours(6),
    });

    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(props.alarms.alarms), width: 24, height: 4 }));

    this.dashboard.addWidgets(header('Connection pool utilization'));
    this.dashboard.addWidgets(
      graph('RDS Proxy pool utilization %', [alarm.ProxyPoolUtilization.metric], {
        leftAnnotations: [thresholdLine(alarm.ProxyPoolUtilization)],
        leftYAxis: { min: 0, max: 100 },
      }),
      graph('Connections: proxy clients and database', [
        proxyMetric(proxyName, 'ClientConnections', 'Maximum'),
        proxyMetric(proxyName, 'DatabaseConnections', 'Maximum'),
        clusterMetric(clusterIdentifier, 'DatabaseConnections', 'Maximum'),
      ]),
      graph(
        'Backends vs max_connections, app pools %',
        [alarm.ConnectionUtilization.metric, catalogSearch('poolUtilization', appEnvs, 'Maximum', Duration.minutes(1))],
        { leftAnnotations: [thresholdLine(alarm.ConnectionUtilization)] },
      ),
    );

    this.dashboard.addWidgets(header('Query execution time (p50, p95, p99)'));
    this.dashboard.addWidgets(
      graph('Application query duration ms', [
        catalogSearch('queryDuration', appEnvs, 'p50', Duration.minutes(5), 'p50'),
        catalogSearch('queryDuration', appEnvs, 'p95', Duration.minutes(5), 'p95'),
        catalogSearch('queryDuration', appEnvs, 'p99', Duration.minutes(5), 'p99'),
      ], { leftAnnotations: [thresholdLine(alarm.SlowestStatementMeanTime, 'slow')] }),
      graph('Slowest statement mean (pg_stat_statements) ms', [alarm.SlowestStatementMeanTime.metric], {
        leftAnnotations: [thresholdLine(alarm.SlowestStatementMeanTime)],
        right: [catalogSearch('slowQueries', appEnvs, 'Sum')],
      }),
      graph('Proxy response latency and borrow wait (µs)', [
        proxyMetric(proxyName, 'QueryDatabaseResponseLatency', 'Average', Duration.minutes(5)),
        proxyMetric(proxyName, 'DatabaseConnectionsBorrowLatency', 'Average', Duration.minutes(5)),
      ]),
    );

    this.dashboard.addWidgets(header('Cache hit ratio'));
    this.dashboard.addWidgets(
      graph('Cache hit ratio % (tables, indexes)', [
        alarm.CacheHitRatio.metric,
        catalogMetric('indexCacheHitRatio', env),
      ], { leftAnnotations: [thresholdLine(alarm.CacheHitRatio)], leftYAxis: { max: 100 } }),
      graph('Aurora buffer cache hit ratio %', [clusterMetric(clusterIdentifier, 'BufferCacheHitRatio')], { leftYAxis: { max: 100 } }),
      graph('Read / write IOPS', [clusterRoleMetric(clusterIdentifier, 'WRITER', 'ReadIOPS'), clusterRoleMetric(clusterIdentifier, 'WRITER', 'WriteIOPS')]),
    );

    this.dashboard.addWidgets(header('Table bloat'));
    this.dashboard.addWidgets(
      graph('Worst dead-tuple share %', [alarm.DeadTuplePercent.metric], {
        leftAnnotations: [thresholdLine(alarm.DeadTuplePercent)],
      }),
      graph('Dead-tuple share by table %', [catalogSearch('deadTuplePercent', envName, 'Maximum')]),
      graph('Estimated bloat bytes', [catalogMetric('estimatedTableBloat', env, { statistic: 'Maximum' }), catalogSearch('tableBloat', envName, 'Maximum')]),
    );

    this.dashboard.addWidgets(header('Index usage'));
    this.dashboard.addWidgets(
      graph('Unused, invalid and duplicate indexes', [
        catalogMetric('unusedIndexCount', env, { statistic: 'Maximum' }),
        catalogMetric('invalidIndexCount', env, { statistic: 'Maximum' }),
        catalogMetric('duplicateIndexCount', env, { statistic: 'Maximum' }),
      ]),
      graph('Fullest sequence %', [alarm.SequenceNearOverflow.metric], {
        leftAnnotations: [thresholdLine(alarm.SequenceNearOverflow)],
        leftYAxis: { min: 0, max: 100 },
      }),
      graph('Long-running queries', [catalogMetric('longRunningQueries', env, { statistic: 'Maximum', period: Duration.minutes(1) })], {
        right: [alarm.LongRunningQuery.metric],
        rightAnnotations: [thresholdLine(alarm.LongRunningQuery, 'alarm (s)')],
      }),
      graph('Transaction ID age', [alarm.TransactionIdAge.metric, clusterRoleMetric(clusterIdentifier, 'WRITER', 'MaximumUsedTransactionIDs', 'Maximum')], {
        leftAnnotations: [thresholdLine(alarm.TransactionIdAge)],
      }),
    );

    this.dashboard.addWidgets(header('Materialized view freshness'));
    this.dashboard.addWidgets(
      graph(
        'Seconds since last refresh',
        MANAGED_MATERIALIZED_VIEWS.map((view) => catalogMetric('viewStaleness', { ...env, View: view }, { statistic: 'Maximum', label: view })),
        // The alarm watches the stalest of these (MaxMaterializedViewStaleness): same line.
        { leftAnnotations: [thresholdLine(alarm.MaterializedViewStaleness)], width: 12 },
      ),
      graph(
        'Refresh duration ms',
        MANAGED_MATERIALIZED_VIEWS.map((view) => catalogMetric('viewRefreshDuration', { ...env, View: view }, { statistic: 'Maximum', period: Duration.hours(1), label: view })),
        { width: 12 },
      ),
    );

    this.dashboard.addWidgets(header('Partition count and size'));
    const perTable = (key: 'partitionCount' | 'partitionSize' | 'partitionHeadroom' | 'defaultPartitionRows', statistic: string) =>
      MANAGED_PARTITIONED_TABLES.map((table) => catalogMetric(key, { ...env, Table: table }, { statistic, label: table }));
    this.dashboard.addWidgets(
      graph('Partitions per table', perTable('partitionCount', 'Maximum'), { width: 6 }),
      graph('Size per partitioned table (bytes)', perTable('partitionSize', 'Maximum'), { width: 6 }),
      graph('Months of partitions ahead', perTable('partitionHeadroom', 'Minimum'), {
        width: 6,
        // The alarm watches the least of these (MinPartitionHeadroomMonths): same line.
        leftAnnotations: [thresholdLine(alarm.PartitionHeadroom)],
      }),
      graph('Rows in default partitions', perTable('defaultPartitionRows', 'Maximum'), { width: 6 }),
    );

    this.dashboard.addWidgets(header('Publishing queue (spec 31.2: 1 million posts a day, 99.9% published)'));
    this.dashboard.addWidgets(
      graph('Published share of finished posts, last hour %', [alarm.PublishSuccessRate.metric, catalogMetric('publishTargetSuccessRate', env, { statistic: 'Minimum', period: Duration.minutes(1) })], {
        width: 6,
        leftAnnotations: [thresholdLine(alarm.PublishSuccessRate)],
      }),
      graph('Oldest due post nobody holds (s)', [alarm.PublishQueueLag.metric], {
        width: 6,
        leftAnnotations: [thresholdLine(alarm.PublishQueueLag)],
        right: [catalogMetric('publishQueueDue', env, { statistic: 'Maximum', period: Duration.minutes(1) })],
      }),
      graph('Stuck claims per 15 min', [alarm.StuckClaims.metric, catalogMetric('abandonedPosts', env, { statistic: 'Sum', period: Duration.minutes(15) })], {
        width: 6,
        leftAnnotations: [thresholdLine(alarm.StuckClaims)],
      }),
      graph('Posts waiting for a retry', [alarm.PublishRetryBacklog.metric], { width: 6, leftAnnotations: [thresholdLine(alarm.PublishRetryBacklog)] }),
    );

    this.dashboard.addWidgets(header('Cluster'));
    this.dashboard.addWidgets(
      graph('CPU % (writer, readers)', [alarm.WriterCpu.metric, clusterRoleMetric(clusterIdentifier, 'READER', 'CPUUtilization')], {
        width: 6,
        leftAnnotations: [thresholdLine(alarm.WriterCpu)],
      }),
      graph('Freeable memory (bytes)', [clusterMetric(clusterIdentifier, 'FreeableMemory', 'Minimum')], { width: 6 }),
      graph('Replica lag ms', [alarm.AuroraReplicaLag.metric, alarm.ReplicaLag.metric], {
        width: 6,
        leftAnnotations: [thresholdLine(alarm.AuroraReplicaLag)],
      }),
      graph('Volume used / free local storage (bytes)', [clusterMetric(clusterIdentifier, 'VolumeBytesUsed', 'Maximum', Duration.hours(1))], {
        width: 6,
        right: [clusterMetric(clusterIdentifier, 'FreeLocalStorage', 'Minimum')],
      }),
    );

    this.dashboard.addWidgets(header('Maintenance tasks'));
    const perTask = (key: 'taskSuccess' | 'taskFailure' | 'taskSkipped' | 'taskDuration', statistic: string) =>
      TASK_NAMES.map((task) => catalogMetric(key, { ...env, Task: task }, { statistic, period: Duration.hours(1), label: task }));
    this.dashboard.addWidgets(
      graph('Successful runs per hour', perTask('taskSuccess', 'Sum'), { width: 6 }),
      graph('Failed runs per hour', perTask('taskFailure', 'Sum'), { width: 6 }),
      graph('Skipped (lock held) per hour', perTask('taskSkipped', 'Sum'), { width: 6 }),
      graph('Longest run ms', perTask('taskDuration', 'Maximum'), { width: 6 }),
    );
    this.dashboard.addWidgets(
      graph(
        'Lambda errors',
        TASK_NAMES.map((task) => tasks[task].function.metricErrors({ period: Duration.hours(1), label: task })),
        { width: 12 },
      ),
      graph(
        'Lambda duration p95 ms',
        TASK_NAMES.map((task) => tasks[task].function.metricDuration({ statistic: 'p95', period: Duration.hours(1), label: task })),
        { width: 12 },
      ),
    );
  }
}
