import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as rds from 'aws-cdk-lib/aws-rds';
import {
  ENVIRONMENT_NAMES,
  EnvironmentConfig,
  UnknownEnvironmentError,
  environmentConfig,
  taskTimeBudgetMs,
  validateConfig,
} from '../../lib/config/environments';
import { ENVIRONMENTS as APPLICATION_ENVIRONMENTS } from '../../platform-db/config';
import { TASK_NAMES } from '../../lambdas/tasks/task-names';
import { MANAGED_MATERIALIZED_VIEWS, MANAGED_PARTITIONED_TABLES } from '../../lib/config/managed-objects';
import { REPO_ROOT, cdkJsonContext } from './synth';

describe('environment configuration', () => {
  it('rejects an unknown environment name with a message naming it and the valid ones', () => {
    expect(() => environmentConfig('qa')).toThrow(UnknownEnvironmentError);
    expect(() => environmentConfig('qa')).toThrow('unknown environment "qa": pass -c env=dev|staging|prod');
    expect(() => environmentConfig(undefined)).toThrow('unknown environment undefined');
    expect(() => environmentConfig('PROD')).toThrow(UnknownEnvironmentError);
  });

  it.each(ENVIRONMENT_NAMES)('%s is valid and complete', (name) => {
    const config = environmentConfig(name);
    expect(config.envName).toBe(name);
    expect(Object.keys(config.maintenance.tasks).sort()).toEqual([...TASK_NAMES].sort());
    expect(config.availabilityZones.every((zone) => zone.startsWith(config.region))).toBe(true);
  });

  it.each(ENVIRONMENT_NAMES)('%s names an application NODE_ENV the application library accepts', (name) => {
    // The dashboard finds PoolUtilization / QueryDuration under this value; a value the library rejects matches nothing.
    expect(APPLICATION_ENVIRONMENTS).toContain(environmentConfig(name).applicationEnvironment);
  });

  // The spec's production pool is the application library's (platform-db/config.ts, test/platform-db/config.test.ts).
  it('gives prod three zones, two readers, 35-day backups and protection', () => {
    const prod = environmentConfig('prod');
    expect(prod.availabilityZones).toHaveLength(3);
    expect(prod.database.readers).toBeGreaterThanOrEqual(2);
    expect(prod.database.backupRetentionDays).toBe(35);
    expect(prod.database.deletionProtection).toBe(true);
    expect(prod.alarms).toMatchObject({ poolUtilizationPercent: 80, queryTimeMs: 1000, cacheHitRatioPercent: 90, deadTuplePercent: 20, longQuerySeconds: 30 });
  });

  it('follows the spec schedule table', () => {
    const tasks = environmentConfig('prod').maintenance.tasks;
    expect(tasks['long-query-check'].schedule).toBe('rate(1 minute)');
    expect(tasks['health-check'].schedule).toBe('rate(5 minutes)');
    expect(tasks['refresh-materialized-views'].schedule).toMatch(/^cron\(\d+ \* \* \* \? \*\)$/); // hourly
    expect(tasks['create-partitions'].schedule).toMatch(/^cron\(\d+ \d+ \* \* \? \*\)$/); // daily
    expect(tasks['update-statistics'].schedule).toMatch(/^cron\(\d+ \d+ \* \* \? \*\)$/); // daily
    expect(tasks['drop-old-partitions'].schedule).toMatch(/^cron\(\d+ \d+ \? \* [A-Z]{3} \*\)$/); // weekly
    expect(tasks['vacuum-analyze'].schedule).toMatch(/^cron\(\d+ \d+ \? \* [A-Z]{3} \*\)$/); // weekly
    expect(tasks.reindex.schedule).toMatch(/^cron\(\d+ \d+ 1 \* \? \*\)$/); // monthly
  });

  describe('validation names the broken setting', () => {
    const prod = environmentConfig('prod');
    const broken = (change: (config: EnvironmentConfig) => EnvironmentConfig) => () => validateConfig(change(prod));

    it('prod with two zones or one reader', () => {
      expect(broken((c) => ({ ...c, availabilityZones: ['eu-west-1a', 'eu-west-1b'] }))).toThrow('prod needs 3 availability zones');
      expect(broken((c) => ({ ...c, database: { ...c.database, readers: 1 } }))).toThrow('prod needs at least 2 readers');
    });

    it('a zone outside the region', () => {
      expect(broken((c) => ({ ...c, availabilityZones: ['eu-west-1a', 'eu-west-1b', 'us-east-1a'] }))).toThrow('us-east-1a is not in region eu-west-1');
    });

    it('auto-scaling minimum below the template readers, and maximum above 15', () => {
      expect(broken((c) => ({ ...c, replicaAutoScaling: { ...c.replicaAutoScaling, minReaders: 1 } }))).toThrow('minReaders (1) is below the 2 template-managed readers');
      expect(broken((c) => ({ ...c, replicaAutoScaling: { ...c.replicaAutoScaling, maxReaders: 16 } }))).toThrow('maxReaders must be between minReaders and 15');
    });

    it('Database Insights ADVANCED without 15 months of Performance Insights', () => {
      expect(
        broken((c) => ({ ...c, database: { ...c.database, performanceInsightRetention: rds.PerformanceInsightRetention.DEFAULT } })),
      ).toThrow('ADVANCED needs performanceInsightRetention MONTHS_15');
    });

    it('a schedule EventBridge would refuse, and a timeout beyond Lambda limits', () => {
      const tasks = prod.maintenance.tasks;
      expect(
        broken((c) => ({ ...c, maintenance: { ...c.maintenance, tasks: { ...tasks, reindex: { ...tasks.reindex, schedule: '0 5 1 * *' } } } })),
      ).toThrow('maintenance.tasks.reindex.schedule "0 5 1 * *" is not an EventBridge');
      expect(
        broken((c) => ({ ...c, maintenance: { ...c.maintenance, tasks: { ...tasks, reindex: { ...tasks.reindex, timeout: Duration.minutes(20) } } } })),
      ).toThrow("maintenance.tasks.reindex.timeout exceeds Lambda's 15 minutes");
    });

    it('proxy idle share above its connection share, and a bad e-mail', () => {
      expect(broken((c) => ({ ...c, proxy: { ...c.proxy, maxIdleConnectionsPercent: 95 } }))).toThrow('maxIdleConnectionsPercent cannot exceed');
      expect(broken((c) => ({ ...c, alarms: { ...c.alarms, email: 'oncall' } }))).toThrow('alarms.email "oncall" is not an e-mail address');
    });

    it('overrides pass through the same checks', () => {
      expect(() => environmentConfig('dev', { account: '12345' })).toThrow('account must be 12 digits');
    });
  });

  it('leaves every task a margin between its time budget and the Lambda timeout', () => {
    for (const task of TASK_NAMES) {
      const settings = environmentConfig('prod').maintenance.tasks[task];
      const budget = taskTimeBudgetMs(settings);
      expect(budget).toBeGreaterThan(0);
      expect(settings.timeout.toMilliseconds() - budget).toBeGreaterThanOrEqual(5000);
    }
  });
});

describe('names the alarms and the dashboard address', () => {
  /** The quoted values of one INSERT INTO <registry> (<key column>, ...) VALUES ... ; of the migrations. */
  const registered = (file: string, registry: string): string[] => {
    const sql = readFileSync(path.join(REPO_ROOT, 'sql', 'migrations', file), 'utf8');
    const insert = sql.match(new RegExp(`INSERT INTO ${registry.replace('.', '\\.')}\\s*\\([^)]*\\)\\s*VALUES([\\s\\S]*?);`, 'i'));
    expect(insert).not.toBeNull();
    return [...insert![1].matchAll(/\(\s*'([^']+)'/g)].map((m) => m[1]);
  };

  it('match the Table and View dimension values the tasks publish (dbops.partitioned_tables, dbops.materialized_views)', () => {
    expect([...MANAGED_PARTITIONED_TABLES].sort()).toEqual(registered('020_partition_management.sql', 'dbops.partitioned_tables').sort());
    expect([...MANAGED_MATERIALIZED_VIEWS].sort()).toEqual(
      [
        ...registered('040_materialized_views.sql', 'dbops.materialized_views'),
        ...registered('070_incremental_analytics.sql', 'dbops.materialized_views'),
        ...registered('093_post_day_rollup.sql', 'dbops.materialized_views'),
      ].sort(),
    );
  });
});

describe('cdk.json', () => {
  it('runs the app with tsx and carries every recommended feature flag of the installed aws-cdk-lib', () => {
    const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8'));
    expect(cdkJson.app).toBe('npx tsx bin/aurora-dbops.ts');
    const recommended = JSON.parse(readFileSync(require.resolve('aws-cdk-lib/recommended-feature-flags.json'), 'utf8'));
    expect(Object.keys(recommended).length).toBeGreaterThan(50);
    expect(cdkJsonContext()).toMatchObject(recommended);
  });
});
