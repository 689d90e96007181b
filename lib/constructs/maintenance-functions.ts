import path from 'node:path';
import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE } from '../../lambdas/metrics/catalog';
import { EnvironmentConfig, taskTimeBudgetMs } from '../config/environments';
import { PER_INSTANCE_TASKS, TASK_NAMES, TaskName } from '../../lambdas/tasks/task-names';
import { MAINTENANCE_DB_USER } from '../config/managed-objects';
import { PROJECT_ROOT, bundlingOptions, functionDefaults, vpcNetworkInterfaceStatement } from './bundling';
import { DATABASE_PORT } from './database-cluster';
import { encryptedLogGroup } from './log-encryption';

export const MAINTENANCE_HANDLER_ENTRY = path.join(PROJECT_ROOT, 'lambdas', 'handlers', 'maintenance-task.ts');

export interface MaintenanceFunctionsProps {
  readonly config: EnvironmentConfig;
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly cluster: rds.DatabaseCluster;
  readonly proxy: rds.DatabaseProxy;
  /** Data API driver only: the maintenance user's password secret. */
  readonly maintenanceSecret?: secretsmanager.ISecret;
}

export interface MaintenanceTask {
  readonly name: TaskName;
  readonly function: nodejs.NodejsFunction;
  readonly rule: events.Rule;
  readonly logGroup: logs.LogGroup;
}

/**
 * One function per scheduled task, so each has its own timeout, memory, retry policy, log group and
 * alarms, all running the same handler with `{ task }` as the event. One EventBridge rule per task
 * carries the spec's schedule; failed deliveries and failed runs both land in one dead-letter queue.
 */
export class MaintenanceFunctions extends Construct {
  readonly tasks: Readonly<Record<TaskName, MaintenanceTask>>;
  readonly role: iam.Role;
  readonly securityGroup: ec2.SecurityGroup;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: MaintenanceFunctionsProps) {
    super(scope, id);
    const { config, vpc, cluster, proxy } = props;
    const driver = config.database.driver;
    const defaults = functionDefaults();

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: `dbops ${config.envName}: maintenance functions; reach the proxy and VPC endpoints`,
      allowAllOutbound: false,
    });
    // HTTPS to the interface endpoints; the proxy grants its own port (DatabaseProxy.allowFrom).
    this.securityGroup.addEgressRule(ec2.Peer.ipv4(config.vpcCidr), ec2.Port.tcp(443), 'VPC endpoints (Secrets Manager, CloudWatch, RDS Data)');

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Control Tower CT.SQS.PR.1 knows a dead-letter queue by this policy (allowAll or byQueue; denyAll
      // marks a plain queue). Its sources are Lambda and EventBridge, not SQS queues, so byQueue has no
      // queue to name; allowAll is what SQS assumes without the policy, now declared.
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the maintenance functions and their schedule targets',
    }, {
      id: 'Serverless-SQSRedrivePolicy',
      reason: 'A dead-letter queue has nowhere further to redrive to; its depth is alarmed and messages are kept 14 days',
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `dbops ${config.envName}: maintenance tasks`,
    });
    this.role.addToPolicy(
      vpcNetworkInterfaceStatement(),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PublishDbopsMetricsOnly',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACE } },
      }),
    );
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Lambda VPC network-interface actions and cloudwatch:PutMetricData have no resource-level permissions; PutMetricData is restricted to the AuroraDbops namespace by condition',
    });

    if (driver === 'pg') {
      // IAM login through the proxy as the maintenance user, and no other user.
      proxy.grantConnect(this.role, MAINTENANCE_DB_USER);
      // The per-server checks also log in to each instance's own endpoint (every Aurora reader is its
      // own server): IAM login to the cluster as the same user, and the instances found at run time.
      cluster.grantConnect(this.role, MAINTENANCE_DB_USER);
      this.role.addToPolicy(
        new iam.PolicyStatement({ sid: 'DescribeThisCluster', actions: ['rds:DescribeDBClusters'], resources: [cluster.clusterArn] }),
      );
      // Auto-scaled readers get generated names (application-autoscaling-...), unknown at synth.
      const anyInstance = Stack.of(this).formatArn({ service: 'rds', resource: 'db', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
      this.role.addToPolicy(new iam.PolicyStatement({ sid: 'DescribeInstancesOfTheCluster', actions: ['rds:DescribeDBInstances'], resources: [anyInstance] }));
      // cdk-nag names the resource as synthesized: literal when the stack's account and region are known.
      const ackedResource = Token.isUnresolved(anyInstance) ? 'arn:<AWS::Partition>:rds:<AWS::Region>:<AWS::AccountId>:db:*' : anyInstance;
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${ackedResource}]`,
        reason: 'rds:DescribeDBInstances, read-only: the per-server checks find every instance of the cluster, auto-scaled readers included, whose names are generated at run time',
      });
    } else {
      if (!props.maintenanceSecret) throw new Error('the data-api driver needs the maintenance user secret');
      props.maintenanceSecret.grantRead(this.role);
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'DataApiOnThisCluster',
          actions: ['rds-data:ExecuteStatement', 'rds-data:BatchExecuteStatement', 'rds-data:BeginTransaction', 'rds-data:CommitTransaction', 'rds-data:RollbackTransaction'],
          resources: [cluster.clusterArn],
        }),
      );
    }

    const tasks = {} as Record<TaskName, MaintenanceTask>;
    for (const task of TASK_NAMES) {
      const settings = config.maintenance.tasks[task];
      const constructId = pascalCase(task);
      const logGroup = encryptedLogGroup(this, `${constructId}Logs`, {
        retention: config.database.logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      logGroup.grantWrite(this.role);

      const environment: Record<string, string> = {
        ...defaults.environment,
        DBOPS_ENV: config.envName,
        DBOPS_DRIVER: driver,
        DB_HOST: proxy.endpoint,
        DB_PORT: String(DATABASE_PORT),
        DB_NAME: config.database.databaseName,
        DB_USER: MAINTENANCE_DB_USER,
        DB_IAM_AUTH: driver === 'pg' ? 'true' : 'false',
        DB_CLUSTER_ARN: cluster.clusterArn,
        METRICS_NAMESPACE: METRIC_NAMESPACE,
        PARTITION_RETENTION_MONTHS: String(config.maintenance.partitionRetentionMonths),
        DBOPS_LOCK_TIMEOUT_MS: String(config.maintenance.lockTimeoutMs),
        DBOPS_TIME_BUDGET_MS: String(taskTimeBudgetMs(settings)),
      };
      if (props.maintenanceSecret) environment.DB_SECRET_ARN = props.maintenanceSecret.secretArn;
      // The Data API reaches the writer only (the handler would warn every run): pg only.
      if (driver === 'pg' && PER_INSTANCE_TASKS.includes(task)) environment.DB_CLUSTER_IDENTIFIER = cluster.clusterIdentifier;

      const fn = new nodejs.NodejsFunction(this, constructId, {
        ...defaults,
        entry: MAINTENANCE_HANDLER_ENTRY,
        handler: 'handler',
        description: `dbops ${config.envName}: ${task} (${settings.schedule})`,
        timeout: settings.timeout,
        memorySize: settings.memoryMb,
        environment,
        role: this.role,
        logGroup,
        vpc,
        vpcSubnets: props.subnets,
        securityGroups: [this.securityGroup],
        // Overlapping runs are turned away by the handler's advisory lock (TaskSkipped), not by reserved
        // concurrency, which would queue throttled events and can fail deploys in low-quota accounts.
        retryAttempts: settings.retryAttempts,
        maxEventAge: settings.maxEventAge,
        deadLetterQueue: this.deadLetterQueue,
        bundling: bundlingOptions(),
      });

      const rule = new events.Rule(this, `${constructId}Schedule`, {
        description: `dbops ${config.envName}: run ${task}`,
        schedule: events.Schedule.expression(settings.schedule),
        targets: [
          new targets.LambdaFunction(fn, {
            event: events.RuleTargetInput.fromObject(scheduledEvent(task, config)),
            retryAttempts: 2,
            maxEventAge: settings.maxEventAge,
            deadLetterQueue: this.deadLetterQueue,
          }),
        ],
      });
      Validations.of(fn).acknowledge(
        {
          id: 'Serverless-LambdaAsyncFailureDestination',
          reason: 'Failed asynchronous runs go to the SQS dead-letter queue (DeadLetterConfig), which is alarmed on; an on-failure destination would duplicate it',
        },
        {
          id: 'Serverless-LambdaTracing',
          reason: 'The VPC has no NAT and no X-Ray endpoint; each task publishes its own TaskDuration, TaskSuccess and TaskFailure metrics and JSON logs',
        },
      );
      tasks[task] = { name: task, function: fn, rule, logGroup };
    }
    this.tasks = tasks;
  }
}

export function pascalCase(name: string): string {
  return name
    .split(/[-_\s]+/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/**
 * The event a task's schedule sends. long-query-check counts by the threshold its alarm
 * (LongRunningQuery) watches, so both read config.alarms.longQuerySeconds and cannot disagree.
 */
export function scheduledEvent(task: TaskName, config: EnvironmentConfig): Record<string, unknown> {
  return task === 'long-query-check' ? { task, thresholdSeconds: config.alarms.longQuerySeconds } : { task };
}
