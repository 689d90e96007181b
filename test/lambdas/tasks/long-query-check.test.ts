import { MASTER_USER } from '../../support/aurora-master';
import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { harness, TaskHarness, waitFor } from './helpers';

describe('long-query-check', () => {
  let db: TestDatabase;
  let h: TaskHarness;

  beforeAll(async () => {
    db = await createTestDatabase();
    h = harness(db);
  });
  afterAll(() => db.drop());

  async function sleeper(seconds: number, tag: string, url = db.url): Promise<{ client: Client; done: Promise<unknown>; pid: number }> {
    const client = new Client({ connectionString: url, application_name: tag });
    client.on('error', () => undefined);
    await client.connect();
    const [{ pid }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
    const done = client.query(`SELECT pg_sleep(${seconds}) /* ${tag} */`).catch((error: Error) => error);
    await waitFor(async () => ((await db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'`, [pid])).length ? true : undefined), 'the sleeper');
    return { client, done, pid };
  }

  it('reports a pg_sleep(35) session with the default 30 s threshold (takes ~35 s)', async () => {
    const { client, done, pid } = await sleeper(35, 'sleeper-35');
    try {
      const early = await h.run({ task: 'long-query-check' });
      expect(early.summary.longRunningQueries).toBe(0);

      // Wait until the statement is past the default threshold, then check.
      await waitFor(
        async () => ((await db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND now() - query_start > interval '31 seconds'`, [pid])).length ? true : undefined),
        'the sleeper to pass 30 s',
        40_000,
      );
      const result = await h.run({ task: 'long-query-check' });
      expect(result.status).toBe('succeeded');
      expect(result.summary.thresholdSeconds).toBe(30);
      const queries = result.summary.queries as { pid: number; durationSeconds: number; user: string; query: string }[];
      const found = queries.find((q) => q.pid === pid);
      expect(found).toBeDefined();
      expect(found?.durationSeconds).toBeGreaterThan(30);
      expect(found?.user).toBe(MASTER_USER) // test sessions run as the emulated Aurora master;
      expect(found?.query).toContain('pg_sleep(35)');
      expect(h.logs.some((l) => l.includes('long-running query') && l.includes(String(pid)))).toBe(true);
      expect(h.sink.values('LongRunningQueryCount').at(-1)).toBeGreaterThanOrEqual(1);
      expect(h.sink.values('LongestQueryDuration').at(-1)).toBeGreaterThan(30);
      // Off by default: nothing cancelled, the sleeper finishes normally.
      expect(result.summary.cancelled).toEqual([]);
      expect(await done).not.toBeInstanceOf(Error);
    } finally {
      await client.end();
    }
  }, 60_000);

  it('leaves a superuser\'s query alone (rdsadmin on Aurora), which it may not signal, and still succeeds', async () => {
    const superuser = new Client({ connectionString: db.superuserUrl, application_name: 'rdsadmin-like' });
    await superuser.connect();
    try {
      const [{ pid }] = (await superuser.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
      const done = superuser.query('SELECT pg_sleep(4)').then(() => 'finished', (e: Error) => e);
      await waitFor(
        async () => ((await db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND now() - query_start > interval '2 seconds'`, [pid])).length ? true : undefined),
        'the superuser query to pass 2 s',
      );
      const result = await h.run({ task: 'long-query-check', thresholdSeconds: 1, cancelAboveSeconds: 1 });
      expect({ status: result.status, error: result.error }).toEqual({ status: 'succeeded', error: undefined });
      expect(result.summary.cancelled).not.toContain(pid);
      expect(await done).toBe('finished');
    } finally {
      await superuser.end();
    }
  }, 30_000);

  it('cancels queries above the hard limit only when asked, and never in a dry run', async () => {
    const { client, done, pid } = await sleeper(60, 'sleeper-cancel');
    try {
      await waitFor(
        async () => ((await db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND now() - query_start > interval '2 seconds'`, [pid])).length ? true : undefined),
        'the sleeper to pass 2 s',
      );
      const dry = await h.run({ task: 'long-query-check', thresholdSeconds: 1, cancelAboveSeconds: 1, dryRun: true });
      expect(dry.summary.wouldCancel).toContain(pid);
      expect(dry.summary.cancelled).toEqual([]);

      const result = await h.run({ task: 'long-query-check', thresholdSeconds: 1, cancelAboveSeconds: 1 });
      expect(result.summary.cancelled).toContain(pid);
      const outcome = await done;
      expect(outcome).toBeInstanceOf(Error);
      expect((outcome as Error).message).toMatch(/canceling statement/);
      expect(h.sink.values('CancelledQueryCount').at(-1)).toBeGreaterThanOrEqual(1);
    } finally {
      await client.end();
    }
  });

  it('counts a long query of another database on the server but cancels only in its own', async () => {
    const other = await createTestDatabase();
    const { client, done, pid } = await sleeper(60, 'sleeper-other-db', other.url);
    try {
      await waitFor(
        async () => ((await db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND now() - query_start > interval '2 seconds'`, [pid])).length ? true : undefined),
        'the other database\'s sleeper to pass 2 s',
      );
      const result = await h.run({ task: 'long-query-check', thresholdSeconds: 1, cancelAboveSeconds: 1 });
      expect((result.summary.queries as { pid: number }[]).map((q) => q.pid)).toContain(pid);
      expect(result.summary.cancelled).not.toContain(pid);
      const [still] = await db.query<{ state: string }>(`SELECT state FROM pg_stat_activity WHERE pid = $1`, [pid]);
      expect(still.state).toBe('active');
    } finally {
      await other.query('SELECT pg_cancel_backend($1)', [pid]);
      await done;
      await client.end();
      await other.drop();
    }
  });

  it('reports only real cancellations: an idle-in-transaction session and our own maintenance are not "cancelled"', async () => {
    // pg_cancel_backend returns true for an idle-in-transaction backend yet cancels nothing.
    const idle = new Client({ connectionString: db.url, application_name: 'app-idle-tx' });
    await idle.connect();
    const ours = await sleeper(60, 'dbops:reindex');
    try {
      await idle.query('BEGIN');
      const [{ pid: idlePid }] = (await idle.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
      await waitFor(
        async () =>
          (await db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND now() - query_start > interval '2 seconds' HAVING count(*) = 2`, [[idlePid, ours.pid]])).length
            ? true
            : undefined,
        'both sessions to pass 2 s',
      );
      const result = await h.run({ task: 'long-query-check', thresholdSeconds: 1, cancelAboveSeconds: 1 });
      const reported = (result.summary.queries as { pid: number; state: string }[]).map((q) => q.pid);
      expect(reported).toEqual(expect.arrayContaining([idlePid, ours.pid]));
      expect(result.summary.cancelled).not.toContain(idlePid);
      expect(result.summary.cancelled).not.toContain(ours.pid);
      // Our own maintenance is listed but kept out of the alarmed count: only the app's session counts.
      expect(result.summary.maintenanceQueries).toBe(1);
      expect(result.summary.longRunningQueries).toBe((result.summary.queries as unknown[]).length - 1);
      expect(h.sink.values('LongRunningQueryCount').at(-1)).toBe(result.summary.longRunningQueries);
      // Both are untouched: the transaction still works and the maintenance statement still runs.
      expect((await idle.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      const [still] = await db.query<{ state: string }>(`SELECT state FROM pg_stat_activity WHERE pid = $1`, [ours.pid]);
      expect(still.state).toBe('active');
    } finally {
      await idle.query('ROLLBACK').catch(() => undefined);
      await idle.end();
      await db.query('SELECT pg_cancel_backend($1)', [ours.pid]);
      await ours.done;
      await ours.client.end();
    }
  });
});
