import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
  SqlParameter,
} from '@aws-sdk/client-rds-data';
import {
  DriverLimits,
  Executor,
  OverlapError,
  Queryable,
  Row,
  Session,
  StatementOptions,
  advisoryLockSql,
} from './executor';
import { timeoutSettingsStatement } from './session-settings';

export interface DataApiTarget {
  resourceArn: string;
  secretArn: string;
  database: string;
}

/** Documented limits of ExecuteStatement: the call is cut at 45 s and a response may hold 1 MiB. */
export const DATA_API_MAX_CALL_MS = 45_000;
export const DATA_API_MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * RDS Data API driver. Each call runs on whichever connection the service picks and DISCARD ALL
 * runs between calls, so nothing set in one call is seen by the next: timeouts are applied with
 * SET LOCAL inside a transaction around the statement, and the overlap guard is
 * pg_try_advisory_xact_lock taken in that same transaction.
 */
export class DataApiExecutor implements Executor {
  readonly driver = 'data-api' as const;
  // One session at a time: the overlap guard is a transaction lock every statement of the run takes
  // (no session state), so two statements of one run at once would take each other for an overlap.
  readonly limits: DriverLimits = { sessionState: false, maxCallMs: DATA_API_MAX_CALL_MS, maxResponseBytes: DATA_API_MAX_RESPONSE_BYTES, maxSessions: 1 };

  constructor(
    private readonly client: RDSDataClient,
    private readonly target: DataApiTarget,
  ) {}

  async withSession<T>(work: (session: Session) => Promise<T>): Promise<T> {
    return work(new DataApiSession(this.client, this.target));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

class DataApiSession implements Session {
  private guardKey: string | undefined;

  constructor(
    private readonly client: RDSDataClient,
    private readonly target: DataApiTarget,
  ) {}

  async query<R extends Row = Row>(text: string, params: readonly unknown[] = [], options: StatementOptions = {}): Promise<R[]> {
    if (options.noTransaction) {
      // VACUUM / CONCURRENTLY cannot be wrapped, so no SET LOCAL either: the call's own 45 s cap applies.
      return this.execute<R>(text, params);
    }
    const needsTransaction = options.lockTimeoutMs !== undefined || options.statementTimeoutMs !== undefined || this.guardKey !== undefined;
    if (!needsTransaction) return this.execute<R>(text, params);
    return this.transaction((tx) => tx.query<R>(text, params), options);
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>, options: StatementOptions = {}): Promise<T> {
    const begin = await this.client.send(new BeginTransactionCommand({ ...this.target }));
    const transactionId = begin.transactionId;
    if (!transactionId) throw new Error('Data API BeginTransaction returned no transactionId');
    try {
      const local = timeoutSettingsStatement(options, true);
      if (local) await this.execute(local.text, local.params, transactionId);
      if (this.guardKey !== undefined) {
        const rows = await this.execute<{ locked: boolean }>(advisoryLockSql('xact'), [this.guardKey], transactionId);
        if (!rows[0]?.locked) throw new OverlapError(this.guardKey);
      }
      const tx: Queryable = { query: <R extends Row = Row>(text: string, params: readonly unknown[] = []) => this.execute<R>(text, params, transactionId) };
      const result = await work(tx);
      await this.client.send(new CommitTransactionCommand({ resourceArn: this.target.resourceArn, secretArn: this.target.secretArn, transactionId }));
      return result;
    } catch (error) {
      await this.client
        .send(new RollbackTransactionCommand({ resourceArn: this.target.resourceArn, secretArn: this.target.secretArn, transactionId }))
        .catch(() => undefined);
      throw error;
    }
  }

  /** A probe: the xact lock is free right now. Every later transactional statement re-takes it. */
  async tryAdvisoryLock(key: string): Promise<boolean> {
    const rows = await this.execute<{ locked: boolean }>(advisoryLockSql('xact'), [key]);
    if (!rows[0]?.locked) return false;
    this.guardKey = key;
    return true;
  }

  async releaseAdvisoryLock(key: string): Promise<void> {
    if (this.guardKey === key) this.guardKey = undefined;
  }

  async backendPid(): Promise<undefined> {
    return undefined;
  }

  private async execute<R extends Row>(text: string, params: readonly unknown[], transactionId?: string): Promise<R[]> {
    const command = new ExecuteStatementCommand({
      ...this.target,
      sql: toNamedParameters(text),
      parameters: params.map((value, index) => toSqlParameter(`p${index + 1}`, value)),
      transactionId,
      formatRecordsAs: 'JSON',
      continueAfterTimeout: false,
    });
    const response = await this.client.send(command).catch((error: unknown) => {
      throw withSqlState(error);
    });
    return response.formattedRecords ? (JSON.parse(response.formattedRecords) as R[]) : [];
  }
}

/**
 * The Data API reports a database error as DatabaseErrorException with the SQLSTATE only inside
 * the message ("ERROR: canceling statement due to lock timeout; SQLState: 55P03"). Copying it to
 * `code`, as node-postgres has it, lets withLockRetries, isCancelled and isConnectionLost work the
 * same on both drivers.
 */
export function withSqlState(error: unknown): unknown {
  if (typeof error !== 'object' || error === null || (error as { code?: unknown }).code !== undefined) return error;
  const match = /SQLState:\s*([0-9A-Z]{5})\b/.exec(String((error as { message?: unknown }).message ?? ''));
  if (match) (error as { code?: string }).code = match[1];
  return error;
}

/** $1 -> :p1. The Data API only knows named parameters. */
export function toNamedParameters(text: string): string {
  return text.replace(/\$(\d+)/g, ':p$1');
}

export function toSqlParameter(name: string, value: unknown): SqlParameter {
  if (value === null || value === undefined) return { name, value: { isNull: true } };
  if (typeof value === 'string') return { name, value: { stringValue: value } };
  if (typeof value === 'boolean') return { name, value: { booleanValue: value } };
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { name, value: { longValue: value } } : { name, value: { doubleValue: value } };
  }
  if (typeof value === 'bigint') return { name, value: { longValue: Number(value) } };
  if (value instanceof Date) return { name, typeHint: 'TIMESTAMP', value: { stringValue: value.toISOString().replace('T', ' ').replace('Z', '') } };
  throw new Error(`Data API parameter ${name}: unsupported value type ${Array.isArray(value) ? 'array' : typeof value}`);
}
