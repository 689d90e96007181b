import { PoolClient } from 'pg';
import { migrate } from '../../lambdas/migrate/migrator';
import { loadQueryFiles, QueryFile } from '../../sql/query-files';
import { createEmptyDatabase, TestDatabase } from '../support/database';
import { seedPlanDataset, settlePlanDataset } from './plan-dataset';
import { explain, explainWithNested, leafPartitions, planFacts, planNodes, plpgsqlCalls, realisticParams } from './query-plan-support';

/**
 * Every file in sql/queries/ is planned against a seeded database with the parameters the
 * platform would send, and must use the index its header names without reading any large table
 * whole. Loading the directory at collection time makes a file with broken or missing metadata
 * fail this suite.
 */
const QUERIES = loadQueryFiles();

/** Tables below this many rows (lookups like workspaces or sla_policies) may be scanned whole. */
const LARGE_TABLE_ROWS = 5000;

describe('representative queries on a seeded database', () => {
  let db: TestDatabase;
  let client: PoolClient;
  let params: Record<string, unknown[]>;
  /** The planner's estimated cost of each query before the optimization migrations (queries reading a view excluded: no views yet). */
  const baselineCost = new Map<string, number>();

  beforeAll(async () => {
    db = await createEmptyDatabase();
    // Load the data before the optimization migrations, as on a live database: 030 then builds
    // its indexes CONCURRENTLY over populated tables, which is also the fast way to seed.
    await migrate({ databaseUrl: db.url, include: (file) => file.name < '030' });
    client = await db.pool().connect();
    await seedPlanDataset(client);
    await client.query('VACUUM (ANALYZE)');
    params = await realisticParams(client);
    for (const query of QUERIES) {
      // Patterns on objects the baseline lacks (the queue of 080, the search of 097) ran as their plain form.
      const before = { ...query, sql: query.baselineSql ?? query.sql };
      const plan = await explain(client, before, params[query.name]).catch((error: { code?: string }) => {
        if (error.code === '42P01') return undefined; // an analytics relation 040/070 has not made yet
        throw error;
      });
      if (plan) baselineCost.set(query.name, plan['Total Cost'] as number);
    }
    await migrate({ databaseUrl: db.url });
    await settlePlanDataset(client);
    params = await realisticParams(client);
  }, 300_000);

  afterAll(async () => {
    client?.release();
    await db?.drop();
  });

  it('has realistic parameters for every query file, and every file declares what it binds', () => {
    expect(QUERIES.length).toBeGreaterThanOrEqual(15);
    expect(Object.keys(params).sort()).toEqual(QUERIES.map((q) => q.name).sort());
    for (const query of QUERIES) expect([query.name, params[query.name].length]).toEqual([query.name, query.params.length]);
  });

  it('costs less with the optimization indexes than on the baseline schema, for every query on the platform tables', async () => {
    expect(baselineCost.size).toBe(QUERIES.filter((q) => !/\bpublic\.(?:mv|analytics)_/.test(q.sql)).length);
    const notCheaper: string[] = [];
    for (const [name, before] of baselineCost) {
      const query = QUERIES.find((q) => q.name === name) as QueryFile;
      const plan = await fullPlan(query);
      const after = (plan['Nested Total Cost'] ?? plan['Total Cost']) as number;
      if (!(after < before)) notCheaper.push(`${name}: ${before} -> ${after}`);
    }
    expect(notCheaper).toEqual([]);
  });

  /** The pattern's plan, and those of the statements a PL/pgSQL function it calls runs (the searches, 097). */
  async function fullPlan(query: QueryFile) {
    const plan = await explain(client, query, params[query.name]);
    return (await plpgsqlCalls(client, plan)).length > 0 ? explainWithNested(db.superuserUrl, query, params[query.name]) : plan;
  }

  it('sees the statements inside a function a pattern calls', async () => {
    const search = QUERIES.find((q) => q.name === 'full_text_search') as QueryFile;
    expect(await plpgsqlCalls(client, await explain(client, search, params.full_text_search))).toEqual(['public.search_posts']);
    const nodes = planNodes(await fullPlan(search));
    // The walk's probes and the page read from posts, not only the Function Scan.
    expect(nodes.filter((n) => n['Relation Name'] === 'post_search').length).toBeGreaterThan(0);
    expect(nodes.filter((n) => n['Relation Name'] === 'posts').length).toBeGreaterThan(0);
  });

  describe.each(QUERIES.map((q) => [q.name, q] as [string, QueryFile]))('%s', (_name, query) => {
    it(`uses ${query.expectsIndexes.join(' and ')} and scans no table of more than ${LARGE_TABLE_ROWS} rows whole`, async () => {
      const facts = await planFacts(client, await fullPlan(query));
      for (const index of query.expectsIndexes) expect([...facts.indexes]).toContain(index);
      if (query.indexOnly) for (const index of query.expectsIndexes) expect([...facts.indexOnly]).toContain(index);
      expect(facts.seqScans.filter((scan) => scan.rows > LARGE_TABLE_ROWS)).toEqual([]);
    });

    if (query.prunes.length > 0) {
      it(`reads only some partitions of ${query.prunes.join(', ')}`, async () => {
        const facts = await planFacts(client, await explain(client, query, params[query.name]));
        for (const table of query.prunes) {
          const leaves = await leafPartitions(client, table);
          const read = leaves.filter((leaf) => facts.relations.has(leaf));
          expect(read.length).toBeGreaterThan(0);
          expect(read.length).toBeLessThan(leaves.length);
          expect(read).not.toContain(`${table}_default`);
        }
      });
    }

    it('runs with those parameters and returns rows', async () => {
      // Inside a transaction that is rolled back, so the claim query leaves the queue as it was.
      await client.query('BEGIN');
      try {
        const { rows } = await client.query(query.sql, params[query.name]);
        expect(rows.length).toBeGreaterThan(0);
        // A pattern that writes returns what it wrote: RETURNING in its statement, or in the function it calls.
        if (query.writes) {
          const called = [...query.sql.matchAll(/\b(public\.\w+)\s*\(/g)].map((m) => m[1]);
          const defs = await Promise.all(called.map(async (f) => (await client.query<{ d: string | null }>('SELECT pg_get_functiondef(to_regproc($1)) AS d', [f])).rows[0].d ?? ''));
          expect([query.sql, ...defs].join('\n')).toMatch(/\bRETURNING\b/i);
        }
      } finally {
        await client.query('ROLLBACK');
      }
    });
  });

  it('scheduled_post_claim leases only due posts, oldest first, leaves posts unwritten, and two workers never claim the same post', async () => {
    const claim = QUERIES.find((q) => q.name === 'scheduled_post_claim');
    if (!claim) throw new Error('sql/queries/scheduled_post_claim.sql is missing');
    const other = await db.pool().connect();
    try {
      await client.query('BEGIN');
      await other.query('BEGIN');
      const now = new Date();
      const first = await client.query<{ post_id: string; scheduled_at: Date; lease_token: string }>(claim.sql, [now, 20, 'worker-a', 120]);
      // worker-a still holds its row locks; SKIP LOCKED makes worker-b take the next ones at once.
      const second = await other.query<{ post_id: string }>(claim.sql, [now, 20, 'worker-b', 120]);
      expect(first.rows).toHaveLength(20);
      expect(second.rows).toHaveLength(20);
      const firstIds = new Set(first.rows.map((r) => r.post_id));
      expect(second.rows.filter((r) => firstIds.has(r.post_id))).toEqual([]);
      expect(first.rows.every((r) => r.scheduled_at.getTime() <= now.getTime())).toBe(true);

      const ids = first.rows.map((r) => r.post_id);
      const leased = await client.query<{ leased_by: string; leases: number }>(
        `SELECT leased_by, count(DISTINCT lease_token)::int AS leases FROM publish_queue WHERE post_id = ANY ($1::bigint[]) GROUP BY 1`,
        [ids],
      );
      expect(leased.rows).toEqual([{ leased_by: 'worker-a', leases: 20 }]);
      // The claim does not write posts: they are still SCHEDULED, unclaimed.
      const posts = await client.query(`SELECT DISTINCT status::text, claimed_by FROM posts WHERE id = ANY ($1::bigint[])`, [ids]);
      expect(posts.rows).toEqual([{ status: 'SCHEDULED', claimed_by: null }]);
      // Oldest first: nothing due and unheld is older than the newest claimed post.
      const newestClaimed = Math.max(...first.rows.map((r) => r.scheduled_at.getTime()));
      const [{ older }] = (
        await client.query<{ older: number }>(
          `SELECT count(*)::int AS older FROM publish_queue
            WHERE lease_token IS NULL AND due_at < $1 AND post_id <> ALL ($2::bigint[]) AND post_id <> ALL ($3::bigint[])`,
          [new Date(newestClaimed), ids, second.rows.map((r) => r.post_id)],
        )
      ).rows;
      expect(older).toBe(0);
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      await client.query('ROLLBACK').catch(() => undefined);
      other.release();
    }
  });
});
