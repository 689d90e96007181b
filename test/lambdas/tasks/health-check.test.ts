import { Client } from 'pg';
import { collectHealth, healthMetrics } from '../../../lambdas/checks/health';
import { unusedIndexes } from '../../../lambdas/checks/unused-indexes';
import { QueryAnalyzer } from '../../../platform-db';
import { withEnvironment, datumProblem } from '../../../lambdas/metrics/datum';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { harness, withFlushedStats } from './helpers';

/** Health values against independent catalog queries, on a database put into a known state. */
describe('health metrics', () => {
  let db: TestDatabase;
  const reader = () => ({ query: async <R,>(text: string, params?: readonly unknown[]) => (await db.query(text, params as unknown[])) as R[] });

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.query(`CREATE TABLE public.known (id int PRIMARY KEY, label text) WITH (autovacuum_enabled = false)`);
    await db.query(`CREATE INDEX known_label_idx ON public.known (label)`);
    // 10,000 rows, 3,000 deleted: 30 % dead tuples.
    await withFlushedStats(db.pool(), `INSERT INTO public.known SELECT g, md5(g::text) FROM generate_series(1, 10000) g`, `DELETE FROM public.known WHERE id % 10 < 3`);
    // An index left INVALID by a failed concurrent build (duplicates break the unique build).
    await db.query(`CREATE TABLE public.dupes (v int)`);
    await db.query(`INSERT INTO public.dupes VALUES (1), (1)`);
    await db.query(`CREATE UNIQUE INDEX CONCURRENTLY dupes_v_key ON public.dupes (v)`).catch(() => undefined);
    // An exclusion constraint's index is never scanned by a query here, yet it enforces the constraint.
    await db.query(`CREATE TABLE public.booking (during int4range, EXCLUDE USING gist (during WITH &&))`);
  });
  afterAll(() => db.drop());

  it('dead tuples: 30 % dead reads above 20 %, equal to pg_stat_user_tables', async () => {
    const report = await collectHealth(reader());
    const known = report.deadTuples.find((d) => d.table === 'public.known');
    const [independent] = await db.query<{ pct: number }>(
      `SELECT 100.0 * n_dead_tup / (n_live_tup + n_dead_tup) AS pct FROM pg_stat_user_tables WHERE relname = 'known'`,
    );
    expect(known?.deadPercent).toBeGreaterThan(20);
    expect(known?.deadPercent).toBeCloseTo(Number(independent.pct), 6);
    expect(report.maxDeadTuplePercent).toBeGreaterThanOrEqual(known?.deadPercent as number);
    expect(report.deadTuples[0].deadPercent).toBe(report.maxDeadTuplePercent);
  });

  it('connections, cache hit, xid age and indexes agree with the catalog', async () => {
    const report = await collectHealth(reader());
    const [conn] = await db.query<{ used: string; max: string }>(
      `SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS used, current_setting('max_connections') AS max FROM pg_stat_activity`,
    );
    expect(report.connections.max).toBe(Number(conn.max));
    // Backends are counted server-wide and other test files connect meanwhile: the two readings must
    // agree on at least one of a few tries (a wrong formula never would).
    let gap = Math.abs(report.connections.used - Number(conn.used));
    for (let attempt = 0; attempt < 5 && gap > 2; attempt += 1) {
      const again = (await collectHealth(reader())).connections.used;
      const [independent] = await db.query<{ used: string }>(`SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS used FROM pg_stat_activity`);
      gap = Math.abs(again - Number(independent.used));
    }
    expect(gap).toBeLessThanOrEqual(2);
    expect(report.connections.percent).toBeCloseTo((100 * report.connections.used) / report.connections.max, 6);

    const [hit] = await db.query<{ pct: number }>(
      `SELECT 100.0 * sum(heap_blks_hit) / nullif(sum(heap_blks_hit) + sum(heap_blks_read), 0) AS pct FROM pg_statio_user_tables`,
    );
    expect(report.cacheHit.tablePercent).not.toBeNull();
    expect(Math.abs((report.cacheHit.tablePercent as number) - Number(hit.pct))).toBeLessThan(1);

    // Other test files consume transaction ids on the same server meanwhile, so bracket the report
    // between readings taken just before and just after it.
    const xidAge = async () => Number((await db.query<{ age: string }>(`SELECT max(age(datfrozenxid)) AS age FROM pg_database`))[0].age);
    const before = await xidAge();
    const xidReport = await collectHealth(reader());
    const after = await xidAge();
    expect(xidReport.transactionIdAge).toBeGreaterThanOrEqual(before);
    expect(xidReport.transactionIdAge).toBeLessThanOrEqual(after);

    // The reports above ran every check, and the later ones (view freshness, partition status) scan
    // dbops indexes after the unused-index check has read idx_scan; read the check right next to the
    // independent count so both see the same statistics.
    const unusedNow = await unusedIndexes(reader());
    const unused = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_user_indexes s JOIN pg_index i USING (indexrelid)
        WHERE s.idx_scan = 0 AND i.indisvalid AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`,
    );
    expect(unusedNow.length).toBe(Number(unused[0].n));
    const unusedNames = report.unusedIndexes.map((i) => `${i.schema}.${i.index}`);
    expect(unusedNames).toContain('public.known_label_idx');
    // An index that enforces a constraint is never "unused", an exclusion constraint's included.
    const [excl] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_user_indexes WHERE indexrelname = 'booking_during_excl' AND idx_scan = 0`);
    expect(Number(excl.n)).toBe(1);
    expect(unusedNames).not.toContain('public.booking_during_excl');
    // One definition: the application library's QueryAnalyzer reports the same indexes as the check
    // read beside it. A backend's scans reach the statistics up to a second later, and only take
    // indexes off the list; so the library's read equals the check's just before or just after it.
    const names = (list: { schema: string; index: string }[]) => list.map((i) => `${i.schema}.${i.index}`).sort();
    const checkBefore = names(await unusedIndexes(reader()));
    const library = names(await new QueryAnalyzer(db.pool()).unusedIndexes());
    const checkAfter = names(await unusedIndexes(reader()));
    expect([checkBefore, checkAfter]).toContainEqual(library);
    expect(library).toContain('public.known_label_idx');
    expect(report.invalidIndexes.map((i) => i.qualifiedName)).toEqual(['public.dupes_v_key']);
    expect(report.invalidIndexes[0].reindexLeftover).toBe(false);
  });

  it('a long query, partitions, views and replica lag (a primary without standbys: none, not zero)', async () => {
    const sleeper = new Client({ connectionString: db.url });
    sleeper.on('error', () => undefined);
    await sleeper.connect();
    const sleeping = sleeper.query('SELECT pg_sleep(3)');
    await new Promise((r) => setTimeout(r, 1500));
    try {
      const report = await collectHealth(reader(), { longQuerySeconds: 1 });
      expect(report.longQueries.length).toBeGreaterThanOrEqual(1);
      expect(report.longQueries.some((q) => q.query.includes('pg_sleep(3)'))).toBe(true);
      expect(report.longestQuerySeconds).toBeGreaterThan(1);
      expect(report.replicaLag).toEqual({ source: 'pg_stat_replication', maxLagMs: null, replicas: 0, maxLagBytes: null });
      const status = await db.query<{ table_name: string; partition_count: number }>(`SELECT table_name, partition_count FROM dbops.partition_status ORDER BY 1`);
      expect(report.partitions?.map((p) => [p.table, p.partitionCount])).toEqual(status.map((s) => [s.table_name, s.partition_count]));
      const views = await db.query<{ view_name: string }>(`SELECT view_name FROM dbops.mv_freshness ORDER BY 1`);
      expect(report.views?.map((v) => v.view)).toEqual(views.map((v) => v.view_name));

      const data = withEnvironment(healthMetrics(report), 'test');
      expect(data.map(datumProblem).filter(Boolean)).toEqual([]);
      const names = new Set(data.map((d) => d.metric.name));
      for (const name of ['ConnectionUtilization', 'CacheHitRatio', 'MaxDeadTuplePercent', 'DeadTuplePercent', 'EstimatedTableBloatBytes', 'UnusedIndexCount',
        'PartitionCount', 'PartitionedTableSizeBytes', 'PartitionHeadroomMonths', 'MinPartitionHeadroomMonths', 'DefaultPartitionRows', 'TransactionIdAge',
      ]) {
        expect(names).toContain(name);
      }
      // long-query-check owns these; two publishers with different thresholds would mix in one series.
      expect(names).not.toContain('LongRunningQueryCount');
      expect(names).not.toContain('LongestQueryDuration');
      expect(names).not.toContain('ReplicaLagMaximum');
    } finally {
      await sleeping.catch(() => undefined);
      await sleeper.end();
    }
  });

  it('table bloat: half the rows of a table deleted and vacuumed is estimated near half its size', async () => {
    await db.query(`CREATE TABLE public.halfgone (id int, payload text) WITH (autovacuum_enabled = false)`);
    await db.query(`INSERT INTO public.halfgone SELECT g, repeat('y', 100) FROM generate_series(1, 20000) g`);
    await db.query(`DELETE FROM public.halfgone WHERE id % 2 = 0`);
    await db.query(`VACUUM ANALYZE public.halfgone`);
    const report = await collectHealth(reader());
    const half = report.tableBloat.find((t) => t.table === 'public.halfgone');
    const [{ bytes }] = await db.query<{ bytes: string }>(`SELECT pg_relation_size('public.halfgone') AS bytes`);
    expect(half?.realBytes).toBe(Number(bytes));
    expect(half?.bloatPercent).toBeGreaterThan(35);
    expect(half?.bloatPercent).toBeLessThan(65);
    expect(report.estimatedTableBloatBytes).toBeGreaterThanOrEqual(half?.bloatBytes as number);
  });

  it('the health-check task publishes the same values through the sink', async () => {
    const h = harness(db);
    const result = await h.run({ task: 'health-check' });
    expect(result.status).toBe('succeeded');
    expect(h.sink.values('DeadTuplePercent', { Table: 'public.known', Environment: 'test' })[0]).toBeGreaterThan(20);
    expect(h.sink.values('InvalidIndexCount')[0]).toBe(1);
    expect(result.metrics?.rejected).toEqual([]);
    // Each check contributes its own entries; together they are the summary the task always returned.
    expect(Object.keys(result.summary).sort()).toEqual([
      'cacheHitPercent', 'connectionUtilizationPercent', 'duplicateIndexes', 'estimatedTableBloatBytes', 'fullestSequences', 'indexCacheHitPercent', 'invalidIndexes',
      'longRunningQueries', 'longestQuerySeconds', 'maxDeadTuplePercent', 'maxSequenceUsedPercent', 'missingGrants', 'partitions', 'replicaLag', 'transactionIdAge',
      'unusedIndexCount', 'views', 'worstDeadTupleTables',
    ]);
    expect(result.summary.invalidIndexes).toEqual(['public.dupes_v_key']);
  });

  it('a view never refreshed still publishes its staleness, counted from its registration', async () => {
    await db.query(`UPDATE dbops.materialized_views SET registered_at = now() - interval '3 hours'`);
    const report = await collectHealth(reader());
    const data = withEnvironment(healthMetrics(report), 'test');
    const perView = data.filter((d) => d.metric.name === 'MaterializedViewStaleness');
    expect(perView.map((d) => d.dimensions.View).sort()).toEqual((report.views ?? []).map((v) => v.view).sort());
    expect(perView.length).toBe(8);
    for (const d of perView) expect(d.value).toBeGreaterThan(2 * 3600);
    expect(report.views?.every((v) => v.stalenessSeconds === null)).toBe(true);
    const [max] = data.filter((d) => d.metric.name === 'MaxMaterializedViewStaleness');
    expect(max.value).toBeGreaterThan(2 * 3600);
  });

  it('the slowest-statement figure is about application statements, not utility commands', async () => {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(`SELECT pg_stat_statements_reset()`);
      await client.query(`SELECT pg_sleep(0.2)`);
      // A slow utility statement (as a migration's index build or a REFRESH would be) must not count.
      await client.query(`DO $$ BEGIN PERFORM pg_sleep(0.8); END $$`);
    } finally {
      await client.end();
    }
    const report = await collectHealth(reader());
    expect(report.slowestStatementMeanMs).toBeGreaterThanOrEqual(200);
    expect(report.slowestStatementMeanMs).toBeLessThan(800);
  });
});
