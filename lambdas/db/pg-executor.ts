import type { Pool, PoolClient } from 'pg';
import {
  DriverLimits,
  Executor,
  Queryable,
  Row,
  Session,
  SessionOptions,
  StatementOptions,
  advisoryLockSql,
} from './executor';
import { timeoutSettingsStatement } from './session-settings';

/** node-postgres driver: a checked-out client is a real session, so SET and session locks hold. */
export class PgExecutor implements Executor {
  readonly driver = 'pg' as const;
  readonly limits: DriverLimits;

  constructor(
    private readonly pool: Pool,
    private readonly ownsPool = true,
  ) {
    // pg's default pool size is 10.
    this.limits = { sessionState: true, maxSessions: pool.options.max ?? 10 };
  }

  async withSession<T>(work: (session: Session) => Promise<T>, options: SessionOptions = {}): Promise<T> {
    const client = await this.pool.connect();
    const session = new PgSession(client);
    // A terminated backend also surfaces as an 'error' event on the checked-out client; the
    // failing query already reports it, so the event must not crash the process.
    const onError = () => {
      session.unusable = true;
    };
    client.on('error', onError);
    let broken: Error | undefined;
    try {
      if (options.applicationName) await client.query(`SELECT set_config('application_name', $1, false)`, [options.applicationName]);
      return await work(session);
    } catch (error) {
      broken = error as Error;
      throw error;
    } finally {
      await session.reset().catch((error: Error) => {
        // Could not unlock or RESET (an aborted transaction left open, say): the connection may
        // still hold the advisory lock or our settings, so it must not go back to the pool.
        // Closing it is what releases a session lock for sure.
        session.unusable = true;
        broken ??= error;
      });
      // A client whose backend was terminated or that failed mid-way is not put back in the pool.
      client.off('error', onError);
      client.release(session.unusable ? (broken ?? true) : undefined);
    }
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }
}

class PgSession implements Session {
  private lockTimeoutMs: number | undefined;
  private statementTimeoutMs: number | undefined;
  private readonly heldLocks = new Set<string>();
  unusable = false;

  constructor(private readonly client: PoolClient) {}

  async query<R extends Row = Row>(text: string, params: readonly unknown[] = [], options: StatementOptions = {}): Promise<R[]> {
    await this.applySettings(options);
    return this.raw<R>(text, params);
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>, options: StatementOptions = {}): Promise<T> {
    await this.raw('BEGIN');
    try {
      const local = timeoutSettingsStatement(options, true);
      if (local) await this.raw(local.text, local.params);
      const tx: Queryable = { query: <R extends Row = Row>(text: string, params: readonly unknown[] = []) => this.raw<R>(text, params) };
      const result = await work(tx);
      await this.raw('COMMIT');
      return result;
    } catch (error) {
      await this.raw('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  async tryAdvisoryLock(key: string): Promise<boolean> {
    const rows = await this.raw<{ locked: boolean }>(advisoryLockSql('session'), [key]);
    if (rows[0]?.locked) this.heldLocks.add(key);
    return Boolean(rows[0]?.locked);
  }

  async releaseAdvisoryLock(key: string): Promise<void> {
    if (!this.heldLocks.has(key)) return;
    // Forgotten only once the unlock worked, so reset() still knows the lock is held otherwise.
    await this.raw('SELECT pg_advisory_unlock(hashtext($1))', [key]);
    this.heldLocks.delete(key);
  }

  async backendPid(): Promise<number> {
    const rows = await this.raw<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return rows[0].pid;
  }

  /** Leave the pooled connection as found: no locks, default settings. */
  async reset(): Promise<void> {
    if (this.unusable) return;
    for (const key of [...this.heldLocks]) await this.releaseAdvisoryLock(key);
    await this.raw('RESET ALL');
    this.lockTimeoutMs = undefined;
    this.statementTimeoutMs = undefined;
  }

  private async applySettings(options: StatementOptions): Promise<void> {
    const wanted = {
      lockTimeoutMs: options.lockTimeoutMs === this.lockTimeoutMs ? undefined : options.lockTimeoutMs,
      statementTimeoutMs: options.statementTimeoutMs === this.statementTimeoutMs ? undefined : options.statementTimeoutMs,
    };
    const statement = timeoutSettingsStatement(wanted, false);
    if (!statement) return;
    await this.raw(statement.text, statement.params);
    if (wanted.lockTimeoutMs !== undefined) this.lockTimeoutMs = wanted.lockTimeoutMs;
    if (wanted.statementTimeoutMs !== undefined) this.statementTimeoutMs = wanted.statementTimeoutMs;
  }

  private async raw<R extends Row = Row>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    try {
      const result = await this.client.query(text, params as unknown[]);
      return result.rows as R[];
    } catch (error) {
      // 57P01 admin_shutdown (pg_terminate_backend), 08xxx connection errors, or a dead socket.
      const code = (error as { code?: string }).code;
      if (code === undefined || code === '57P01' || code.startsWith('08')) this.unusable = true;
      throw error;
    }
  }
}
