import { createTestDatabase, TestDatabase } from '../../support/database';
import { harness, TaskHarness, withFlushedStats } from './helpers';

describe('vacuum-analyze', () => {
  let db: TestDatabase;
  let h: TaskHarness;

  beforeAll(async () => {
    db = await createTestDatabase();
    h = harness(db);
    // autovacuum off on these tables, so only the task can clear the dead tuples.
    await db.query(`CREATE TABLE public.churny (id int PRIMARY KEY, payload text) WITH (autovacuum_enabled = false)`);
    await db.query(`CREATE TABLE public.calm (id int PRIMARY KEY, payload text) WITH (autovacuum_enabled = false)`);
    await withFlushedStats(
      db.pool(),
      `INSERT INTO public.churny SELECT g, repeat('x', 50) FROM generate_series(1, 10000) g`,
      `INSERT INTO public.calm SELECT g, repeat('x', 50) FROM generate_series(1, 10000) g`,
      `DELETE FROM public.churny WHERE id % 10 < 4`,
      `DELETE FROM public.calm WHERE id % 10 = 0`,
    );
  });
  afterAll(() => db.drop());

  const dead = async (table: string) =>
    Number((await db.query<{ n: string }>(`SELECT n_dead_tup AS n FROM pg_stat_user_tables WHERE relname = $1`, [table]))[0].n);

  it('dry run lists the worst table first and changes nothing', async () => {
    const result = await h.run({ task: 'vacuum-analyze', dryRun: true });
    expect(result.status).toBe('succeeded');
    const listed = (result.summary.wouldVacuum as { table: string }[]).map((t) => t.table);
    expect(listed.indexOf('public.churny')).toBeLessThan(listed.indexOf('public.calm'));
    expect(await dead('churny')).toBe(4000);
  });

  it('clears dead tuples, worst dead-tuple share first, and records the vacuum', async () => {
    expect(await dead('churny')).toBe(4000);
    expect(await dead('calm')).toBe(1000);
    const result = await h.run({ task: 'vacuum-analyze' });
    expect(result.status).toBe('succeeded');
    const order = (result.summary.vacuumed as { table: string }[]).map((v) => v.table);
    expect(order.indexOf('public.churny')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('public.churny')).toBeLessThan(order.indexOf('public.calm'));
    expect(await dead('churny')).toBe(0);
    expect(await dead('calm')).toBe(0);
    const [stats] = await db.query<{ last_vacuum: Date | null; last_analyze: Date | null }>(
      `SELECT last_vacuum, last_analyze FROM pg_stat_user_tables WHERE relname = 'churny'`,
    );
    expect(stats.last_vacuum).not.toBeNull();
    expect(stats.last_analyze).not.toBeNull();
    expect(h.sink.values('TaskSuccess', { Task: 'vacuum-analyze' })).toContain(1);
  });

  it('stops when the time budget is spent and reports what is left; the next run does the rest', async () => {
    await withFlushedStats(db.pool(), `DELETE FROM public.churny WHERE id % 10 IN (5, 6)`, `DELETE FROM public.calm WHERE id % 10 = 1`);
    // A clock that jumps past the 1 s budget as soon as the first table is done.
    let spent = false;
    const clock = () => (spent ? 10_000 : 0);
    const log = (message: string) => {
      if (message.includes('done public.churny')) spent = true;
    };
    const first = await h.run({ task: 'vacuum-analyze', timeBudgetMs: 1000 }, { clock, log });
    expect(first.status).toBe('succeeded');
    expect((first.summary.vacuumed as { table: string }[]).map((v) => v.table)).toEqual(['public.churny']);
    expect(first.remaining).toContain('public.calm');
    expect(await dead('calm')).toBeGreaterThan(0);
    const second = await h.run({ task: 'vacuum-analyze' });
    expect((second.summary.vacuumed as { table: string }[]).map((v) => v.table)).toContain('public.calm');
    expect(second.remaining).toEqual([]);
    expect(await dead('calm')).toBe(0);
  });
});
