import { TimeBudget } from '../../../lambdas/tasks/budget';
import { eachWithinBudgetSideBySide } from '../../../lambdas/tasks/shared';
import type { TaskContext } from '../../../lambdas/tasks/types';

/**
 * eachWithinBudgetSideBySide's scheduling, without a database: lanes are contexts that share the
 * budget and the log, and work is timed with short sleeps so the lanes really interleave.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function contexts(options: { sideSessions: number; openFails?: boolean }) {
  const logs: string[] = [];
  let opened = 0;
  const ctx = {
    budget: TimeBudget.unlimited(),
    log: (message: string) => logs.push(message),
    sideSessions: options.sideSessions,
    withSideSession: async <T>(work: (side: TaskContext) => Promise<T>) => {
      if (options.openFails) throw new Error('timeout exceeded when trying to connect');
      opened += 1;
      return work({ ...ctx, withSideSession: undefined, sideSessions: 0 } as unknown as TaskContext);
    },
  } as unknown as TaskContext;
  return { ctx, logs, opened: () => opened };
}

describe('eachWithinBudgetSideBySide', () => {
  it('runs items on several lanes at once, each item once, and starts one only after its prerequisite is through', async () => {
    const { ctx, opened } = contexts({ sideSessions: 3 });
    const events: string[] = [];
    let running = 0;
    let most = 0;
    const items = ['feeder', 'fed', 'a', 'b', 'c'];
    const out = await eachWithinBudgetSideBySide(
      ctx,
      items,
      (i) => i,
      3,
      async (item) => {
        running += 1;
        most = Math.max(most, running);
        events.push(`start ${item}`);
        await sleep(item === 'feeder' ? 60 : 10);
        events.push(`end ${item}`);
        running -= 1;
      },
      (item) => (item === 'fed' ? 'feeder' : null),
    );
    expect(out).toEqual({ remaining: [], failures: [] });
    expect(events.filter((e) => e.startsWith('start')).sort()).toEqual(items.map((i) => `start ${i}`).sort());
    expect(events.indexOf('start fed')).toBeGreaterThan(events.indexOf('end feeder'));
    // The feeder's lane does not hold the others up: they finish while it runs.
    expect(events.indexOf('end c')).toBeLessThan(events.indexOf('end feeder'));
    expect(most).toBeGreaterThan(1);
    expect(opened()).toBe(2);
  });

  it('opens no more side sessions than the context has', async () => {
    const { ctx, opened } = contexts({ sideSessions: 1 });
    await eachWithinBudgetSideBySide(ctx, ['a', 'b', 'c', 'd'], (i) => i, 4, async () => {
      await sleep(5);
    });
    expect(opened()).toBe(1);
  });

  it('goes on with the lanes it has when a side session cannot be opened', async () => {
    const { ctx, logs } = contexts({ sideSessions: 1, openFails: true });
    const done: string[] = [];
    const out = await eachWithinBudgetSideBySide(ctx, ['a', 'b'], (i) => i, 2, async (item) => {
      done.push(item);
    });
    expect(out).toEqual({ remaining: [], failures: [] });
    expect(done).toEqual(['a', 'b']);
    expect(logs.some((l) => /could not be opened .*one lane fewer/.test(l))).toBe(true);
  });

  it('leaves items whose prerequisites wait on each other as remaining instead of waiting for ever', async () => {
    const { ctx } = contexts({ sideSessions: 1 });
    const done: string[] = [];
    const out = await eachWithinBudgetSideBySide(
      ctx,
      ['x', 'y', 'free'],
      (i) => i,
      2,
      async (item) => {
        done.push(item);
      },
      (item) => ({ x: 'y', y: 'x' })[item as 'x' | 'y'] ?? null,
    );
    expect(done).toEqual(['free']);
    expect(out.remaining.sort()).toEqual(['x', 'y']);
  });

  it('records a failed item and goes on with the others', async () => {
    const { ctx } = contexts({ sideSessions: 1 });
    const out = await eachWithinBudgetSideBySide(ctx, ['a', 'bad', 'c'], (i) => i, 2, async (item) => {
      if (item === 'bad') throw new Error('relation bad: boom');
    });
    expect(out).toEqual({ remaining: [], failures: [{ item: 'bad', error: 'relation bad: boom' }] });
  });
});
