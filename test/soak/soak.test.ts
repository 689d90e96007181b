import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FAULTS, planFor } from '../../soak/plan';
import { writeSoakResults, SoakResult } from '../../soak/report';
import { runSoak } from '../../soak/run';

/**
 * A short soak (60 s, every fault) on its own primary and streaming replica. Only correctness is
 * asserted: timings on a shared 2-core machine are the report's business, never a test's.
 */
describe('soak (60 s, all faults)', () => {
  let result: SoakResult;

  beforeAll(async () => {
    result = await runSoak({ seconds: 60, scale: 0.05, serverSettings: { fsync: 'off', full_page_writes: 'off' } });
  }, 300_000);

  it('loses no row: every recorded mention, post, completion and inbox update is there, also on the replica', () => {
    const rows = result.analysis.rows;
    expect(rows.mentionsWritten).toBeGreaterThan(100);
    expect(rows.postsWritten).toBeGreaterThan(10);
    expect(rows.inboxUpdates).toBeGreaterThan(10);
    expect({ lost: rows.lost, missingOnReplica: rows.missingOnReplica, readAfterWrite: rows.readAfterWriteViolations, invalid: rows.invalidIndexes }).toEqual({
      lost: 0,
      missingOnReplica: 0,
      readAfterWrite: 0,
      invalid: [],
    });
  });

  it('callers see no error outside the restart window, and only connection errors inside it', () => {
    const { byPhase } = result.analysis.errors;
    expect(Object.keys(byPhase).filter((phase) => phase !== 'c')).toEqual([]);
    expect(Object.keys(byPhase.c ?? {}).filter((kind) => kind !== 'connection')).toEqual([]);
    // The restart was real: callers did see it, and retried.
    expect(byPhase.c?.connection?.retried ?? 0).toBeGreaterThan(0);
  });

  it('injects every fault and meets each of its checks', () => {
    expect(result.faults.map((f) => f.fault)).toEqual([...FAULTS]);
    const failed = result.faults.flatMap((f) => f.checks.filter((c) => !c.ok).map((c) => `${f.fault}: ${c.name}: ${c.detail}`));
    expect(failed).toEqual([]);
    for (const f of result.faults) expect(f.checks.length).toBeGreaterThan(0);
  });

  it('runs every task, and no task run after the restart fails', () => {
    for (const t of result.analysis.tasks) expect(t.succeeded).toBeGreaterThan(0);
    expect(result.analysis.tasksAfterRestart.filter((t) => t.status === 'failed')).toEqual([]);
    expect(result.analysis.goals.filter((g) => g.kind === 'correctness' && !g.ok)).toEqual([]);
  });

  it('writes the report as JSON, Markdown and an SVG chart with the six windows', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'soak-report-'));
    try {
      const files = writeSoakResults(result, dir);
      expect(JSON.parse(readFileSync(files.json, 'utf8')).analysis.rows.lost).toBe(0);
      const markdown = readFileSync(files.markdown, 'utf8');
      for (const g of result.analysis.goals) expect(markdown).toContain(g.goal);
      const svg = readFileSync(files.svg, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      for (const f of FAULTS) expect(svg).toContain(`>(${f})</text>`);
      expect(svg).toContain('<polyline');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('soak plan', () => {
  it('scales six disjoint fault windows, in order, after the baseline', () => {
    for (const seconds of [60, 600]) {
      const plan = planFor(seconds);
      expect(plan.windows.map((w) => w.fault)).toEqual([...FAULTS]);
      let previousEnd = plan.baselineEndMs;
      for (const w of plan.windows) {
        expect(w.startMs).toBeGreaterThan(previousEnd);
        expect(w.endMs).toBeGreaterThan(w.startMs);
        previousEnd = w.endMs;
      }
      expect(previousEnd).toBeLessThan(plan.durationMs);
    }
    expect(planFor(600).lockHoldMs).toBe(20_000);
    expect(planFor(60).lockHoldMs).toBeLessThan(planFor(60).windows[0].endMs - planFor(60).windows[0].startMs);
  });

  it.each([[39], [0], [1.5], [86_401]])('rejects --seconds %p', (seconds) => {
    expect(() => planFor(seconds)).toThrow(/--seconds must be a whole number from 40/);
  });
});
