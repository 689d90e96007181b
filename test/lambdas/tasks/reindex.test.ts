import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { harness, TaskHarness, waitFor } from './helpers';

const size = async (db: TestDatabase, index: string) =>
  Number((await db.query<{ bytes: string }>(`SELECT pg_relation_size($1::regclass) AS bytes`, [index]))[0].bytes);

const invalid = async (db: TestDatabase) =>
  (await db.query<{ name: string }>(`SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid ORDER BY 1`)).map(
    (r) => r.name,
  );

async function bloatedTable(db: TestDatabase, table: string): Promise<void> {
  await db.query(`CREATE TABLE public.${table} (id int, label text) WITH (autovacuum_enabled = false)`);
  await db.query(`CREATE INDEX ${table}_label_idx ON public.${table} (label)`);
  await db.query(`INSERT INTO public.${table} SELECT g, md5(g::text) FROM generate_series(1, 60000) g`);
  // Deleting 90 % and vacuuming leaves the btree's pages allocated but mostly empty.
  await db.query(`DELETE FROM public.${table} WHERE id % 10 <> 0`);
  await db.query(`VACUUM ANALYZE public.${table}`);
}

describe('reindex', () => {
  let db: TestDatabase;
  let h: TaskHarness;

  beforeAll(async () => {
    db = await createTestDatabase();
    h = harness(db);
    await bloatedTable(db, 'bloaty');
  });
  afterAll(() => db.drop());

  it('rebuilds a bloated index concurrently and it shrinks (estimate, no extension)', async () => {
    const before = await size(db, 'public.bloaty_label_idx');
    const dry = await h.run({ task: 'reindex', dryRun: true, minBloatBytes: 0, minBloatPercent: 50 });
    expect(dry.summary.method).toBe('estimate');
    expect((dry.summary.wouldRebuild as { index: string }[]).map((i) => i.index)).toContain('public.bloaty_label_idx');
    expect(await size(db, 'public.bloaty_label_idx')).toBe(before);

    const result = await h.run({ task: 'reindex', minBloatBytes: 0, minBloatPercent: 50 });
    expect(result.status).toBe('succeeded');
    const rebuilt = (result.summary.rebuilt as { index: string; bytesBefore: number; bytesAfter: number }[]).find((r) => r.index === 'public.bloaty_label_idx');
    expect(rebuilt).toBeDefined();
    const after = await size(db, 'public.bloaty_label_idx');
    expect(after).toBeLessThan(before / 2);
    expect(rebuilt?.bytesAfter).toBe(after);
    expect(await invalid(db)).toEqual([]);
  });

  it('measures with pgstatindex when pgstattuple is installed, and leaves healthy indexes alone', async () => {
    await bloatedTable(db, 'bloaty2');
    // Aurora's master may create pgstattuple; plain PostgreSQL keeps untrusted extensions to superusers.
    const superuser = db.newPool({ connectionString: db.superuserUrl, max: 1 });
    await superuser.query(`CREATE EXTENSION IF NOT EXISTS pgstattuple`);
    const healthy = await size(db, 'public.bloaty_label_idx');
    const before = await size(db, 'public.bloaty2_label_idx');
    const result = await h.run({ task: 'reindex', minBloatBytes: 0, minBloatPercent: 50 });
    expect(result.summary.method).toBe('pgstattuple');
    const names = (result.summary.rebuilt as { index: string }[]).map((r) => r.index);
    expect(names).toContain('public.bloaty2_label_idx');
    expect(names).not.toContain('public.bloaty_label_idx');
    expect(await size(db, 'public.bloaty2_label_idx')).toBeLessThan(before / 2);
    expect(await size(db, 'public.bloaty_label_idx')).toBe(healthy);
    await superuser.query(`DROP EXTENSION pgstattuple`);
  });

  it('a run killed mid-build reports failure; the next run drops the INVALID _ccnew leftover and succeeds', async () => {
    await db.query(`CREATE TABLE public.victim (id int, label text)`);
    await db.query(`CREATE INDEX victim_label_idx ON public.victim (label)`);
    await db.query(`INSERT INTO public.victim SELECT g, md5(g::text) FROM generate_series(1, 5000) g`);
    await db.query(`ANALYZE public.victim`);

    // An open snapshot makes REINDEX CONCURRENTLY wait after creating its _ccnew copy.
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    await holder.query(`BEGIN ISOLATION LEVEL REPEATABLE READ`);
    await holder.query(`SELECT count(*) FROM public.workspaces`);
    try {
      const run = h.run({ task: 'reindex', index: 'public.victim_label_idx', lockTimeoutMs: 60_000 });
      const pid = await waitFor(async () => {
        const rows = await db.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'dbops:reindex' AND query LIKE 'REINDEX%' AND wait_event_type = 'Lock'`,
        );
        return rows[0]?.pid;
      }, 'the REINDEX to wait for the open snapshot');
      await db.query(`SELECT pg_terminate_backend($1)`, [pid]);
      const killed = await run;
      expect(killed.status).toBe('failed');
      expect(killed.reason).toMatch(/terminat/i);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect(await invalid(db)).toEqual(['victim_label_idx_ccnew']);

    const next = await h.run({ task: 'reindex', index: 'public.victim_label_idx' });
    expect(next.status).toBe('succeeded');
    expect(next.summary.droppedLeftovers).toEqual(['public.victim_label_idx_ccnew']);
    expect((next.summary.rebuilt as { index: string }[]).map((r) => r.index)).toEqual(['public.victim_label_idx']);
    expect(await invalid(db)).toEqual([]);
  });
});
