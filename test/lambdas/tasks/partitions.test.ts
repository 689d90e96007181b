import { ValidationError } from '../../../lambdas/tasks/options';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { harness, TaskHarness } from './helpers';

describe('create-partitions and drop-old-partitions', () => {
  let db: TestDatabase;
  let h: TaskHarness;

  beforeAll(async () => {
    db = await createTestDatabase();
    h = harness(db);
    await db.query(`INSERT INTO public.workspaces (name, slug) VALUES ('W', 'w')`);
    await db.query(`INSERT INTO public.listening_queries (workspace_id, name, keywords) VALUES (1, 'q', ARRAY['k'])`);
  });
  afterAll(() => db.drop());

  const partitions = async (table: string) =>
    (await db.query<{ name: string }>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY 1`, [table])).map(
      (r) => r.name,
    );
  const defaultRows = async () => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM public.listening_mentions_default`))[0].n);

  it('moves rows out of the default partition into new monthly partitions and reports headroom', async () => {
    // Two and three months back: no partition exists, so these rows land in the default partition.
    await db.query(`
      INSERT INTO public.listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, content, published_at)
      SELECT 1, 1, 'twitter', 'm' || g, '@a', 'old mention',
             date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '2 months' + (g % 40) * interval '1 day'
        FROM generate_series(1, 300) g`);
    expect(await defaultRows()).toBe(300);
    const total = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM public.listening_mentions`))[0].n);

    const dry = await h.run({ task: 'create-partitions', dryRun: true });
    expect(dry.summary.partitionsCreated).toBe(0);
    expect(await defaultRows()).toBe(300);

    const result = await h.run({ task: 'create-partitions' });
    expect(result.status).toBe('succeeded');
    expect(result.summary.rowsMoved).toBe(300);
    expect(await defaultRows()).toBe(0);
    expect(Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM public.listening_mentions`))[0].n)).toBe(total);
    const created = (result.summary.created as { table: string; partition: string }[]).filter((c) => c.table === 'public.listening_mentions');
    expect(created.length).toBeGreaterThanOrEqual(2);
    expect((result.summary.defaultPartitionRows as Record<string, number>)['public.listening_mentions']).toBe(0);
    const [status] = await db.query<{ headroom_months: number }>(`SELECT headroom_months FROM dbops.partition_status WHERE table_name = 'public.listening_mentions'`);
    expect((result.summary.headroomMonths as Record<string, number>)['public.listening_mentions']).toBe(status.headroom_months);
    expect(h.sink.values('PartitionHeadroomMonths', { Table: 'public.listening_mentions' }).at(-1)).toBe(status.headroom_months);
    expect(h.sink.values('DefaultPartitionRows', { Table: 'public.listening_mentions' }).at(-1)).toBe(0);

    const again = await h.run({ task: 'create-partitions' });
    expect(again.summary.partitionsCreated).toBe(0);
  });

  it('extends headroom when asked for more months ahead', async () => {
    const result = await h.run({ task: 'create-partitions', table: 'listening_mentions', monthsAhead: 6 });
    expect(result.status).toBe('succeeded');
    expect((result.summary.headroomMonths as Record<string, number>)['public.listening_mentions']).toBe(6);
  });

  it('drop-old-partitions respects retention and dry run', async () => {
    const before = await partitions('public.listening_mentions');
    const oldest = before.filter((n) => /_p\d{6}$/.test(n)).sort()[0];
    expect(oldest).toBeDefined();

    // Retention of 1 month: the partition two months back is past the cutoff.
    const dry = await h.run({ task: 'drop-old-partitions', table: 'public.listening_mentions', retentionMonths: 1, dryRun: true });
    expect(dry.status).toBe('succeeded');
    expect(dry.summary.wouldDrop).toContain(`public.listening_mentions: ${oldest}`);
    expect(dry.summary.dropped).toEqual([]);
    expect(await partitions('public.listening_mentions')).toEqual(before);

    // The default retention (24 months from the registry) keeps everything.
    const keep = await h.run({ task: 'drop-old-partitions' });
    expect(keep.summary.dropped).toEqual([]);
    expect(await partitions('public.listening_mentions')).toEqual(before);

    const real = await h.run({ task: 'drop-old-partitions', table: 'public.listening_mentions', retentionMonths: 1 });
    expect(real.status).toBe('succeeded');
    expect(real.summary.dropped).toEqual(dry.summary.wouldDrop);
    const after = await partitions('public.listening_mentions');
    expect(after).not.toContain(oldest);
    expect(after.length).toBe(before.length - (dry.summary.wouldDrop as string[]).length);
  });

  it('uses PARTITION_RETENTION_MONTHS from the settings when no option is given', async () => {
    const scoped = harness(db, { retentionMonths: 1 });
    const dry = await scoped.run({ task: 'drop-old-partitions', dryRun: true });
    expect(dry.summary.retentionMonths).toBe(1);
  });

  it.each([
    ['create-partitions', 'public.posts', /option table=public\.posts: public\.posts is a table, not a partitioned table/],
    ['drop-old-partitions', 'public.no_such_table', /option table=public\.no_such_table: no partitioned table public\.no_such_table exists/],
  ])('%s refuses table=%s by name, as a validation error', async (task, table, message) => {
    const error = await h.run({ task, table }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(message);
  });

  it('refuses a partitioned table that is not managed', async () => {
    await db.query(`CREATE TABLE public.rogue_parts (at timestamptz NOT NULL) PARTITION BY RANGE (at)`);
    const error = await h.run({ task: 'create-partitions', table: 'public.rogue_parts' }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/option table=public\.rogue_parts: public\.rogue_parts is not managed \(not listed in dbops\.partitioned_tables\)/);
    expect(await db.query(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'public.rogue_parts'::regclass`)).toEqual([{ n: 0 }]);
  });

  it('refuses p_now => infinity in SQL with a deliberate error', async () => {
    await expect(db.query(`SELECT * FROM dbops.create_monthly_partitions(p_now => 'infinity')`)).rejects.toThrow(/timestamp infinity has no calendar month/);
    await expect(db.query(`SELECT * FROM dbops.create_monthly_partitions(p_now => '-infinity')`)).rejects.toThrow(/timestamp -infinity has no calendar month/);
  });
});
