import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { harness, TaskHarness, waitFor } from './helpers';

/** Live-database safety: short lock waits, no queueing ahead of application queries, no overlap. */
describe('safety on a live database', () => {
  let db: TestDatabase;
  let h: TaskHarness;
  let holder: Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    h = harness(db);
  });
  afterAll(() => db.drop());

  beforeEach(async () => {
    // A long-running application transaction that has read the partitioned table.
    holder = new Client({ connectionString: db.url, application_name: 'app-report' });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT count(*) FROM public.listening_mentions');
  });
  afterEach(async () => {
    await holder.query('ROLLBACK').catch(() => undefined);
    await holder.end();
  });

  it('DDL gives up within lock_timeout, reports the lock failure, and an application query is not stuck behind it', async () => {
    const run = h.run({ task: 'create-partitions', table: 'public.listening_mentions', monthsAhead: 8, lockTimeoutMs: 300 });
    // Once the task's DDL is queued for its ACCESS EXCLUSIVE lock, an application reader arrives.
    await waitFor(async () => {
      const rows = await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'dbops:create-partitions' AND wait_event_type = 'Lock'`);
      return rows.length ? true : undefined;
    }, 'the DDL to wait for its lock');
    const app = new Client({ connectionString: db.url, application_name: 'app-query' });
    await app.connect();
    try {
      const appQuery = app.query('SELECT count(*) AS n FROM public.listening_mentions');
      const result = await run;
      expect(result.status).toBe('failed');
      expect(result.reason).toMatch(/lock/i);
      expect(result.failures[0].error).toMatch(/gave up after 2 attempts to take a lock/);
      expect(result.remaining).toEqual([]);
      // The reader completes (it is never behind a DDL that waits forever).
      const { rows } = await appQuery;
      expect(Number(rows[0].n)).toBeGreaterThanOrEqual(0);
      expect(h.sink.values('TaskFailure', { Task: 'create-partitions' }).at(-1)).toBe(1);
    } finally {
      await app.end();
    }
    // Nothing was created while the lock was busy; once it is free the same run succeeds.
    await holder.query('ROLLBACK');
    const retry = await h.run({ task: 'create-partitions', table: 'public.listening_mentions', monthsAhead: 8 });
    expect(retry.status).toBe('succeeded');
    expect(retry.summary.partitionsCreated).toBeGreaterThan(0);
  });

  it('two overlapping runs: the second is skipped, not failed, and the first completes', async () => {
    const first = h.run({ task: 'create-partitions', table: 'public.listening_mentions', monthsAhead: 10, lockTimeoutMs: 30_000 });
    await waitFor(async () => {
      const rows = await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'dbops:create-partitions' AND wait_event_type = 'Lock'`);
      return rows.length ? true : undefined;
    }, 'the first run to be busy');
    const second = await h.run({ task: 'create-partitions', table: 'public.listening_mentions', monthsAhead: 10 });
    expect(second.status).toBe('skipped');
    expect(second.reason).toMatch(/advisory lock dbops:create-partitions/);
    expect(h.sink.values('TaskSkipped', { Task: 'create-partitions' }).at(-1)).toBe(1);
    expect(h.sink.values('TaskFailure', { Task: 'create-partitions' }).at(-1)).toBe(0);

    await holder.query('ROLLBACK');
    const done = await first;
    expect(done.status).toBe('succeeded');
    expect((done.summary.headroomMonths as Record<string, number>)['public.listening_mentions']).toBe(10);
    // The lock is released afterwards: a later run is not skipped.
    expect((await h.run({ task: 'create-partitions', table: 'public.listening_mentions' })).status).toBe('succeeded');
  });

  it('a different task is not blocked by another task holding its own advisory lock', async () => {
    const other = new Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query(`SELECT pg_advisory_lock(hashtext('dbops:vacuum-analyze'))`);
      expect((await h.run({ task: 'vacuum-analyze', table: 'public.posts' })).status).toBe('skipped');
      expect((await h.run({ task: 'update-statistics', table: 'public.posts' })).status).toBe('succeeded');
    } finally {
      await other.end();
    }
  });
});

describe('time budget on a live database', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    // A relation whose batch takes far longer than the budget, first in refresh order, with a bucket logged.
    await db.query(`CREATE TABLE public.mv_slow (id integer NOT NULL)`);
    await db.query(`CREATE UNIQUE INDEX mv_slow_key ON public.mv_slow (id)`);
    await db.query(
      `CREATE FUNCTION dbops.analytics_rows_slow(bigint[], date[], timestamptz) RETURNS SETOF public.mv_slow
       LANGUAGE sql AS $$ SELECT 1 FROM pg_sleep(20) $$`,
    );
    await db.query(`INSERT INTO dbops.materialized_views (view_name, refresh_order) VALUES ('public.mv_slow', 1)`);
    await db.query(
      `INSERT INTO dbops.analytics_relations (view_id, view_name, key_column, unique_columns, rows_function, live_source, key_table, needs_full, populated_at)
       VALUES (99, 'public.mv_slow', 'id', '{id}', 'dbops.analytics_rows_slow', 'public.mv_slow', 'public.mv_slow', false, now())`,
    );
    await db.query(`INSERT INTO dbops.analytics_changes (view_id, key_id, day) VALUES (99, 1, '-infinity')`);
  });
  afterAll(() => db.drop());

  it('a statement cut at the end of the budget is left for the next run, logged, and nothing else is started', async () => {
    const h = harness(db);
    // 16 s left in the Lambda = a 1 s budget; the refresh's statement_timeout stops it at the 5 s floor.
    const result = await h.run({ task: 'refresh-materialized-views', parallel: 1 }, { lambdaRemainingMs: 16_000 });
    expect([result.status, result.reason, result.failures]).toEqual(['succeeded', undefined, []]);
    expect(result.failures).toEqual([]);
    expect(result.summary.refreshed).toEqual([]);
    const registry = await db.query<{ view_name: string }>(`SELECT view_name FROM dbops.materialized_views ORDER BY refresh_order`);
    expect(result.remaining).toEqual(registry.map((r) => r.view_name));
    const [log] = await db.query<{ succeeded: boolean; error: string }>(`SELECT succeeded, error FROM dbops.mv_refresh_log WHERE view_name = 'public.mv_slow'`);
    expect(log.succeeded).toBe(false);
    expect(log.error).toMatch(/statement timeout/);
    // Nothing half-done: the batch rolled back (its bucket is still logged, no row written), no other relation was touched.
    expect(await db.query(`SELECT key_id::int FROM dbops.analytics_changes WHERE view_id = 99`)).toEqual([{ key_id: 1 }]);
    expect(await db.query(`SELECT 1 FROM public.mv_slow`)).toEqual([]);
    expect((await db.query(`SELECT 1 FROM dbops.mv_refresh_log WHERE view_name <> 'public.mv_slow'`)).length).toBe(0);
  });

  it('with two sessions, the other relations go on beside the cut one until the budget ends; it is left for the next run', async () => {
    const h = harness(db);
    const result = await h.run({ task: 'refresh-materialized-views', parallel: 2 }, { lambdaRemainingMs: 16_000 });
    expect([result.status, result.failures]).toEqual(['succeeded', []]);
    expect(result.remaining).toContain('public.mv_slow');
    const refreshed = (result.summary.refreshed as { view: string; complete: boolean }[]).map((r) => r.view);
    expect(refreshed).not.toContain('public.mv_slow');
    expect(refreshed.length).toBeGreaterThan(0);
    const registry = await db.query<{ view_name: string }>(`SELECT view_name FROM dbops.materialized_views ORDER BY refresh_order`);
    expect([...refreshed, ...result.remaining].sort()).toEqual(registry.map((r) => r.view_name).sort());
    expect(await db.query(`SELECT key_id::int FROM dbops.analytics_changes WHERE view_id = 99`)).toEqual([{ key_id: 1 }]);
  });
});
