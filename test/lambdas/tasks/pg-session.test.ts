import { PgExecutor } from '../../../lambdas/db/pg-executor';
import { createTestDatabase, TestDatabase } from '../../support/database';

/** A pooled connection is only reused when it is back to a clean state: no advisory lock, no open transaction. */
describe('PgExecutor session hygiene', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  const heldTaskLocks = () =>
    db.query<{ pid: number }>(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = hashtext('dbops:hygiene')::oid AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);

  it('a session that cannot be reset (aborted transaction left open) is closed, which releases its advisory lock', async () => {
    const executor = new PgExecutor(db.newPool({ max: 1 }), false);
    try {
      await expect(
        executor.withSession(async (session) => {
          expect(await session.tryAdvisoryLock('dbops:hygiene')).toBe(true);
          await session.query('BEGIN');
          await session.query('SELECT 1 / 0');
        }),
      ).rejects.toThrow(/division by zero/);
      // Nobody may keep the overlap guard: otherwise every later run of the task would skip.
      expect(await heldTaskLocks()).toEqual([]);
      // And the single pooled connection handed out next is usable, not stuck in the aborted transaction.
      const locked = await executor.withSession(async (session) => {
        const [row] = await session.query<{ one: number }>('SELECT 1 AS one');
        expect(row.one).toBe(1);
        return session.tryAdvisoryLock('dbops:hygiene');
      });
      expect(locked).toBe(true);
      expect(await heldTaskLocks()).toEqual([]);
    } finally {
      await executor.close(); // the pool itself is closed by drop()
    }
  });

  it('settings a task set do not leak to the next user of the pooled connection', async () => {
    const executor = new PgExecutor(db.newPool({ max: 1 }), false);
    try {
      await executor.withSession((session) => session.query('SELECT 1', [], { lockTimeoutMs: 1234, statementTimeoutMs: 4321 }));
      const [row] = await executor.withSession((session) =>
        session.query<{ lock_timeout: string; statement_timeout: string }>(
          `SELECT current_setting('lock_timeout') AS lock_timeout, current_setting('statement_timeout') AS statement_timeout`,
        ),
      );
      expect(row.lock_timeout).not.toBe('1234ms');
      expect(row.statement_timeout).not.toBe('4321ms');
    } finally {
      await executor.close();
    }
  });
});
