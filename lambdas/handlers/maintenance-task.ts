import { ConfigError, DbopsConfig, loadRuntimeConfig } from '../db/env-config';
import type { Executor } from '../db/executor';
import { InstanceDeps, InstanceSet, openInstances } from '../db/instances';
import { ConnectionDeps, createExecutor } from '../db/pool-from-env';
import { CloudWatchSink } from '../metrics/cloudwatch-sink';
import { datum } from '../metrics/datum';
import type { MetricSink } from '../metrics/sink';
import { ValidationError } from '../tasks/options';
import { TASKS, isTaskName } from '../tasks/registry';
import { parseTaskRequest, publish, runTask } from '../tasks/runner';
import type { TaskResult } from '../tasks/types';

/**
 * Lambda entry for every scheduled maintenance task. EventBridge sends `{ "task": "<name>", ...options }`.
 * A failed run publishes TaskFailure and then throws, so Lambda's retries, the DLQ and the
 * Errors alarm all see it; a skipped run (overlap) is a normal, successful return, and so is an
 * invalid event (status "rejected", metric TaskRejected): retrying it could not make it valid.
 */
export interface LambdaContextLike {
  getRemainingTimeInMillis(): number;
}

/** 28P01 invalid_password: also what an expired IAM token or a rotated secret produces. */
const INVALID_PASSWORD = '28P01';

/** What the handler returns for an event it refuses as invalid. */
export interface RejectedEvent {
  task: string;
  status: 'rejected';
  error: { name: string; message: string };
}

export class TaskFailedError extends Error {
  constructor(readonly result: TaskResult) {
    super(`task ${result.task} failed: ${result.reason ?? 'unknown reason'}`);
    this.name = 'TaskFailedError';
  }
}

export interface HandlerDeps {
  env?: Record<string, string | undefined>;
  /** Builds the database executor; defaults to the one the environment describes. */
  createExecutor?: (config: DbopsConfig) => Promise<Executor>;
  createSink?: (config: DbopsConfig) => MetricSink;
  connection?: ConnectionDeps;
  openInstances?: (config: DbopsConfig, deps: InstanceDeps) => Promise<InstanceSet | undefined>;
}

const warn = (message: string) => console.log(JSON.stringify({ level: 'warn', message }));

export function createHandler(deps: HandlerDeps = {}) {
  // Reused across warm invocations: one pool (or Data API client) per container.
  let executor: { key: string; value: Promise<Executor> } | undefined;
  let sink: { key: string; value: MetricSink } | undefined;

  const executorFor = (config: DbopsConfig): Promise<Executor> => {
    const key = JSON.stringify(config.connection) + config.driver;
    if (executor?.key !== key) {
      const value = (deps.createExecutor ?? ((c) => createExecutor(c, deps.connection)))(config);
      // A failed connection setup (secret unreadable, say) must not be cached for the next invocation.
      value.catch(() => {
        if (executor?.value === value) executor = undefined;
      });
      executor = { key, value };
    }
    return executor.value;
  };
  const sinkFor = (config: DbopsConfig): MetricSink => {
    const key = config.metricsNamespace;
    if (sink?.key !== key) sink = { key, value: (deps.createSink ?? ((c) => new CloudWatchSink({ namespace: c.metricsNamespace })))(config) };
    return sink.value;
  };

  async function handler(event: unknown, context?: LambdaContextLike): Promise<TaskResult | RejectedEvent> {
    const config = loadRuntimeConfig(deps.env ?? process.env);
    let result: TaskResult;
    const named = typeof event === 'object' && event !== null ? (event as { task?: unknown }).task : undefined;
    const task = isTaskName(named) ? named : 'invalid-event';
    try {
      const request = parseTaskRequest(event);
      // Opened per invocation: readers come and go with auto scaling.
      const instances = TASKS[request.task].perInstance ? await (deps.openInstances ?? openInstances)(config, { ...deps.connection, warn }) : undefined;
      try {
        result = await runTask(event, {
          executor: await executorFor(config),
          sink: sinkFor(config),
          settings: config,
          lambdaRemainingMs: context?.getRemainingTimeInMillis(),
          instances: instances?.instances,
        });
      } finally {
        await instances?.close();
      }
    } catch (error) {
      if (error instanceof ValidationError) {
        // The event itself is wrong (bad option, a named object missing or unmanaged): retrying it
        // cannot help, so it is returned, not thrown (no Lambda retry, no dead-letter queue), and
        // counted as TaskRejected rather than TaskFailure.
        await publish(sinkFor(config), config.environment, [datum('taskRejected', 1, { Task: task })]);
        const rejected: RejectedEvent = { task, status: 'rejected', error: { name: error.name, message: error.message } };
        console.log(JSON.stringify({ level: 'error', message: 'task event rejected', result: rejected }));
        return rejected;
      }
      // Not run (task unsupported by the driver, no connection): counted, so it shows in alarms.
      await publish(sinkFor(config), config.environment, [datum('taskFailure', 1, { Task: task })]);
      throw error;
    }
    console.log(JSON.stringify({ level: result.status === 'failed' ? 'error' : 'info', message: 'task result', result }));
    // A rotated secret makes the cached pool's password wrong: rebuild it on the next invocation.
    if (result.error?.code === INVALID_PASSWORD) await dispose();
    if (result.status === 'failed') throw new TaskFailedError(result);
    return result;
  }

  /** Closes the cached pool (tests, or a CLI reusing the handler); Lambda never needs it. */
  async function dispose(): Promise<void> {
    const current = executor;
    executor = undefined;
    if (current) await (await current.value.catch(() => undefined))?.close();
  }

  return Object.assign(handler, { dispose });
}

export const handler = createHandler();

export { ConfigError };
