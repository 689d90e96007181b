import { withTaskLock } from '../db/advisory-lock';
import { Executor, OverlapError, UnsupportedByDriverError } from '../db/executor';
import type { Instance } from '../db/instances';
import type { LockRetryOptions } from '../db/lock-retry';
import { MetricDatum, datum, withEnvironment } from '../metrics/datum';
import { MetricSink, PublishReport } from '../metrics/sink';
import { budgetFor } from './budget';
import { createTaskContext, errorText } from './context';
import { COMMON_OPTIONS, OptionSchema, ValidationError, validateOptions } from './options';
import { TASKS, isTaskName } from './registry';
import { checkTargets } from './targets';
import { TASK_NAMES, TaskName, TaskOutcome, TaskResult } from './types';

export interface TaskRequest {
  task: TaskName;
  options: Record<string, unknown>;
}

export interface RunnerSettings {
  environment: string;
  retentionMonths?: number;
  lockTimeoutMs: number;
  timeBudgetMs?: number;
}

export interface RunnerDeps {
  executor: Executor;
  sink: MetricSink;
  settings: RunnerSettings;
  /** Lambda: context.getRemainingTimeInMillis() at the start of the invocation. */
  lambdaRemainingMs?: number;
  lockRetry?: Partial<LockRetryOptions>;
  log?: (message: string, fields?: Record<string, unknown>) => void;
  /** The cluster's instances for the per-server checks (lambdas/db/instances.ts); none: the session's server only. */
  instances?: readonly Instance[];
  /** Clock of the time budget (tests drive it). */
  clock?: () => number;
}

export function optionSchemaOf(task: TaskName): OptionSchema {
  return { ...COMMON_OPTIONS, ...TASKS[task].options };
}

/**
 * An EventBridge event `{ "task": "<name>", ...options }` (or the CLI's equivalent), checked
 * completely before anything touches the database.
 */
export function parseTaskRequest(event: unknown): TaskRequest {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new ValidationError(`event must be a JSON object like {"task": "health-check"}, got ${event === null ? 'null' : Array.isArray(event) ? 'array' : typeof event}`);
  }
  const { task, ...rest } = event as Record<string, unknown>;
  if (task === undefined) throw new ValidationError(`event has no "task" field (one of: ${TASK_NAMES.join(', ')})`);
  if (!isTaskName(task)) {
    throw new ValidationError(`unknown task ${JSON.stringify(task)} (one of: ${TASK_NAMES.join(', ')})`);
  }
  return { task, options: validateOptions(task, optionSchemaOf(task), rest) };
}

function defaultLog(message: string, fields?: Record<string, unknown>): void {
  console.log(JSON.stringify({ level: 'info', message, ...fields }));
}

/** The one way every entry point (Lambda, CLI, demo) runs a task. */
export async function runTask(event: unknown, deps: RunnerDeps): Promise<TaskResult> {
  const request = parseTaskRequest(event);
  const definition = TASKS[request.task];
  if (deps.executor.driver === 'data-api' && definition.dataApiUnsupported) {
    throw new UnsupportedByDriverError('data-api', `task ${definition.name}`, definition.dataApiUnsupported);
  }
  const options = request.options as { dryRun: boolean; lockTimeoutMs?: number; timeBudgetMs?: number };
  const log = deps.log ?? defaultLog;
  const dryRun = options.dryRun;
  const started = Date.now();
  const result: TaskResult = {
    task: definition.name,
    status: 'succeeded',
    environment: deps.settings.environment,
    driver: deps.executor.driver,
    dryRun,
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    summary: {},
    remaining: [],
    warnings: [],
    failures: [],
  };
  const budget = budgetFor({ configuredMs: deps.settings.timeBudgetMs, optionMs: options.timeBudgetMs, lambdaRemainingMs: deps.lambdaRemainingMs }, deps.clock);

  let progress: Record<string, unknown> = {};
  let outcomeMetrics: MetricDatum[] = [];
  try {
    const outcome = await deps.executor.withSession(
      async (session) => {
        // Named objects are checked first: a wrong one is the caller's error, not a failed run.
        await checkTargets(session, definition.name, optionSchemaOf(request.task), request.options);
        const locked = await withTaskLock(session, definition.name, async () => {
          const ctx = createTaskContext(definition, session, {
            environment: deps.settings.environment,
            driver: deps.executor.driver,
            retentionMonths: deps.settings.retentionMonths,
            lockTimeoutMs: options.lockTimeoutMs ?? deps.settings.lockTimeoutMs,
            lockRetry: deps.lockRetry,
            budget,
            dryRun,
            instances: deps.instances,
            log,
            // Side sessions beside the one this task holds: a pool of one has none to give.
            openSession: (work) => deps.executor.withSession(work, { applicationName: `dbops:${definition.name}` }),
            sideSessions: (deps.executor.limits.maxSessions ?? Infinity) - 1,
          });
          progress = ctx.progress;
          return definition.run(ctx, request.options as Parameters<typeof definition.run>[1]);
        });
        return locked.acquired ? locked.value : undefined;
      },
      { applicationName: `dbops:${definition.name}` },
    );
    if (outcome === undefined) {
      markSkipped(result);
    } else {
      applyOutcome(result, outcome);
      outcomeMetrics = outcome.metrics;
    }
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    if (error instanceof OverlapError) {
      markSkipped(result);
    } else {
      result.status = 'failed';
      result.summary = { ...progress, ...result.summary };
      result.error = { name: (error as Error).name ?? 'Error', message: errorText(error), code: (error as { code?: string }).code };
      result.reason = errorText(error);
    }
  }
  result.durationMs = Date.now() - started;
  log(`${definition.name} ${result.status} in ${result.durationMs} ms`, result.reason ? { level: result.status === 'failed' ? 'error' : 'info', reason: result.reason } : undefined);

  result.metrics = await publish(deps.sink, deps.settings.environment, [...outcomeMetrics, ...taskMetrics(result)]);
  if (result.metrics.error) result.warnings.push(`metrics not published: ${result.metrics.error}`);
  return result;
}

function applyOutcome(target: TaskResult, outcome: TaskOutcome): void {
  target.summary = outcome.summary;
  target.remaining = outcome.remaining ?? [];
  target.warnings = [...(outcome.warnings ?? [])];
  target.failures = outcome.failures ?? [];
  if (target.failures.length > 0) {
    target.status = 'failed';
    target.reason = `${target.failures.length} item(s) failed: ${target.failures.map((f) => `${f.item}: ${f.error}`).join('; ')}`;
  }
}

function markSkipped(result: TaskResult): void {
  result.status = 'skipped';
  result.reason = `another ${result.task} run holds the advisory lock dbops:${result.task}`;
}

function taskMetrics(result: TaskResult): MetricDatum[] {
  const dims = { Task: result.task };
  return [
    datum('taskDuration', result.durationMs, dims),
    datum('taskSuccess', result.status === 'succeeded' ? 1 : 0, dims),
    datum('taskFailure', result.status === 'failed' ? 1 : 0, dims),
    datum('taskSkipped', result.status === 'skipped' ? 1 : 0, dims),
  ];
}

/** Publishing never undoes or hides the task's work: a failure is logged and shown in the result. */
export async function publish(sink: MetricSink, environment: string, data: MetricDatum[]): Promise<PublishReport> {
  const stamped = withEnvironment(data, environment);
  try {
    const report = await sink.publish(stamped);
    if (report.rejected.length > 0) console.warn(JSON.stringify({ level: 'warn', message: 'metrics rejected', rejected: report.rejected }));
    if (report.error) console.error(JSON.stringify({ level: 'error', message: 'metrics publish failed', error: report.error }));
    return report;
  } catch (error) {
    console.error(JSON.stringify({ level: 'error', message: 'metrics publish failed', error: errorText(error) }));
    return { sink: sink.name, attempted: stamped.length, published: 0, rejected: [], error: errorText(error) };
  }
}
