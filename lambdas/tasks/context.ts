import type { Driver } from '../db/env-config';
import { Row, Session } from '../db/executor';
import type { Instance } from '../db/instances';
import { DEFAULT_LOCK_RETRY, LockRetryOptions, withLockRetries } from '../db/lock-retry';
import { TimeBudget } from './budget';
import { MaintenanceStatement, TaskContext, TaskDefinition } from './types';

export interface ContextSettings {
  environment: string;
  driver: Driver;
  retentionMonths?: number;
  lockTimeoutMs: number;
  lockRetry?: Partial<LockRetryOptions>;
  budget: TimeBudget;
  dryRun: boolean;
  instances?: readonly Instance[];
  log: (message: string, fields?: Record<string, unknown>) => void;
  /** Opens another session of the task's executor (TaskContext.withSideSession), at most sideSessions at once. */
  openSession?: <T>(work: (session: Session) => Promise<T>) => Promise<T>;
  sideSessions?: number;
}

export function createTaskContext(task: TaskDefinition, session: Session, settings: ContextSettings): TaskContext {
  const lockRetry: LockRetryOptions = { ...DEFAULT_LOCK_RETRY, ...settings.lockRetry };
  const log = (message: string, fields?: Record<string, unknown>) => settings.log(`[${task.name}] ${message}`, fields);
  // Reads get the short lock_timeout too: a status query stuck behind someone's ACCESS EXCLUSIVE
  // lock would otherwise queue (and make every later query on that table queue behind it).
  const read = <R extends Row = Row>(text: string, params: readonly unknown[] = []) =>
    session.query<R>(text, params, { lockTimeoutMs: settings.lockTimeoutMs, statementTimeoutMs: settings.budget.statementTimeout(task.statementTimeoutMs) });
  return {
    task: task.name,
    session,
    driver: settings.driver,
    environment: settings.environment,
    retentionMonths: settings.retentionMonths,
    lockTimeoutMs: settings.lockTimeoutMs,
    lockRetry,
    budget: settings.budget,
    dryRun: settings.dryRun,
    progress: {},
    log,
    read,
    reader: { query: read },
    instances: settings.instances ?? [],
    withSideSession: settings.openSession
      ? <T>(work: (side: TaskContext) => Promise<T>) =>
          settings.openSession!((session) => work(createTaskContext(task, session, { ...settings, openSession: undefined, sideSessions: 0 })))
      : undefined,
    sideSessions: settings.openSession ? (settings.sideSessions ?? 0) : 0,
    maintain<R extends Row = Row>(text: string, params: readonly unknown[], statement: MaintenanceStatement) {
      const statementTimeoutMs =
        statement.statementTimeoutMs === 0 ? 0 : settings.budget.statementTimeout(statement.statementTimeoutMs ?? task.statementTimeoutMs);
      return withLockRetries(
        () => session.query<R>(text, params, { lockTimeoutMs: settings.lockTimeoutMs, statementTimeoutMs, noTransaction: statement.noTransaction }),
        {
          ...lockRetry,
          onRetry: (attempt, error) => log(`${statement.label}: lock busy (${error.message}), retry ${attempt}`),
        },
      );
    },
  };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
