import type { LockRetryOptions } from '../db/lock-retry';
import type { Queryable, Row, Session } from '../db/executor';
import type { MetricDatum } from '../metrics/datum';
import type { PublishReport } from '../metrics/sink';
import type { TimeBudget } from './budget';
import type { OptionSchema, OptionsOf } from './options';
import { COMMON_OPTIONS } from './options';

export { TASK_NAMES, type TaskName } from './task-names';
import type { TaskName } from './task-names';

export interface MaintenanceStatement {
  /** What the statement works on, for logs and `remaining`. */
  label: string;
  /** VACUUM and CONCURRENTLY refuse transaction blocks. */
  noTransaction?: boolean;
  /**
   * statement_timeout for this statement. Defaults to the task's, capped by the time budget.
   * 0 = none: a cancelled concurrent build leaves an INVALID index behind, so those run uncapped.
   */
  statementTimeoutMs?: number;
}

import type { Instance } from '../db/instances';

export interface TaskContext {
  readonly task: TaskName;
  readonly session: Session;
  readonly driver: 'pg' | 'data-api';
  readonly environment: string;
  /** PARTITION_RETENTION_MONTHS when set; otherwise each table's registry value applies. */
  readonly retentionMonths?: number;
  readonly lockTimeoutMs: number;
  readonly lockRetry: LockRetryOptions;
  readonly budget: TimeBudget;
  readonly dryRun: boolean;
  /** Filled as work is done, so a failed run still shows what it finished. */
  readonly progress: Record<string, unknown>;
  log(message: string, fields?: Record<string, unknown>): void;
  /** Catalog / status reads, under the task's statement_timeout. */
  read<R extends Row = Row>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** read() as a Queryable, for the health checks. */
  readonly reader: Queryable;
  /**
   * Every instance of the cluster (writer and readers) when discovery is configured; the per-server
   * checks run on each. Empty: they run on the session's server only.
   */
  readonly instances: readonly Instance[];
  /** DDL and maintenance: short lock_timeout, retried with backoff, never queued behind a lock. */
  maintain<R extends Row = Row>(text: string, params: readonly unknown[], statement: MaintenanceStatement): Promise<R[]>;
  /**
   * Runs work in a context of its own on another session of the same executor (its own
   * connection; the task's budget, settings and log), for work that can go side by side
   * (eachWithinBudgetSideBySide). The task's advisory lock stays with the first session.
   * Undefined where no second session can be opened.
   */
  readonly withSideSession?: <T>(work: (side: TaskContext) => Promise<T>) => Promise<T>;
  /** How many side sessions can be open at once (the executor's sessions beside this one). */
  readonly sideSessions: number;
}

export interface TaskOutcome {
  summary: Record<string, unknown>;
  metrics: MetricDatum[];
  /** Work left for the next run (time budget ran out, or a lock stayed busy). */
  remaining?: string[];
  warnings?: string[];
  /** Items that failed; the run continues with the others, then reports failure. */
  failures?: { item: string; error: string }[];
}

export interface TaskDefinition<S extends OptionSchema = OptionSchema> {
  readonly name: TaskName;
  readonly description: string;
  /** Runs per-server checks: the entry points open every instance of the cluster for it. */
  readonly perInstance?: boolean;
  /** Task-specific options; COMMON_OPTIONS are accepted by every task. */
  readonly options: S;
  /** Default statement_timeout of the task's statements. */
  readonly statementTimeoutMs: number;
  /** Set when the task cannot be honoured under the RDS Data API, with the reason. */
  readonly dataApiUnsupported?: string;
  run(ctx: TaskContext, options: OptionsOf<S> & OptionsOf<typeof COMMON_OPTIONS>): Promise<TaskOutcome>;
}

export type TaskStatus = 'succeeded' | 'failed' | 'skipped';

export interface TaskResult {
  task: TaskName;
  status: TaskStatus;
  environment: string;
  driver: 'pg' | 'data-api';
  dryRun: boolean;
  startedAt: string;
  durationMs: number;
  summary: Record<string, unknown>;
  remaining: string[];
  warnings: string[];
  failures: { item: string; error: string }[];
  /** Why the run failed or was skipped. */
  reason?: string;
  error?: { name: string; message: string; code?: string };
  metrics?: PublishReport;
}

/**
 * Each task module keeps its own option types; the registry holds them type-erased. The runner
 * only calls run() with options validated against this same schema, so the one cast is sound.
 */
export function defineTask<S extends OptionSchema>(definition: TaskDefinition<S>): TaskDefinition {
  return definition as unknown as TaskDefinition;
}
