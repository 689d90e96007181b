import { readdirSync } from 'node:fs';
import path from 'node:path';
import { HEALTH_CHECKS } from '../../../lambdas/metrics/catalog';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { harness, TaskHarness } from './helpers';

/**
 * health-check publishes every check of the check library (lambdas/checks), sequence overflow and
 * duplicate indexes included: a sequence that runs out stops every insert into its table.
 */
describe('health-check publishes every check', () => {
  let db: TestDatabase;
  let h: TaskHarness;

  beforeAll(async () => {
    db = await createTestDatabase();
    h = harness(db);
  });
  afterAll(async () => {
    await db.drop();
  });

  it('lists every health check the library exports', () => {
    const dir = path.resolve(__dirname, '../../../lambdas/checks');
    const listed = new Set<unknown>(HEALTH_CHECKS);
    const exported: { name: string; listed: boolean }[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const module = require(path.join(dir, file)) as Record<string, { run?: unknown; summary?: unknown } | undefined>;
      for (const [name, value] of Object.entries(module)) {
        if (typeof value?.run === 'function' && typeof value.summary === 'function') exported.push({ name, listed: listed.has(value) });
      }
    }
    expect(exported.map((e) => e.name)).toEqual(expect.arrayContaining(['sequenceOverflowCheck', 'duplicateIndexesCheck', 'missingGrantsCheck']));
    expect(exported.filter((e) => !e.listed)).toEqual([]);
  });

  it('publishes the fullest sequence (its column type counted) and the duplicate indexes', async () => {
    // An integer column fed by a bigint sequence runs out at 2^31 - 1: 85% of that is used.
    await db.query(`
      CREATE TABLE public.nearly_full (id integer PRIMARY KEY, note text);
      CREATE SEQUENCE public.nearly_full_id_seq AS bigint OWNED BY public.nearly_full.id;
      ALTER TABLE public.nearly_full ALTER COLUMN id SET DEFAULT nextval('public.nearly_full_id_seq');
      SELECT setval('public.nearly_full_id_seq', (0.85 * 2147483647)::bigint);
      CREATE TABLE public.twice_indexed (a int, b int);
      CREATE INDEX twice_indexed_a_idx ON public.twice_indexed (a);
      CREATE INDEX twice_indexed_a_b_idx ON public.twice_indexed (a, b);`);
    const result = await h.run({ task: 'health-check' });
    expect(result.status).toBe('succeeded');
    const published = (name: string) => h.sink.data.filter((d) => d.metric.name === name).map((d) => d.value);
    const [fullest] = published('MaxSequenceUsedPercent');
    expect(fullest).toBeGreaterThan(84.9);
    expect(fullest).toBeLessThan(85.1);
    expect(published('DuplicateIndexCount')).toEqual([1]);
    expect(result.summary.fullestSequences).toEqual(expect.arrayContaining([expect.objectContaining({ ownedBy: expect.stringMatching(/nearly_full\.id$/) })]));
    expect(result.summary.duplicateIndexes).toEqual([{ index: 'public.twice_indexed_a_idx', coveredBy: 'twice_indexed_a_b_idx' }]);
  });
});
