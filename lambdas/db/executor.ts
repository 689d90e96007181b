/**
 * How tasks reach the database. Two drivers implement it: node-postgres over a pool (a real
 * session, so SET and session advisory locks hold between statements) and the RDS Data API
 * (every call is its own session after DISCARD ALL, so settings and locks only last inside one
 * transaction). Tasks state what each statement needs and the driver decides how to honour it.
 */
import type { Driver } from './env-config';

export type Row = Record<string, unknown>;

export interface StatementOptions {
  /** lock_timeout for this statement; undefined leaves the session's value. */
  lockTimeoutMs?: number;
  /** statement_timeout for this statement; 0 disables it (concurrent index builds). */
  statementTimeoutMs?: number;
  /** VACUUM and the CONCURRENTLY family refuse to run inside a transaction block. */
  noTransaction?: boolean;
}

export interface Queryable {
  query<R extends Row = Row>(text: string, params?: readonly unknown[], options?: StatementOptions): Promise<R[]>;
}

export interface Session extends Queryable {
  /**
   * Runs work in one transaction; SET LOCAL applies the options for its duration.
   * The same Queryable must be used inside, so the statements share the transaction.
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>, options?: StatementOptions): Promise<T>;
  /**
   * Takes the overlap guard for a task. False when another invocation holds it.
   * pg: a session-level pg_try_advisory_lock held until release. Data API: the key is then taken
   * with pg_try_advisory_xact_lock in every transactional statement (OverlapError when busy).
   */
  tryAdvisoryLock(key: string): Promise<boolean>;
  releaseAdvisoryLock(key: string): Promise<void>;
  /** Backend pid of the session, when there is a stable one (pg). */
  backendPid(): Promise<number | undefined>;
}

export interface SessionOptions {
  /** Shows up in pg_stat_activity, so operators (and tests) can tell a task's backend apart. */
  applicationName?: string;
}

export interface DriverLimits {
  /** Settings and advisory locks survive between calls. */
  sessionState: boolean;
  /** Longest a single call may run, when the driver caps it. */
  maxCallMs?: number;
  /** Longest response a single call may return. */
  maxResponseBytes?: number;
  /** Sessions that can be open at once (a pool's size); unset: no limit of the driver's own. */
  maxSessions?: number;
}

export interface Executor {
  readonly driver: Driver;
  readonly limits: DriverLimits;
  /** One dedicated session for the duration of work; released (and reset) afterwards. */
  withSession<T>(work: (session: Session) => Promise<T>, options?: SessionOptions): Promise<T>;
  close(): Promise<void>;
}

/** Another invocation holds the task's advisory lock; the caller reports a skip, not an error. */
export class OverlapError extends Error {
  constructor(readonly key: string) {
    super(`another invocation holds the advisory lock ${key}`);
    this.name = 'OverlapError';
  }
}

/** A statement the driver cannot run safely (e.g. a concurrent index build under the 45 s Data API cap). */
export class UnsupportedByDriverError extends Error {
  constructor(driver: string, what: string, why: string) {
    super(`${what} is not supported with DBOPS_DRIVER=${driver}: ${why}`);
    this.name = 'UnsupportedByDriverError';
  }
}

export function advisoryLockSql(kind: 'session' | 'xact'): string {
  return kind === 'session'
    ? 'SELECT pg_try_advisory_lock(hashtext($1)) AS locked'
    : 'SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked';
}

export function taskLockKey(task: string): string {
  return `dbops:${task}`;
}
