import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { Driver } from '../../lambdas/db/env-config';
import { TASK_NAMES, TaskName } from '../../lambdas/tasks/task-names';
import type { Environment as ApplicationEnvironment } from '../../platform-db/config';

/**
 * Every per-environment setting of the stack, in one typed place: a shared base and, per
 * environment, only what differs from it. Nothing else in lib/ holds a number that differs between
 * dev, staging and prod, and every alarm threshold is here.
 */
export const ENVIRONMENT_NAMES = ['dev', 'staging', 'prod'] as const;
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

export interface DatabaseSettings {
  /** Database created in the cluster and used by the platform and the maintenance tasks. */
  readonly databaseName: string;
  /** Instance class without the `db.` prefix, e.g. 'r7g.large'. */
  readonly writerInstanceClass: string;
  /** Readers managed by CloudFormation; prod keeps >= 2 so a failover target exists in another AZ. */
  readonly readerInstanceClass: string;
  readonly readers: number;
  readonly backupRetentionDays: number;
  /** Deletion protection plus a RETAIN/SNAPSHOT removal policy in staging and prod. */
  readonly deletionProtection: boolean;
  readonly removalPolicy: RemovalPolicy;
  readonly logRetention: logs.RetentionDays;
  /** Enhanced monitoring granularity (1, 5, 10, 15, 30 or 60 seconds). */
  readonly monitoringIntervalSeconds: number;
  readonly databaseInsights: rds.DatabaseInsightsMode;
  readonly performanceInsightRetention: rds.PerformanceInsightRetention;
  readonly logMinDurationStatementMs: number;
  readonly idleInTransactionSessionTimeoutMs: number;
  /** 'pg' connects through RDS Proxy with IAM tokens; 'data-api' uses the RDS Data API over HTTPS. */
  readonly driver: Driver;
  /** Days between automatic rotations of the master secret. */
  readonly secretRotationDays: number;
}

export interface ProxySettings {
  /** Share of the writer's max_connections the proxy may open; the rest stays for maintenance and failover. */
  readonly maxConnectionsPercent: number;
  readonly maxIdleConnectionsPercent: number;
  /** How long a client waits for a pooled database connection; kept at the pool's connect timeout. */
  readonly borrowTimeout: Duration;
  readonly idleClientTimeout: Duration;
}

export interface ReplicaAutoScalingSettings {
  /** Counts every reader, the CloudFormation-managed ones included. */
  readonly minReaders: number;
  readonly maxReaders: number;
  readonly targetReaderCpuPercent: number;
  readonly targetReaderConnections: number;
  readonly scaleOutCooldown: Duration;
  readonly scaleInCooldown: Duration;
}

export interface TaskSettings {
  /** EventBridge schedule expression, UTC. */
  readonly schedule: string;
  readonly timeout: Duration;
  readonly memoryMb: number;
  /** Lambda asynchronous retries after a failed run (0-2). */
  readonly retryAttempts: number;
  /** An event older than this is dropped to the dead-letter queue instead of running late. */
  readonly maxEventAge: Duration;
}

export interface MaintenanceSettings {
  readonly partitionRetentionMonths: number;
  readonly lockTimeoutMs: number;
  readonly tasks: Readonly<Record<TaskName, TaskSettings>>;
}

export interface AlarmSettings {
  readonly email: string;
  /** Spec "Alert Thresholds". */
  readonly poolUtilizationPercent: number;
  readonly queryTimeMs: number;
  readonly cacheHitRatioPercent: number;
  readonly deadTuplePercent: number;
  /** Also the threshold long-query-check counts by: the stack passes it in the task's scheduled event. */
  readonly longQuerySeconds: number;
  /** Beyond the spec. */
  readonly cpuPercent: number;
  readonly freeableMemoryBytes: number;
  readonly replicaLagMs: number;
  readonly volumeBytesUsed: number;
  readonly freeLocalStorageBytes: number;
  readonly materializedViewStalenessSeconds: number;
  readonly partitionHeadroomMonths: number;
  readonly transactionIdAge: number;
  /** Rows in default partitions (above this alarms). */
  readonly defaultPartitionRows: number;
  readonly invalidIndexes: number;
  /** The fullest sequence's share of its range (above this alarms): at 100% every insert into its table fails. */
  readonly sequenceUsedPercent: number;
  /** Failures within 15 minutes: a minute-level task may miss once, a daily or weekly one may not. */
  readonly taskFailures: { readonly frequent: number; readonly scheduled: number };
  readonly deadLetterMessages: number;
  /** Publishing queue (release-stuck-claims, every minute). Spec 31.2: 99.9% of posts published. */
  readonly publishSuccessPercent: number;
  /** Oldest due post nobody holds; see README "Publishing queue" for the choice. */
  readonly publishQueueLagSeconds: number;
  /** Leases left behind by dead or hung workers within 15 minutes (above this alarms). */
  readonly stuckClaims: number;
  /** Posts waiting for a retry after transient platform failures (above this alarms). */
  readonly publishRetryBacklog: number;
}

export interface EnvironmentConfig {
  readonly envName: EnvironmentName;
  /**
   * NODE_ENV of the application tier. The application library stamps it (not envName) as the
   * Environment dimension of PoolUtilization, QueryDuration and SlowQueryCount, so the dashboard and
   * the ApplicationPoolUtilization alarm must query this value too, or they match nothing.
   */
  readonly applicationEnvironment: ApplicationEnvironment;
  readonly account: string;
  readonly region: string;
  /** Given explicitly so synth needs no context lookup; prod spans three. */
  readonly availabilityZones: readonly string[];
  readonly vpcCidr: string;
  readonly database: DatabaseSettings;
  readonly proxy: ProxySettings;
  readonly replicaAutoScaling: ReplicaAutoScalingSettings;
  readonly maintenance: MaintenanceSettings;
  readonly alarms: AlarmSettings;
}

const GiB = 1024 ** 3;

/** What each environment must name for itself. */
type Identity = 'envName' | 'applicationEnvironment' | 'account' | 'availabilityZones' | 'vpcCidr';
/** What every environment shares unless it says otherwise. */
type SharedSettings = Omit<EnvironmentConfig, Identity | 'alarms'> & { readonly alarms: Omit<AlarmSettings, 'email'> };
type DeepPartial<T> = { [K in keyof T]?: T[K] extends Duration | readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };
/** An environment: its identity and alarm address, and where it differs from the base. */
type EnvironmentOverrides = Pick<EnvironmentConfig, Identity> &
  DeepPartial<Omit<SharedSettings, 'alarms'>> & { readonly alarms: Pick<AlarmSettings, 'email'> & DeepPartial<SharedSettings['alarms']> };

const BASE: SharedSettings = {
  region: 'eu-west-1',
  database: {
    databaseName: 'platform',
    writerInstanceClass: 'r7g.large',
    readerInstanceClass: 'r7g.large',
    readers: 1,
    backupRetentionDays: 14,
    deletionProtection: true,
    removalPolicy: RemovalPolicy.SNAPSHOT,
    // Control Tower CT.CLOUDWATCH.PR.2 wants a year in every environment.
    logRetention: logs.RetentionDays.ONE_YEAR,
    monitoringIntervalSeconds: 15,
    databaseInsights: rds.DatabaseInsightsMode.STANDARD,
    performanceInsightRetention: rds.PerformanceInsightRetention.DEFAULT,
    logMinDurationStatementMs: 1000,
    idleInTransactionSessionTimeoutMs: 60_000,
    driver: 'pg',
    secretRotationDays: 30,
  },
  proxy: { maxConnectionsPercent: 90, maxIdleConnectionsPercent: 50, borrowTimeout: Duration.seconds(5), idleClientTimeout: Duration.minutes(15) },
  replicaAutoScaling: { minReaders: 1, maxReaders: 3, targetReaderCpuPercent: 65, targetReaderConnections: 400, scaleOutCooldown: Duration.minutes(5), scaleInCooldown: Duration.minutes(15) },
  maintenance: {
    partitionRetentionMonths: 12,
    lockTimeoutMs: 3000,
    // The spec's schedule table; times are UTC and spread so heavy tasks don't overlap.
    tasks: {
      'refresh-materialized-views': { schedule: 'cron(5 * * * ? *)', timeout: Duration.minutes(15), memoryMb: 512, retryAttempts: 1, maxEventAge: Duration.minutes(30) },
      'create-partitions': { schedule: 'cron(15 0 * * ? *)', timeout: Duration.minutes(5), memoryMb: 256, retryAttempts: 2, maxEventAge: Duration.hours(6) },
      'drop-old-partitions': { schedule: 'cron(30 3 ? * SUN *)', timeout: Duration.minutes(10), memoryMb: 256, retryAttempts: 2, maxEventAge: Duration.hours(6) },
      'vacuum-analyze': { schedule: 'cron(0 4 ? * SUN *)', timeout: Duration.minutes(15), memoryMb: 256, retryAttempts: 1, maxEventAge: Duration.hours(2) },
      reindex: { schedule: 'cron(0 5 1 * ? *)', timeout: Duration.minutes(15), memoryMb: 256, retryAttempts: 1, maxEventAge: Duration.hours(2) },
      'update-statistics': { schedule: 'cron(45 2 * * ? *)', timeout: Duration.minutes(15), memoryMb: 256, retryAttempts: 1, maxEventAge: Duration.hours(2) },
      // The next run comes within minutes, so a retry would only pile up behind it.
      'health-check': { schedule: 'rate(5 minutes)', timeout: Duration.minutes(2), memoryMb: 256, retryAttempts: 0, maxEventAge: Duration.minutes(5) },
      'long-query-check': { schedule: 'rate(1 minute)', timeout: Duration.seconds(50), memoryMb: 256, retryAttempts: 0, maxEventAge: Duration.minutes(1) },
      'release-stuck-claims': { schedule: 'rate(1 minute)', timeout: Duration.seconds(50), memoryMb: 256, retryAttempts: 0, maxEventAge: Duration.minutes(1) },
    },
  },
  alarms: {
    // Spec "Alert Thresholds".
    poolUtilizationPercent: 80,
    queryTimeMs: 1000,
    cacheHitRatioPercent: 90,
    deadTuplePercent: 20,
    longQuerySeconds: 30,
    materializedViewStalenessSeconds: 2 * 3600,
    partitionHeadroomMonths: 2,
    // Autovacuum's anti-wraparound default freezes at 200 million; a billion means it is falling behind.
    transactionIdAge: 1_000_000_000,
    defaultPartitionRows: 0,
    invalidIndexes: 0,
    sequenceUsedPercent: 80,
    taskFailures: { frequent: 2, scheduled: 1 },
    deadLetterMessages: 1,
    publishSuccessPercent: 99.9,
    // A worker's lease (120 s) plus the requeue cadence (60 s) is the longest the queue's own
    // recovery keeps a due post waiting; a burst of 100,000 drained in 47 s in the benchmark. Five
    // minutes late is what a customer notices, and only missing or overwhelmed workers get there.
    publishQueueLagSeconds: 300,
    // Five batches of 50 abandoned in 15 minutes: workers are crashing or hanging, not a one-off.
    stuckClaims: 250,
    // About a minute and a half of the spec's average rate (11.6 posts/s) stuck behind transient failures.
    publishRetryBacklog: 1000,
    cpuPercent: 85,
    freeableMemoryBytes: 1 * GiB,
    replicaLagMs: 2000,
    volumeBytesUsed: 200 * GiB,
    freeLocalStorageBytes: 5 * GiB,
  },
};

const ENVIRONMENTS: Record<EnvironmentName, EnvironmentOverrides> = {
  dev: {
    envName: 'dev',
    applicationEnvironment: 'development',
    account: '111111111111',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    vpcCidr: '10.10.0.0/16',
    database: {
      writerInstanceClass: 't4g.medium',
      readerInstanceClass: 't4g.medium',
      backupRetentionDays: 7,
      deletionProtection: false,
      removalPolicy: RemovalPolicy.DESTROY,
      monitoringIntervalSeconds: 60,
    },
    replicaAutoScaling: { maxReaders: 2, targetReaderCpuPercent: 70, targetReaderConnections: 200 },
    maintenance: { partitionRetentionMonths: 3 },
    alarms: { email: 'dbops-dev@example.com', cpuPercent: 90, freeableMemoryBytes: 256 * 1024 ** 2, replicaLagMs: 5000, volumeBytesUsed: 50 * GiB, freeLocalStorageBytes: 2 * GiB },
  },
  staging: {
    envName: 'staging',
    applicationEnvironment: 'staging',
    account: '222222222222',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    vpcCidr: '10.20.0.0/16',
    // Otherwise the base.
    alarms: { email: 'dbops-staging@example.com' },
  },
  prod: {
    envName: 'prod',
    applicationEnvironment: 'production',
    account: '333333333333',
    availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
    vpcCidr: '10.30.0.0/16',
    database: {
      writerInstanceClass: 'r7g.xlarge',
      // Same class as the writer: a reader is the failover target and must carry the writer's load.
      readerInstanceClass: 'r7g.xlarge',
      readers: 2,
      backupRetentionDays: 35,
      removalPolicy: RemovalPolicy.RETAIN,
      logRetention: logs.RetentionDays.ONE_YEAR,
      monitoringIntervalSeconds: 10,
      databaseInsights: rds.DatabaseInsightsMode.ADVANCED,
      performanceInsightRetention: rds.PerformanceInsightRetention.MONTHS_15,
    },
    replicaAutoScaling: { minReaders: 2, maxReaders: 8, targetReaderCpuPercent: 60, targetReaderConnections: 800, scaleInCooldown: Duration.minutes(20) },
    maintenance: { partitionRetentionMonths: 24 },
    alarms: { email: 'dbops-oncall@example.com', cpuPercent: 80, freeableMemoryBytes: 2 * GiB, replicaLagMs: 1000, volumeBytesUsed: 1024 * GiB, freeLocalStorageBytes: 10 * GiB },
  },
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** Overrides merged onto the base: plain objects key by key; anything else (Duration, arrays, enums) replaced whole. */
function deepMerge<T>(base: T, overrides: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(overrides)) return (overrides === undefined ? base : overrides) as T;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) merged[key] = deepMerge(merged[key], value);
  return merged as T;
}

export class UnknownEnvironmentError extends Error {
  constructor(name: unknown) {
    super(`unknown environment ${JSON.stringify(name)}: pass -c env=${ENVIRONMENT_NAMES.join('|')}`);
    this.name = 'UnknownEnvironmentError';
  }
}

export function isEnvironmentName(name: unknown): name is EnvironmentName {
  return typeof name === 'string' && (ENVIRONMENT_NAMES as readonly string[]).includes(name);
}

/** The settings for one environment, checked; `overrides` serve tests and one-off variants. */
export function environmentConfig(name: unknown, overrides: Partial<EnvironmentConfig> = {}): EnvironmentConfig {
  if (!isEnvironmentName(name)) throw new UnknownEnvironmentError(name);
  const config = { ...deepMerge<EnvironmentConfig>(BASE as EnvironmentConfig, ENVIRONMENTS[name]), ...overrides };
  validateConfig(config);
  return config;
}

const SCHEDULE = /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$/;
const MONITORING_INTERVALS = [1, 5, 10, 15, 30, 60];

/** Rejects settings AWS would refuse at deploy time, with a message naming the setting. */
export function validateConfig(config: EnvironmentConfig): void {
  const problems: string[] = [];
  const { database, replicaAutoScaling: scaling, proxy, maintenance, alarms } = config;
  const where = `environment ${config.envName}`;
  if (!/^\d{12}$/.test(config.account)) problems.push(`account must be 12 digits, got "${config.account}"`);
  if (config.availabilityZones.length < 2) problems.push('availabilityZones needs at least 2 zones (Aurora subnet group and proxy endpoints)');
  if (config.envName === 'prod' && config.availabilityZones.length < 3) problems.push('prod needs 3 availability zones');
  for (const zone of config.availabilityZones) {
    if (!zone.startsWith(config.region)) problems.push(`availability zone ${zone} is not in region ${config.region}`);
  }
  if (config.envName === 'prod' && database.readers < 2) problems.push('prod needs at least 2 readers in different zones');
  if (database.readers < 0 || database.readers > 15) problems.push('readers must be 0..15');
  if (database.backupRetentionDays < 1 || database.backupRetentionDays > 35) problems.push('backupRetentionDays must be 1..35');
  if (!MONITORING_INTERVALS.includes(database.monitoringIntervalSeconds)) problems.push(`monitoringIntervalSeconds must be one of ${MONITORING_INTERVALS.join(', ')}`);
  if (database.databaseInsights === rds.DatabaseInsightsMode.ADVANCED && database.performanceInsightRetention !== rds.PerformanceInsightRetention.MONTHS_15) {
    problems.push('Database Insights ADVANCED needs performanceInsightRetention MONTHS_15');
  }
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database.databaseName)) problems.push(`databaseName "${database.databaseName}" is not a plain lower-case identifier`);
  if (scaling.minReaders < database.readers) problems.push(`replicaAutoScaling.minReaders (${scaling.minReaders}) is below the ${database.readers} template-managed readers`);
  if (scaling.maxReaders < scaling.minReaders || scaling.maxReaders > 15) problems.push('replicaAutoScaling.maxReaders must be between minReaders and 15');
  if (proxy.maxIdleConnectionsPercent > proxy.maxConnectionsPercent) problems.push('proxy.maxIdleConnectionsPercent cannot exceed maxConnectionsPercent');
  if (proxy.maxConnectionsPercent < 1 || proxy.maxConnectionsPercent > 100) problems.push('proxy.maxConnectionsPercent must be 1..100');
  if (proxy.borrowTimeout.toSeconds() > 3600) problems.push('proxy.borrowTimeout must be at most 3600 s');
  if (maintenance.partitionRetentionMonths < 1) problems.push('maintenance.partitionRetentionMonths must be at least 1');
  for (const task of TASK_NAMES) {
    const settings = maintenance.tasks[task];
    if (!settings) {
      problems.push(`maintenance.tasks has no entry for ${task}`);
      continue;
    }
    if (!SCHEDULE.test(settings.schedule)) problems.push(`maintenance.tasks.${task}.schedule "${settings.schedule}" is not an EventBridge rate() or cron() expression`);
    if (settings.timeout.toSeconds() > 900) problems.push(`maintenance.tasks.${task}.timeout exceeds Lambda's 15 minutes`);
    if (settings.retryAttempts < 0 || settings.retryAttempts > 2) problems.push(`maintenance.tasks.${task}.retryAttempts must be 0..2`);
    const age = settings.maxEventAge.toSeconds();
    if (age < 60 || age > 6 * 3600) problems.push(`maintenance.tasks.${task}.maxEventAge must be 1 minute..6 hours`);
  }
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarms.email)) problems.push(`alarms.email "${alarms.email}" is not an e-mail address`);
  if (problems.length > 0) throw new Error(`invalid settings for ${where}: ${problems.join('; ')}`);
}

/** The margin a task keeps between its own time budget and the Lambda timeout, to report and release locks. */
export function taskTimeBudgetMs(settings: TaskSettings): number {
  const timeoutMs = settings.timeout.toMilliseconds();
  return timeoutMs - Math.max(5_000, Math.round(timeoutMs * 0.1));
}
