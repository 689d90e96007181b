import { Client } from 'pg';
import { QueryAnalyzer } from '../../platform-db/analyzer/query-analyzer';
import { AnalyzerError, ExtensionMissingError, assertSingleSelect } from '../../platform-db';
import { WRAPAROUND_LIMIT } from '../../lambdas/checks/transaction-id-age';
import { createTestDatabase, TestDatabase } from '../support/database';
import { waitFor } from './support';

describe('QueryAnalyzer', () => {
  let db: TestDatabase;
  let analyzer: QueryAnalyzer;

  /** Runs statements on one connection and pushes its statistics out, so pg_stat_* sees them. */
  async function onOneConnection(statements: string[]): Promise<void> {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      for (const sql of statements) await client.query(sql);
      await client.query('SELECT pg_stat_force_next_flush()');
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    analyzer = new QueryAnalyzer(db.pool());
    await db.query(`
      CREATE TABLE probe (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a int NOT NULL, b int NOT NULL, c text NOT NULL, d int, e int);
      INSERT INTO probe (a, b, c, d, e) SELECT g % 100, g % 7, 'c' || (g % 50), g, g % 10 FROM generate_series(1, 2000) g;
      CREATE INDEX probe_a_idx ON probe (a);
      CREATE INDEX probe_a_b_idx ON probe (a, b);
      CREATE INDEX probe_b_idx ON probe (b);
      CREATE INDEX probe_b_twin_idx ON probe (b);
      CREATE INDEX probe_a_partial_idx ON probe (a) WHERE d > 1000;
      CREATE INDEX probe_c_pattern_idx ON probe (c text_pattern_ops);
      CREATE INDEX probe_c_d_idx ON probe (c, d);
      CREATE INDEX probe_lower_c_idx ON probe (lower(c));
      CREATE UNIQUE INDEX probe_d_key ON probe (d);
      CREATE INDEX probe_d_a_idx ON probe (d, a);
      CREATE INDEX probe_used_idx ON probe (e);
      CREATE INDEX probe_c_e_idx ON probe (c, e);
      CREATE INDEX probe_c_incl_e_idx ON probe (c) INCLUDE (e);
      ANALYZE probe;
    `);
  });
  afterAll(async () => {
    await db.drop();
  });

  describe('index checks', () => {
    it('finds an index that is a prefix of another with the same method, opclasses and predicate', async () => {
      const found = (await analyzer.duplicateIndexes()).filter((d) => d.table === 'probe');
      const pairs = found.map((d) => `${d.index} <= ${d.coveredBy}`).sort();
      // (c) INCLUDE (e) is served by (c, e); the reverse is not true, since INCLUDE columns cannot be searched.
      expect(pairs).toEqual(['probe_a_idx <= probe_a_b_idx', 'probe_b_twin_idx <= probe_b_idx', 'probe_c_incl_e_idx <= probe_c_e_idx']);
      const a = found.find((d) => d.index === 'probe_a_idx')!;
      expect(a.indexDefinition).toMatch(/\(a\)/);
      expect(a.coveredByDefinition).toMatch(/\(a, b\)/);
      expect(a.sizeBytes).toBeGreaterThan(0);
      // Not reported: the partial index (different predicate), text_pattern_ops vs default opclass,
      // the expression index, and the unique index covered by (d, a).
    });

    it('lists never-scanned indexes, leaving out used ones and those that enforce a constraint', async () => {
      await onOneConnection(['SET enable_seqscan = off', 'SELECT count(*) FROM probe WHERE e = 5']);
      await waitFor(async () => (await analyzer.getIndexStats('probe')).find((i) => i.index === 'probe_used_idx')?.used, 10_000, 'the scan to be counted');
      const unused = (await analyzer.unusedIndexes()).filter((u) => u.table === 'probe').map((u) => u.index);
      expect(unused).toEqual(expect.arrayContaining(['probe_a_idx', 'probe_b_idx', 'probe_c_d_idx']));
      expect(unused).not.toContain('probe_used_idx');
      expect(unused).not.toContain('probe_pkey');
      expect(unused).not.toContain('probe_d_key');
    });

    it('reports an index left invalid by a failed CREATE UNIQUE INDEX CONCURRENTLY', async () => {
      await db.query('CREATE TABLE dupes (v int NOT NULL)');
      await db.query('INSERT INTO dupes VALUES (1), (2), (2)');
      await expect(db.query('CREATE UNIQUE INDEX CONCURRENTLY dupes_v_key ON dupes (v)')).rejects.toThrow(/could not create unique index/);
      const invalid = await analyzer.invalidIndexes();
      expect(invalid).toEqual([
        expect.objectContaining({ schema: 'public', table: 'dupes', index: 'dupes_v_key', buildInProgress: false, remedy: expect.stringMatching(/DROP INDEX CONCURRENTLY/) }),
      ]);
      // Invalid indexes are not also reported as unused or duplicate.
      expect((await analyzer.unusedIndexes()).map((u) => u.index)).not.toContain('dupes_v_key');
      expect((await analyzer.getIndexStats('dupes'))[0]).toMatchObject({ index: 'dupes_v_key', valid: false, unique: true });
    });

    it('getIndexStats describes every index of a table', async () => {
      const stats = await analyzer.getIndexStats('public.probe');
      expect(stats.map((s) => s.index)).toEqual([...stats.map((s) => s.index)].sort());
      expect(stats.find((s) => s.index === 'probe_pkey')).toMatchObject({ primary: true, unique: true, valid: true, method: 'btree' });
      expect(stats.find((s) => s.index === 'probe_c_pattern_idx')!.definition).toMatch(/text_pattern_ops/);
      expect(stats.every((s) => s.sizeBytes > 0)).toBe(true);
    });
  });

  describe('table checks', () => {
    it('getTableStats reports scans, tuples and sizes', async () => {
      await db.query('CREATE TABLE stats_probe (id int PRIMARY KEY, v text)');
      await onOneConnection([
        `INSERT INTO stats_probe SELECT g, 'v' FROM generate_series(1, 500) g`,
        'DELETE FROM stats_probe WHERE id <= 100',
        'SELECT count(*) FROM stats_probe',
      ]);
      const stats = await waitFor(async () => {
        const s = await analyzer.getTableStats('stats_probe');
        return s.inserts === 500 && s.deletes === 100 ? s : undefined;
      }, 10_000, 'table statistics');
      expect(stats).toMatchObject({ schema: 'public', table: 'stats_probe', partitioned: false, partitions: 1, liveTuples: 400, deadTuples: 100, deadTuplePercent: 20 });
      expect(stats.seqScans).toBeGreaterThanOrEqual(1);
      expect(stats.tableBytes).toBeGreaterThan(0);
      expect(stats.indexBytes).toBeGreaterThan(0);
      expect(stats.totalBytes).toBeGreaterThanOrEqual(stats.tableBytes + stats.indexBytes);
    });

    it('sums a partitioned table over its partitions', async () => {
      const stats = await analyzer.getTableStats('listening_mentions');
      expect(stats.partitioned).toBe(true);
      const [{ n }] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_partition_tree('listening_mentions') WHERE isleaf`);
      expect(stats.partitions).toBe(n);
    });

    it('rejects unknown tables, non-tables and malformed names clearly', async () => {
      await expect(analyzer.getTableStats('no_such_table')).rejects.toThrow('table "no_such_table" does not exist');
      await expect(analyzer.getIndexStats('no_such_table')).rejects.toThrow(AnalyzerError);
      await expect(analyzer.getTableStats('posts; DROP TABLE posts')).rejects.toThrow(/table name must be/);
      await expect(analyzer.getTableStats('probe_pkey')).rejects.toThrow(/is not a table/);
    });

    it('hints at large tables read mostly by sequential scans', async () => {
      await db.query(`CREATE TABLE big_scan AS SELECT g AS id, g % 1000 AS v FROM generate_series(1, 20000) g`);
      await db.query(`CREATE TABLE small_scan AS SELECT g AS id FROM generate_series(1, 100) g`);
      await db.query('ANALYZE big_scan, small_scan');
      await onOneConnection(['SELECT count(*) FROM big_scan WHERE v = 7', 'SELECT count(*) FROM big_scan WHERE v = 8', 'SELECT count(*) FROM small_scan WHERE id = 3']);
      const hints = await waitFor(async () => {
        const found = await analyzer.missingIndexHints();
        return found.some((h) => h.table === 'big_scan' && h.seqScans >= 2) ? found : undefined;
      }, 10_000, 'seq scans to be counted');
      expect(hints.find((h) => h.table === 'big_scan')).toMatchObject({ schema: 'public', estimatedRows: 20000, indexScans: 0, indexUsagePercent: 0 });
      expect(hints.map((h) => h.table)).not.toContain('small_scan');
      expect((await analyzer.missingIndexHints({ minRows: 50 })).map((h) => h.table)).toContain('small_scan');
    });

    it('finds sequences near overflow, measured against the column type', async () => {
      await db.query(`
        CREATE SEQUENCE small_seq AS smallint;
        SELECT setval('small_seq', 30000);
        CREATE TABLE narrow (id int);
        CREATE SEQUENCE wide_seq AS bigint OWNED BY narrow.id;
        SELECT setval('wide_seq', 2000000000);
        CREATE SEQUENCE roomy_seq AS bigint;
        SELECT setval('roomy_seq', 2000000000);
      `);
      const near = await analyzer.sequencesNearOverflow();
      const names = near.map((s) => s.sequence);
      expect(names).toEqual(expect.arrayContaining(['small_seq', 'wide_seq']));
      expect(names).not.toContain('roomy_seq');
      expect(near.find((s) => s.sequence === 'wide_seq')).toMatchObject({ ownedBy: 'narrow.id', lastValue: 2000000000, maxValue: 2147483647 });
      expect(near.find((s) => s.sequence === 'small_seq')).toMatchObject({ ownedBy: null, maxValue: 32767 });
      expect(near.find((s) => s.sequence === 'small_seq')!.percentUsed).toBeCloseTo((100 * 30000) / 32767, 6);
      expect((await analyzer.sequencesNearOverflow(95)).map((s) => s.sequence)).not.toContain('small_seq');
    });

    it('reports transaction id age per database against the wraparound limit', async () => {
      const report = await analyzer.transactionIdWraparound();
      expect(report.freezeMaxAge).toBe(200_000_000);
      const mine = report.databases.find((d) => d.database === db.name)!;
      expect(mine.xidAge).toBeGreaterThan(0);
      expect(mine.percentTowardWraparound).toBeCloseTo((100 * mine.xidAge) / WRAPAROUND_LIMIT, 9);
      expect(mine.beyondFreezeMaxAge).toBe(false);
      const ages = report.oldestTables.map((t) => t.xidAge);
      expect(ages).toEqual([...ages].sort((x, y) => y - x));
      expect(report.oldestTables.length).toBeGreaterThan(0);
    });
  });

  describe('getSlowQueries', () => {
    it('returns statements whose mean time is above the threshold, from pg_stat_statements', async () => {
      await db.query('SELECT pg_sleep(0.06) AS slow_probe');
      const slow = await analyzer.getSlowQueries(50);
      const probe = slow.find((q) => /slow_probe/.test(q.query));
      expect(probe).toBeDefined();
      expect(probe!.meanMs).toBeGreaterThanOrEqual(50);
      expect(probe!.calls).toBeGreaterThanOrEqual(1);
      expect((await analyzer.getSlowQueries(60_000)).some((q) => /slow_probe/.test(q.query))).toBe(false);
      await expect(analyzer.getSlowQueries(-1)).rejects.toThrow(/thresholdMs/);
    });

    it('says clearly when pg_stat_statements is not installed', async () => {
      const bare = await createTestDatabase();
      try {
        // Created by the superuser in the template, as Aurora's own extension handling would.
        await bare.newPool({ connectionString: bare.superuserUrl, max: 1 }).query('DROP EXTENSION pg_stat_statements');
        const failure = new QueryAnalyzer(bare.pool()).getSlowQueries(1000);
        await expect(failure).rejects.toBeInstanceOf(ExtensionMissingError);
        await expect(new QueryAnalyzer(bare.pool()).getSlowQueries(1000)).rejects.toThrow(/pg_stat_statements is not available: run CREATE EXTENSION/);
      } finally {
        await bare.drop();
      }
    });
  });

  describe('explainQuery', () => {
    it('returns the JSON plan without executing unless analyze is asked for', async () => {
      const plan = await analyzer.explainQuery('SELECT * FROM probe WHERE id = $1', { params: [5] });
      expect(plan.Plan['Node Type']).toMatch(/Index Scan|Bitmap Heap Scan|Index Only Scan/);
      expect(plan).not.toHaveProperty('Execution Time');
      const analyzed = await analyzer.explainQuery('SELECT count(*) FROM probe;', { analyze: true });
      expect(analyzed['Execution Time']).toEqual(expect.any(Number));
      expect(analyzed.Plan['Actual Rows']).toBe(1);
    });

    it('runs inside a read-only transaction that is rolled back', async () => {
      await db.query(`
        CREATE SEQUENCE explain_seq;
        CREATE TABLE explain_writes (v int);
        CREATE FUNCTION sneaky_write() RETURNS int LANGUAGE sql VOLATILE AS 'INSERT INTO explain_writes VALUES (1) RETURNING v';
      `);
      await expect(analyzer.explainQuery(`SELECT nextval('explain_seq')`, { analyze: true })).rejects.toMatchObject({ code: '25006' });
      await expect(analyzer.explainQuery('SELECT sneaky_write()', { analyze: true })).rejects.toMatchObject({ code: '25006' });
      expect(await db.query('SELECT count(*)::int AS n FROM explain_writes')).toEqual([{ n: 0 }]);
      expect(await db.query('SELECT last_value, is_called FROM explain_seq')).toEqual([{ last_value: '1', is_called: false }]);
      // The pool connection is clean afterwards: not stuck in a transaction, not read-only.
      const client = await db.pool().connect();
      try {
        expect((await client.query(`SELECT current_setting('transaction_read_only') AS ro`)).rows[0].ro).toBe('off');
      } finally {
        client.release();
      }
    });

    it.each([
      ['DELETE FROM probe', /only explains SELECT statements, got DELETE/],
      ['WITH gone AS (DELETE FROM probe RETURNING *) SELECT count(*) FROM gone', /modify data: found DELETE/],
      ['WITH x AS (UPDATE probe SET a = 1 RETURNING *) SELECT * FROM x', /modify data: found UPDATE/],
      ['SELECT 1; DELETE FROM probe', /single statement, got 2/],
      ['SELECT 1; SELECT 2', /single statement, got 2/],
      ['SELECT * INTO copy_of_probe FROM probe', /SELECT \.\.\. INTO/],
      ['SELECT * FROM probe FOR SHARE', /row-locking/],
      ['SELECT * FROM probe FOR UPDATE', /found UPDATE/],
      ['  -- just a comment', /only comments/],
      ['', /needs a SQL statement/],
      ['VACUUM probe', /got VACUUM/],
      ["SELECT 'unterminated", /unterminated string literal/],
    ])('rejects %j before running anything', async (sql, message) => {
      await expect(analyzer.explainQuery(sql, { analyze: true })).rejects.toThrow(message);
      expect(await db.query('SELECT count(*)::int AS n FROM probe')).toEqual([{ n: 2000 }]);
    });

    it('is not fooled by keywords and semicolons inside literals, identifiers and comments', () => {
      expect(() => assertSingleSelect(`SELECT 'delete; drop table probe' AS "update;", $$ insert $$ AS x /* ; delete */ -- ; update\n;`)).not.toThrow();
      expect(() => assertSingleSelect(`(SELECT 1) UNION ALL (SELECT 2)`)).not.toThrow();
      expect(() => assertSingleSelect(`TABLE probe`)).toThrow(/got TABLE/);
      expect(() => assertSingleSelect(`WITH t AS (SELECT 1) SELECT * FROM t`)).not.toThrow();
      expect(() => assertSingleSelect(`select E'it\\'s; delete'`)).not.toThrow();
    });
  });
});
