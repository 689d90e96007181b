import { Client, Pool } from 'pg';
import { fromPg } from '../../../lambdas/checks/queryable';
import type { Instance } from '../../../lambdas/db/instances';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { ExtraServer, startExtraServer } from '../../support/extra-server';
import { databaseUrl } from '../../support/urls';
import { TASKS } from '../../../lambdas/tasks/registry';
import { PER_INSTANCE_TASKS, TASK_NAMES } from '../../../lambdas/tasks/task-names';
import { harness, TaskHarness, waitFor, withFlushedStats } from './helpers';

/**
 * Every Aurora instance is its own server: a second embedded PostgreSQL stands in for a reader, so
 * "every instance" means two servers with their own pg_stat_activity and index statistics.
 */
describe('per-server checks on every instance', () => {
  let db: TestDatabase;
  let h: TaskHarness;
  let second: ExtraServer;
  let readerPool: Pool;
  let writerPool: Pool;
  let instances: Instance[];

  const PROBE = [
    'CREATE TABLE public.reader_probe (id int PRIMARY KEY, a int, b int)',
    'INSERT INTO public.reader_probe SELECT g, g, g FROM generate_series(1, 2000) g',
    'CREATE INDEX reader_probe_a_idx ON public.reader_probe (a)',
    'CREATE INDEX reader_probe_b_idx ON public.reader_probe (b)',
    'ANALYZE public.reader_probe',
  ];

  beforeAll(async () => {
    db = await createTestDatabase();
    h = harness(db);
    second = await startExtraServer();
    const admin = new Client({ connectionString: second.url });
    await admin.connect();
    await admin.query('CREATE DATABASE replica');
    await admin.end();
    readerPool = new Pool({ connectionString: databaseUrl(second.url, 'replica'), max: 3 });
    // pool.end() resolves before its idle sockets close; the server stopping next may terminate one
    // of them first, and an unhandled pool 'error' would fail the whole file.
    readerPool.on('error', () => undefined);
    writerPool = db.newPool({ max: 2 });
    for (const sql of PROBE) {
      await db.query(sql);
      await readerPool.query(sql);
    }
    // Only the reader's queries use reader_probe_a_idx; nothing anywhere uses reader_probe_b_idx.
    await withFlushedStats(readerPool, 'SET enable_seqscan = off', 'SET enable_bitmapscan = off', 'SELECT * FROM public.reader_probe WHERE a = 7');
    instances = [
      { id: 'writer-1', reader: fromPg(writerPool) },
      { id: 'reader-1', reader: fromPg(readerPool) },
    ];
  }, 120_000);

  afterAll(async () => {
    await readerPool?.end();
    await second?.stop();
    await db?.drop();
  });

  const clusterWide = (name: string) => h.sink.data.filter((d) => d.metric.name === name && d.dimensions.DBInstanceIdentifier === undefined).map((d) => d.value);

  it('counts an index as unused only when no instance scans it, and publishes each instance its own count', async () => {
    const writerOnly = await h.run({ task: 'health-check' });
    expect(writerOnly.status).toBe('succeeded');
    const onWriter = writerOnly.summary.unusedIndexCount as number;
    expect(onWriter).toBeGreaterThanOrEqual(2); // both probe indexes, unscanned on the writer

    const result = await h.run({ task: 'health-check' }, { instances });
    expect(result.status).toBe('succeeded');
    // The reader holds only the probe table: of the two probe indexes, the one it scanned drops out.
    expect(result.summary.unusedIndexCount).toBe(1);
    expect(clusterWide('UnusedIndexCount').at(-1)).toBe(1);
    expect(h.sink.values('UnusedIndexCount', { DBInstanceIdentifier: 'reader-1' })).toEqual([1]);
    expect(h.sink.values('UnusedIndexCount', { DBInstanceIdentifier: 'writer-1' })).toEqual([onWriter]);
    expect(h.sink.values('ConnectionUtilization', { DBInstanceIdentifier: 'reader-1' })).toHaveLength(1);
    expect((result.summary.instances as { id: string }[]).map((i) => i.id)).toEqual(['writer-1', 'reader-1']);
  });

  it('counts a long query that runs on a reader, with its instance dimension', async () => {
    const sleeper = new Client({ connectionString: databaseUrl(second.url, 'replica'), application_name: 'reader-report' });
    sleeper.on('error', () => undefined);
    await sleeper.connect();
    const [{ pid }] = (await sleeper.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
    const done = sleeper.query('SELECT pg_sleep(4) /* reader-report */').catch((e: Error) => e);
    try {
      await waitFor(
        async () => ((await readerPool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND now() - query_start > interval '1 second'`, [pid])).rowCount ? true : undefined),
        'the reader sleeper to pass 1 s',
      );
      const writerOnly = await h.run({ task: 'long-query-check', thresholdSeconds: 0.5 });
      expect((writerOnly.summary.queries as { query: string }[]).some((q) => q.query.includes('reader-report'))).toBe(false);

      const result = await h.run({ task: 'long-query-check', thresholdSeconds: 0.5 }, { instances });
      expect(result.status).toBe('succeeded');
      const found = (result.summary.queries as { pid: number; instance?: string; query: string }[]).find((q) => q.query.includes('reader-report'));
      expect(found).toMatchObject({ pid, instance: 'reader-1' });
      expect(h.sink.values('LongRunningQueryCount', { DBInstanceIdentifier: 'reader-1' })).toEqual([1]);
      expect(h.sink.values('LongestQueryDuration', { DBInstanceIdentifier: 'reader-1' })[0]).toBeGreaterThan(1);
      expect(clusterWide('LongRunningQueryCount').at(-1)).toBeGreaterThanOrEqual(1);
      expect(clusterWide('LongestQueryDuration').at(-1)).toBeGreaterThan(1);
    } finally {
      await done;
      await sleeper.end();
    }
  }, 30_000);
});

describe('which tasks run per instance', () => {
  it('is the same list for the task definitions and the CDK app (PER_INSTANCE_TASKS)', () => {
    const flagged = TASK_NAMES.filter((task) => TASKS[task].perInstance);
    expect(flagged).toEqual([...PER_INSTANCE_TASKS]);
  });
});
