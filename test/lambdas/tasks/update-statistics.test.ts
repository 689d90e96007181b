import { createTestDatabase, TestDatabase } from '../../support/database';
import { harness, TaskHarness, withFlushedStats } from './helpers';

describe('update-statistics', () => {
  let db: TestDatabase;
  let h: TaskHarness;

  beforeAll(async () => {
    db = await createTestDatabase();
    h = harness(db);
    await db.query(`CREATE TABLE public.busy (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = false)`);
    await db.query(`CREATE TABLE public.quiet (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = false)`);
    await withFlushedStats(
      db.pool(),
      `INSERT INTO public.busy SELECT g, g FROM generate_series(1, 20000) g`,
      `INSERT INTO public.quiet SELECT g, g FROM generate_series(1, 20000) g`,
    );
    // Separately: pending counts flushed after an ANALYZE would be added back on top of it.
    await withFlushedStats(db.pool(), `ANALYZE public.busy`, `ANALYZE public.quiet`);
    await withFlushedStats(
      db.pool(),
      `UPDATE public.busy SET v = v + 1 WHERE id <= 5000`,
      `UPDATE public.quiet SET v = v + 1 WHERE id <= 50`,
    );
  });
  afterAll(() => db.drop());

  const stats = async (table: string) =>
    (await db.query<{ mods: string }>(`SELECT n_mod_since_analyze AS mods FROM pg_stat_user_tables WHERE relname = $1`, [table]))[0];

  it('analyzes only tables past the threshold (absolute or relative)', async () => {
    const [before] = await db.query<{ last_analyze: Date | null }>(`SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'listening_mentions'`);
    expect(before.last_analyze).toBeNull();
    expect(Number((await stats('busy')).mods)).toBe(5000);
    expect(Number((await stats('quiet')).mods)).toBe(50);
    const result = await h.run({ task: 'update-statistics', minModifiedRows: 1000, minModifiedPercent: 10 });
    expect(result.status).toBe('succeeded');
    const analyzed = (result.summary.analyzed as { table: string }[]).map((a) => a.table);
    expect(analyzed).toContain('public.busy');
    expect(analyzed).not.toContain('public.quiet');
    // Never analyzed before: the partitioned parents come last, flagged.
    expect(result.summary.analyzed).toContainEqual(expect.objectContaining({ table: 'public.listening_mentions', partitionedParent: true }));
    expect(analyzed.at(-1)).toMatch(/^public\.(listening_mentions|security_audit_logs)$/);
    const [parent] = await db.query<{ last_analyze: Date | null }>(`SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'listening_mentions'`);
    expect(parent.last_analyze).not.toBeNull();
    expect(Number((await stats('busy')).mods)).toBe(0);
    expect(Number((await stats('quiet')).mods)).toBe(50);
  });

  it('partitioned parents (which autovacuum never analyzes) are analyzed once, then left until they age', async () => {
    const second = await h.run({ task: 'update-statistics' });
    expect((second.summary.analyzed as { table: string }[]).map((a) => a.table)).not.toContain('public.listening_mentions');
  });

  it('a relative threshold alone picks up the small change', async () => {
    const result = await h.run({ task: 'update-statistics', table: 'public.quiet', minModifiedRows: 1_000_000, minModifiedPercent: 0.1 });
    expect((result.summary.analyzed as { table: string }[]).map((a) => a.table)).toEqual(['public.quiet']);
    expect(Number((await stats('quiet')).mods)).toBe(0);
  });
});
