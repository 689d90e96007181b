import { Client } from 'pg';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadMigrationFiles, MIGRATIONS_DIR } from '../../lambdas/migrate/migration-files';
import { splitSqlStatements } from '../../lambdas/migrate/sql-splitter';
import { createTestDatabase, TestDatabase } from '../support/database';
import {
  indexNamesIn,
  invalidIndexes,
  OPTIMIZATION_FILES,
  predicateProblems,
  prefixDuplicates,
  RETIRED_INDEXES,
  uncommentedIndexes,
  unindexedForeignKeys,
} from './index-checks';
import { createTenant } from './platform-fixtures';

describe('optimization indexes (030, 031, 045 and every later *_indexes.sql)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('are all valid and ready, partitions included', async () => {
    expect(await invalidIndexes(db)).toEqual([]);
  });

  it('number at least 100, each one created and described by a COMMENT naming its query pattern', async () => {
    const names = OPTIMIZATION_FILES.flatMap(indexNamesIn);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBeGreaterThanOrEqual(100);
    const rows = await db.query<{ name: string; comment: string | null; constraint_index: boolean }>(
      `SELECT n AS name, obj_description(to_regclass('public.' || n), 'pg_class') AS comment,
              EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = to_regclass('public.' || n)) AS constraint_index
         FROM unnest($1::text[]) n
        WHERE to_regclass('public.' || n) IS NOT NULL`,
      [names],
    );
    expect(rows.map((r) => r.name).sort()).toEqual([...names].sort());
    expect(rows.filter((r) => r.constraint_index)).toEqual([]);
    expect(rows.filter((r) => (r.comment ?? '').length < 20).map((r) => r.name)).toEqual([]);
    // Every non-unique index in the schema, wherever it was made, says why it exists.
    expect(await uncommentedIndexes(db)).toEqual([]);
  });

  it('leave out the retired ones: a later migration dropped them for good', async () => {
    const rows = await db.query<{ name: string }>(`SELECT n AS name FROM unnest($1::text[]) n WHERE to_regclass('public.' || n) IS NOT NULL`, [RETIRED_INDEXES]);
    expect(rows).toEqual([]);
  });

  it('the search index takes new posts into its tree at once, leaving searches no pending list to scan (085, 098)', async () => {
    const admin = new Client({ connectionString: db.superuserUrl });
    await admin.connect();
    try {
      await admin.query('CREATE EXTENSION IF NOT EXISTS pgstattuple');
      const tenant = await createTenant(db, 'gin');
      await db.query(
        `INSERT INTO posts (workspace_id, author_id, title, content, tags)
         SELECT $1, $2, 'launch ' || g, 'summer sale ' || g, ARRAY['launch'] FROM generate_series(1, 200) g`,
        [tenant.workspaceId, tenant.userId],
      );
      const { rows } = await admin.query<{ pending_pages: number }>(
        `SELECT pending_pages FROM pgstatginindex('public.post_search_terms_gin_idx')`,
      );
      expect(rows).toEqual([{ pending_pages: 0 }]);
    } finally {
      await admin.end();
    }
  });

  it('have no predicate or expression that reads the clock or calls anything not immutable', async () => {
    expect(await predicateProblems(db)).toEqual([]);
  });

  it('include no index that is a left prefix of another with the same predicate', async () => {
    expect(await prefixDuplicates(db)).toEqual([]);
  });

  it('leave no foreign key without an index leading with its columns', async () => {
    expect(await unindexedForeignKeys(db)).toEqual([]);
  });

  it('live in the right file: plain tables are indexed CONCURRENTLY outside a transaction, partitioned parents and views inside one', async () => {
    const files = new Map(loadMigrationFiles().map((f) => [f.name, f]));
    expect(OPTIMIZATION_FILES).toEqual(expect.arrayContaining(['030_optimization_indexes.sql', '031_partitioned_indexes.sql', '045_materialized_view_indexes.sql']));
    for (const file of OPTIMIZATION_FILES) {
      const migration = files.get(file);
      if (!migration) throw new Error(`${file} is missing from ${MIGRATIONS_DIR}`);
      const statements = splitSqlStatements(readFileSync(path.join(MIGRATIONS_DIR, file), 'utf8'));
      // Indexes and their comments only: anything else belongs to the schema files.
      const others = statements.filter((s) => !/^(?:--[^\n]*\n\s*)*(CREATE INDEX|COMMENT ON INDEX)\b/i.test(s));
      expect(others).toEqual([]);
      const kinds = await db.query<{ name: string; kind: string }>(
        `SELECT n AS name, t.relkind::text AS kind
           FROM unnest($1::text[]) n
           JOIN pg_index i ON i.indexrelid = to_regclass('public.' || n)
           JOIN pg_class t ON t.oid = i.indrelid`,
        [indexNamesIn(file)],
      );
      if (migration.transactional) {
        // A plain index build holds a SHARE lock on a live table for the whole build. 045 built its
        // indexes on views WITH NO DATA; 070 turned those views into tables and rebuilt the indexes
        // on them while still empty, so they sit on tables now without ever having locked a live one.
        const rebuiltBy070 = file === '045_materialized_view_indexes.sql';
        expect([file, kinds.filter((k) => k.kind === 'r' && !rebuiltBy070).map((k) => k.name)]).toEqual([file, []]);
      } else {
        const plain = statements.filter((s) => /CREATE INDEX/i.test(s) && !/CREATE INDEX CONCURRENTLY IF NOT EXISTS/i.test(s));
        expect([file, plain]).toEqual([file, []]);
      }
    }
  });
});

describe('the index checks catch the mistakes they exist for', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('report a predicate on a disguised now(), a prefix twin, an unindexed foreign key, a missing comment and an invalid index', async () => {
    // Mislabelled IMMUTABLE, so Postgres accepts it in a predicate; the "due" rows would be frozen at build time.
    await db.query(`CREATE FUNCTION public.right_now() RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$ SELECT now() $$`);
    await db.query(`CREATE INDEX planted_due_idx ON public.posts (scheduled_at) WHERE scheduled_at <= public.right_now()`);
    await db.query(`COMMENT ON INDEX public.planted_due_idx IS 'planted: due posts computed at build time'`);
    await db.query(`CREATE INDEX planted_prefix_idx ON public.conversations (workspace_id, status)`);
    await db.query(`CREATE TABLE public.planted_children (id bigint PRIMARY KEY, post_id bigint REFERENCES public.posts (id) ON DELETE CASCADE)`);
    // A unique violation makes CREATE UNIQUE INDEX CONCURRENTLY leave an INVALID index behind.
    await db.query(`CREATE TABLE public.planted_pairs (a int, b int)`);
    await db.query(`INSERT INTO public.planted_pairs VALUES (1, 1), (1, 1)`);
    await expect(db.query(`CREATE UNIQUE INDEX CONCURRENTLY planted_invalid_idx ON public.planted_pairs (a, b)`)).rejects.toThrow(/could not create unique index/);

    expect(await predicateProblems(db)).toEqual([{ index: 'planted_due_idx', problem: 'calls right_now(), which reads the clock or chance' }]);
    expect(await prefixDuplicates(db)).toEqual([
      { index: 'planted_prefix_idx', coveredBy: 'conversations_inbox_idx' },
      { index: 'planted_prefix_idx', coveredBy: 'conversations_inbox_priority_idx' },
    ]);
    expect(await unindexedForeignKeys(db)).toEqual([{ table: 'planted_children', columns: 'post_id', references: 'posts' }]);
    // Unique indexes enforce a rule, which is reason enough; the invalid one is unique.
    expect(await uncommentedIndexes(db)).toEqual(['planted_prefix_idx']);
    expect(await invalidIndexes(db)).toEqual(['planted_invalid_idx']);
  });
});
