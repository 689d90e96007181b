import { TARGETS } from '../../benchmark/targets';
import { loadQueryFiles } from '../../sql/query-files';
import { scaleSpec } from '../../benchmark/scale';
import { GrowthResult, historySpec, hourAt, runHistoryGrowth } from '../../benchmark/sections/history-growth';
import { createEmptyDatabase } from '../support/database';

/**
 * The history-growth section at tiny scale, 1x and 2x: it builds each history, applies the hour,
 * runs the incremental refresh, every pattern and a full rebuild. No timings are asserted.
 */
jest.setTimeout(300_000);

describe('history growth section (tiny, 1x and 2x)', () => {
  const spec = scaleSpec('tiny');
  const queries = loadQueryFiles();
  let result: GrowthResult;

  beforeAll(async () => {
    result = await runHistoryGrowth({
      adminUrl: process.env.DBOPS_TEST_ADMIN_URL as string,
      spec,
      multipliers: [1, 2],
      seed: 11,
      anchor: new Date('2026-12-01T09:00:00Z'),
      queries,
      dayHours: 2,
      makeDatabase: async () => {
        const db = await createEmptyDatabase();
        return { url: db.url, drop: () => db.drop() };
      },
    });
  });

  it('multiplies the months and the rows of history, not the rate', () => {
    expect(historySpec(spec, 4)).toMatchObject({ posts: spec.posts * 4, listeningMentions: spec.listeningMentions * 4, months: spec.months * 4, workspaces: spec.workspaces });
    expect(result.sizes.map((s) => [s.multiplier, s.posts, s.months])).toEqual([
      [1, spec.posts, spec.months],
      [2, spec.posts * 2, spec.months * 2],
    ]);
    expect(hourAt(scaleSpec('medium'))).toMatchObject({ posts: 41_700, mentions: 100_000 });
  });

  it('recomputes the buckets the hour touched, and a full rebuild afterwards finds nothing left to change', () => {
    for (const size of result.sizes) {
      expect([size.multiplier, size.refresh.status, size.fullRebuild.status]).toEqual([size.multiplier, 'succeeded', 'succeeded']);
      expect(size.refresh.buckets).toBeGreaterThan(0);
      expect(size.refresh.rowsChanged).toBeGreaterThan(0);
      // Every bucket of history versus only the touched ones.
      expect(size.fullRebuild.buckets).toBeGreaterThan(size.refresh.buckets);
      // The incremental refresh left every relation exactly as a full recompute makes it.
      expect(size.fullRebuild.rowsChanged).toBe(0);
      // Where the time went: every relation, both runs, and the size the history reached.
      const relations = size.refresh.relations.map((r) => r.view);
      expect(relations.length).toBeGreaterThanOrEqual(7);
      expect(size.fullRebuild.relations.map((r) => r.view)).toEqual(relations);
      expect(size.refresh.relations.reduce((s, r) => s + r.buckets, 0)).toBe(size.refresh.buckets);
      expect(size.databaseBytes).toBeGreaterThan(0);
    }
  });

  it('applies the earlier hours of the day first, each refreshed, and counts what the day holds', () => {
    expect(result.dayHours).toBe(2);
    for (const size of result.sizes) {
      expect(size.earlierHours.map((h) => h.hourEnd)).toEqual(['2026-12-01T07:00:00.000Z', '2026-12-01T08:00:00.000Z']);
      for (const h of size.earlierHours) {
        expect(h.refresh.status).toBe('succeeded');
        expect(h.refresh.buckets).toBeGreaterThan(0);
      }
      // Every hour publishes targets inside the same UTC day, so the day's count rises hour by hour.
      const published = [...size.earlierHours.map((h) => h.day), size.day].map((d) => d.targetsPublished);
      expect(published[1]).toBeGreaterThan(published[0]);
      expect(published[2]).toBeGreaterThan(published[1]);
      expect(size.day.metricRows).toBeGreaterThan(0);
      expect(size.day.mentions).toBeGreaterThan(0);
    }
  });

  it('refuses a day-hours value outside 0-23 before it creates a database', async () => {
    let created = 0;
    await expect(
      runHistoryGrowth({
        adminUrl: 'postgresql://unused',
        spec,
        multipliers: [1],
        seed: 1,
        anchor: new Date('2026-12-01T09:00:00Z'),
        queries,
        dayHours: 24,
        makeDatabase: async () => {
          created++;
          throw new Error('not reached');
        },
      }),
    ).rejects.toThrow('dayHours must be a whole number 0-23, got 24');
    expect(created).toBe(0);
  });

  it('records the database size at each history size', () => {
    expect(result.sizes[1].databaseBytes).toBeGreaterThan(result.sizes[0].databaseBytes);
  });

  it('starts the patterns on a quiet server and records how quiet it was', () => {
    for (const size of result.sizes) {
      expect(size.quiet.autovacuumWorkers).toBe(0);
      expect(size.quiet.waitMs).toBeGreaterThanOrEqual(0);
      expect(size.quiet.loadAverage).toBeGreaterThanOrEqual(0);
    }
  });

  it('measures every pattern at every size and reports the ratios', () => {
    for (const size of result.sizes) expect(size.patterns.map((p) => p.name).sort()).toEqual(queries.map((q) => q.name).sort());
    // Both passes over the same sample are measured.
    for (const p of result.sizes.flatMap((z) => z.patterns)) expect([p.name, p.coldP95Ms > 0, p.p95Ms > 0]).toEqual([p.name, true, true]);
    expect(Object.keys(result.ratios.patterns).sort()).toEqual(queries.map((q) => q.name).sort());
    // A pattern over the query goal carries the plan that explains it, and only such a pattern.
    for (const p of result.sizes.flatMap((z) => z.patterns)) {
      if (p.p95Ms > TARGETS.queryP95.goal) expect(p.plan).toMatch(/Execution Time/);
      else expect(p.plan).toBeUndefined();
    }
    expect(result.ratios.refresh).toBeGreaterThan(0);
  });
});
