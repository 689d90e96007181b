import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EnvironmentConfig } from '../config/environments';
import { TASK_NAMES, TaskName } from '../../lambdas/tasks/task-names';
import { alarmNamePrefix, createAlarmTopic } from './alarm-topic';
import { MaintenanceTask, pascalCase } from './maintenance-functions';
import { catalogInsightsMax, catalogMetric, clusterMetric, clusterRoleMetric, proxyMetric, proxyPoolUtilization } from './metrics';

export interface DatabaseAlarmsProps {
  readonly config: EnvironmentConfig;
  readonly clusterIdentifier: string;
  readonly proxyName: string;
  readonly tasks: Readonly<Record<TaskName, MaintenanceTask>>;
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * One alarm, defined once: the CloudWatch alarm and the dashboard graph of the same metric, with
 * its threshold line, both come from it (as in cdk-monitoring-constructs), so the graph always
 * shows what the alarm evaluates. Thresholds come from the environment config.
 */
export interface AlarmDefinition {
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly comparison: cloudwatch.ComparisonOperator;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm?: number;
  readonly treatMissingData: cloudwatch.TreatMissingData;
  readonly description: string;
}

/** The threshold line a graph of this alarm's metric draws. */
export function thresholdLine(definition: AlarmDefinition, label = 'alarm'): cloudwatch.HorizontalAnnotation {
  return { value: definition.threshold, label, color: cloudwatch.Color.RED };
}

const { GREATER_THAN_THRESHOLD: ABOVE, LESS_THAN_THRESHOLD: BELOW, GREATER_THAN_OR_EQUAL_TO_THRESHOLD: AT_LEAST } = cloudwatch.ComparisonOperator;
const { BREACHING, NOT_BREACHING, MISSING } = cloudwatch.TreatMissingData;

/**
 * The spec's alert thresholds plus what keeps the cluster and the maintenance tasks healthy, all
 * sent to one KMS-encrypted topic with an e-mail subscription.
 *
 * Missing data is decided per alarm: the health-check and long-query-check heartbeats treat it as
 * breaching (no data means the check itself is dead); the values those checks publish treat it as
 * not breaching, so a dead check raises one heartbeat alarm instead of a dozen; AWS metrics of the
 * cluster stay MISSING, which shows as INSUFFICIENT_DATA rather than a false OK or a false page.
 */
export class DatabaseAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: Record<string, cloudwatch.Alarm> = {};
  readonly definitions: AlarmDefinitions;
  private readonly envName: string;

  constructor(scope: Construct, id: string, props: DatabaseAlarmsProps) {
    super(scope, id);
    const { config } = props;
    const thresholds = config.alarms;
    this.envName = config.envName;

    this.topic = createAlarmTopic(this, config.envName).topic;
    const subscription = new subscriptions.EmailSubscription(thresholds.email);
    this.topic.addSubscription(subscription);
    Validations.of(this.topic).acknowledge({
      id: 'Serverless-SNSRedrivePolicy',
      reason: 'E-mail subscription: SNS retries delivery itself, and an undelivered notification leaves the alarm state visible in CloudWatch and on the dashboard',
    });

    this.definitions = alarmDefinitions(props);
    for (const [name, definition] of Object.entries(this.definitions)) this.add(name, definition);
  }

  private add(name: string, spec: AlarmDefinition): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, name, {
      alarmName: `${alarmNamePrefix(this.envName)}${name}`,
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: spec.comparison,
      evaluationPeriods: spec.evaluationPeriods,
      datapointsToAlarm: spec.datapointsToAlarm,
      treatMissingData: spec.treatMissingData,
      alarmDescription: spec.description,
    });
    const action = new actions.SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms[name] = alarm;
    return alarm;
  }
}

/** Every alarm of the stack by name (its construct id and the tail of its alarm name), in creation order. */
export function alarmDefinitions(props: DatabaseAlarmsProps) {
  const { config, clusterIdentifier, proxyName, tasks } = props;
  const thresholds = config.alarms;
  const env = { Environment: config.envName };
  const minute = Duration.minutes(1);
  const fiveMinutes = Duration.minutes(5);

  const named = {
    // --- Spec "Alert Thresholds" ---
    ProxyPoolUtilization: {
      metric: proxyPoolUtilization(proxyName),
      threshold: thresholds.poolUtilizationPercent,
      comparison: ABOVE,
      evaluationPeriods: 5,
      treatMissingData: NOT_BREACHING, // an idle proxy publishes nothing and uses no pool
      description: `RDS Proxy holds more than ${thresholds.poolUtilizationPercent}% of the database connections it may open`,
    },
    ConnectionUtilization: {
      metric: catalogMetric('connectionUtilization', env, { statistic: 'Maximum' }),
      threshold: thresholds.poolUtilizationPercent,
      comparison: ABOVE,
      evaluationPeriods: 2,
      treatMissingData: NOT_BREACHING, // published by health-check; its heartbeat alarm covers absence
      description: `Backends above ${thresholds.poolUtilizationPercent}% of max_connections`,
    },
    ApplicationPoolUtilization: {
      // The spec's pool is the application's node-postgres pool. Its Pool names are only known at run
      // time, so a Metrics Insights query takes the fullest pool; the library stamps NODE_ENV as Environment.
      metric: catalogInsightsMax('poolUtilization', [config.applicationEnvironment, config.envName], minute, 'Fullest application pool %'),
      threshold: thresholds.poolUtilizationPercent,
      comparison: ABOVE,
      evaluationPeriods: 3,
      treatMissingData: NOT_BREACHING, // no application publishing (not deployed, or idle) means no pool in use
      description: `An application connection pool has more than ${thresholds.poolUtilizationPercent}% of its clients checked out`,
    },
    SlowestStatementMeanTime: {
      metric: catalogMetric('slowestStatementMean', env, { statistic: 'Maximum' }),
      threshold: thresholds.queryTimeMs,
      comparison: ABOVE,
      evaluationPeriods: 3,
      treatMissingData: NOT_BREACHING, // health-check heartbeat covers absence
      description: `An application statement in pg_stat_statements (top-level, not utility, not maintenance) averages more than ${thresholds.queryTimeMs} ms`,
    },
    ProxyQueryResponseLatency: {
      // QueryDatabaseResponseLatency is reported in microseconds.
      metric: proxyMetric(proxyName, 'QueryDatabaseResponseLatency', 'Average', fiveMinutes),
      threshold: thresholds.queryTimeMs * 1000,
      comparison: ABOVE,
      evaluationPeriods: 3,
      treatMissingData: NOT_BREACHING, // no queries, no latency
      description: `Average database response time through the proxy above ${thresholds.queryTimeMs} ms`,
    },
    CacheHitRatio: {
      metric: catalogMetric('cacheHitRatio', env, { statistic: 'Minimum' }),
      threshold: thresholds.cacheHitRatioPercent,
      comparison: BELOW,
      evaluationPeriods: 3,
      treatMissingData: NOT_BREACHING, // health-check heartbeat covers absence
      description: `Heap cache hit ratio below ${thresholds.cacheHitRatioPercent}%`,
    },
    DeadTuplePercent: {
      metric: catalogMetric('maxDeadTuplePercent', env, { statistic: 'Maximum' }),
      threshold: thresholds.deadTuplePercent,
      comparison: ABOVE,
      evaluationPeriods: 2,
      treatMissingData: NOT_BREACHING, // health-check heartbeat covers absence
      description: `A table carries more than ${thresholds.deadTuplePercent}% dead tuples`,
    },
    LongRunningQuery: {
      metric: catalogMetric('longestQueryDuration', env, { statistic: 'Maximum', period: minute }),
      threshold: thresholds.longQuerySeconds,
      comparison: ABOVE,
      evaluationPeriods: 2,
      treatMissingData: NOT_BREACHING, // long-query-check heartbeat covers absence
      description: `A query has been running for more than ${thresholds.longQuerySeconds} s`,
    },

    // --- Cluster (AWS/RDS) ---
    WriterCpu: {
      // Role=WRITER: the cluster-wide series averages the writer with idle readers, so a saturated
      // writer beside two quiet readers would read as a third of its real load.
      metric: clusterRoleMetric(clusterIdentifier, 'WRITER', 'CPUUtilization', 'Average'),
      threshold: thresholds.cpuPercent,
      comparison: ABOVE,
      evaluationPeriods: 3,
      treatMissingData: MISSING, // a silent cluster shows INSUFFICIENT_DATA, neither OK nor a page
      description: `Writer CPU above ${thresholds.cpuPercent}%`,
    },
    FreeableMemory: {
      metric: clusterMetric(clusterIdentifier, 'FreeableMemory', 'Minimum'),
      threshold: thresholds.freeableMemoryBytes,
      comparison: BELOW,
      evaluationPeriods: 3,
      treatMissingData: MISSING,
      description: `Freeable memory below ${thresholds.freeableMemoryBytes} bytes`,
    },
    AuroraReplicaLag: {
      metric: clusterMetric(clusterIdentifier, 'AuroraReplicaLagMaximum', 'Maximum'),
      threshold: thresholds.replicaLagMs,
      comparison: ABOVE,
      evaluationPeriods: 3,
      treatMissingData: NOT_BREACHING, // a cluster without readers reports no lag
      description: `Aurora replica lag above ${thresholds.replicaLagMs} ms`,
    },
    ReplicaLag: {
      metric: catalogMetric('replicaLag', env, { statistic: 'Maximum' }),
      threshold: thresholds.replicaLagMs,
      comparison: ABOVE,
      evaluationPeriods: 3,
      treatMissingData: NOT_BREACHING, // health-check heartbeat covers absence
      description: `aurora_replica_status() lag above ${thresholds.replicaLagMs} ms`,
    },
    VolumeBytesUsed: {
      metric: clusterMetric(clusterIdentifier, 'VolumeBytesUsed', 'Maximum', Duration.hours(1)),
      threshold: thresholds.volumeBytesUsed,
      comparison: ABOVE,
      evaluationPeriods: 1,
      treatMissingData: MISSING,
      description: `Cluster volume above ${thresholds.volumeBytesUsed} bytes`,
    },
    FreeLocalStorage: {
      metric: clusterMetric(clusterIdentifier, 'FreeLocalStorage', 'Minimum'),
      threshold: thresholds.freeLocalStorageBytes,
      comparison: BELOW,
      evaluationPeriods: 3,
      treatMissingData: MISSING,
      description: `Local (temp) storage below ${thresholds.freeLocalStorageBytes} bytes on an instance`,
    },

    // --- Schema health published by health-check; its heartbeat alarm covers absence ---
    MaterializedViewStaleness: {
      metric: catalogMetric('maxViewStaleness', env, { statistic: 'Maximum' }),
      threshold: thresholds.materializedViewStalenessSeconds,
      comparison: ABOVE,
      evaluationPeriods: 2,
      treatMissingData: NOT_BREACHING,
      description: `An analytics relation has a change not yet applied for more than ${thresholds.materializedViewStalenessSeconds} s (or, never built, was registered that long ago)`,
    },
    PartitionHeadroom: {
      metric: catalogMetric('minPartitionHeadroom', env, { statistic: 'Minimum' }),
      threshold: thresholds.partitionHeadroomMonths,
      comparison: BELOW,
      evaluationPeriods: 2,
      treatMissingData: NOT_BREACHING,
      description: `A partitioned table has fewer than ${thresholds.partitionHeadroomMonths} future months of partitions`,
    },
    DefaultPartitionRows: {
      metric: catalogMetric('totalDefaultPartitionRows', env, { statistic: 'Maximum' }),
      threshold: thresholds.defaultPartitionRows,
      comparison: ABOVE,
      evaluationPeriods: 1,
      treatMissingData: NOT_BREACHING,
      description: 'Rows landed in a default partition: a month is missing its partition',
    },
    TransactionIdAge: {
      metric: catalogMetric('transactionIdAge', env, { statistic: 'Maximum' }),
      threshold: thresholds.transactionIdAge,
      comparison: ABOVE,
      evaluationPeriods: 2,
      treatMissingData: NOT_BREACHING,
      description: `age(datfrozenxid) above ${thresholds.transactionIdAge}: wraparound vacuum is falling behind`,
    },
    InvalidIndexes: {
      metric: catalogMetric('invalidIndexCount', env, { statistic: 'Maximum' }),
      threshold: thresholds.invalidIndexes,
      comparison: ABOVE,
      evaluationPeriods: 2,
      treatMissingData: NOT_BREACHING,
      description: 'An index was left INVALID by a failed concurrent build',
    },

    SequenceNearOverflow: {
      metric: catalogMetric('maxSequenceUsedPercent', env, { statistic: 'Maximum' }),
      threshold: thresholds.sequenceUsedPercent,
      comparison: ABOVE,
      evaluationPeriods: 1,
      treatMissingData: NOT_BREACHING,
      description: `A sequence has used more than ${thresholds.sequenceUsedPercent}% of its range (its column type counts); at 100% every insert into its table fails`,
    },

    // --- Publishing queue, published by release-stuck-claims every minute; its heartbeat covers absence ---
    PublishSuccessRate: {
      // Each datum already covers the last hour's finished posts; three minutes in a row below
      // the target means it is not one unlucky post at a quiet hour.
      metric: catalogMetric('publishSuccessRate', env, { statistic: 'Minimum', period: minute }),
      threshold: thresholds.publishSuccessPercent,
      comparison: BELOW,
      evaluationPeriods: 3,
      treatMissingData: NOT_BREACHING, // no finished post in the window publishes no datum
      description: `Fewer than ${thresholds.publishSuccessPercent}% of the posts due in the last hour were published (spec 31.2)`,
    },
    PublishQueueLag: {
      metric: catalogMetric('publishQueueLag', env, { statistic: 'Maximum', period: minute }),
      threshold: thresholds.publishQueueLagSeconds,
      comparison: ABOVE,
      evaluationPeriods: 2,
      treatMissingData: NOT_BREACHING,
      description: `A due post has waited more than ${thresholds.publishQueueLagSeconds} s for a worker: publishers are down or cannot keep up`,
    },
    StuckClaims: {
      metric: catalogMetric('stuckClaims', env, { statistic: 'Sum', period: Duration.minutes(15) }),
      threshold: thresholds.stuckClaims,
      comparison: ABOVE,
      evaluationPeriods: 1,
      treatMissingData: NOT_BREACHING,
      description: `More than ${thresholds.stuckClaims} publishing leases expired within 15 minutes: workers are crashing or hanging mid-batch`,
    },
    PublishRetryBacklog: {
      metric: catalogMetric('publishRetryBacklog', env, { statistic: 'Maximum', period: fiveMinutes }),
      threshold: thresholds.publishRetryBacklog,
      comparison: ABOVE,
      evaluationPeriods: 3,
      treatMissingData: NOT_BREACHING,
      description: `More than ${thresholds.publishRetryBacklog} posts wait for a retry after transient platform failures`,
    },
    ReleaseStuckClaimsHeartbeat: {
      metric: catalogMetric('taskSuccess', { ...env, Task: 'release-stuck-claims' }, { statistic: 'Sum', period: minute }),
      threshold: 1,
      comparison: BELOW,
      evaluationPeriods: 5,
      treatMissingData: BREACHING,
      description: 'release-stuck-claims has not succeeded for 5 minutes: crashed workers\' posts are not requeued and the queue metrics are stale',
    },

    // --- Heartbeats: no data means the check is not running ---
    HealthCheckHeartbeat: {
      metric: catalogMetric('taskSuccess', { ...env, Task: 'health-check' }, { statistic: 'Sum' }),
      threshold: 1,
      comparison: BELOW,
      evaluationPeriods: 3,
      treatMissingData: BREACHING,
      description: 'health-check has not succeeded for 15 minutes; the metrics it publishes are stale',
    },
    LongQueryCheckHeartbeat: {
      metric: catalogMetric('taskSuccess', { ...env, Task: 'long-query-check' }, { statistic: 'Sum' }),
      threshold: 1,
      comparison: BELOW,
      evaluationPeriods: 2,
      treatMissingData: BREACHING,
      description: 'long-query-check has not succeeded for 10 minutes',
    },
  } satisfies Record<string, AlarmDefinition>;

  // --- Maintenance tasks ---
  const perTask: Record<string, AlarmDefinition> = {};
  for (const task of TASK_NAMES) {
    const frequent = config.maintenance.tasks[task].schedule.startsWith('rate(');
    const threshold = frequent ? thresholds.taskFailures.frequent : thresholds.taskFailures.scheduled;
    const period = Duration.minutes(15);
    perTask[`${pascalCase(task)}Failures`] = {
      metric: catalogMetric('taskFailure', { ...env, Task: task }, { statistic: 'Sum', period }),
      threshold,
      comparison: AT_LEAST,
      evaluationPeriods: 1,
      treatMissingData: NOT_BREACHING, // published only when a run fails
      description: `${task} failed ${threshold} time(s) within 15 minutes`,
    };
    perTask[`${pascalCase(task)}LambdaErrors`] = {
      metric: tasks[task].function.metricErrors({ statistic: 'Sum', period }),
      threshold,
      comparison: AT_LEAST,
      evaluationPeriods: 1,
      treatMissingData: NOT_BREACHING, // Lambda publishes Errors only for invocations
      description: `${task} Lambda errors (crashes and timeouts the handler could not report)`,
    };
  }
  const deadLetterQueue: AlarmDefinition = {
    metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: fiveMinutes }),
    threshold: thresholds.deadLetterMessages,
    comparison: AT_LEAST,
    evaluationPeriods: 1,
    treatMissingData: NOT_BREACHING, // an empty, inactive queue stops publishing
    description: 'Maintenance events that could not be delivered or kept failing are waiting in the dead-letter queue',
  };
  return { ...named, ...perTask, DeadLetterQueueDepth: deadLetterQueue };
}

export type AlarmDefinitions = ReturnType<typeof alarmDefinitions>;
