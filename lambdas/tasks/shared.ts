import { OverlapError } from '../db/executor';
import { ValidationError } from './options';
import type { TargetKind } from './targets';
import type { TaskContext } from './types';
import { errorText } from './context';

/** Registry names are schema-qualified ('public.x'); a bare name means public. */
export const QUALIFIED_NAME = /^([a-z_][a-z0-9_$]*\.)?[a-z_][a-z0-9_$]*$/;

/** The option that limits a task to one table, view or index: `schema.name`, as the registries spell it. */
/** `target`: what the named object must be; checked against the catalog before any work (targets.ts). */
export function qualifiedNameOption(description: string, target?: TargetKind) {
  return { type: 'string', pattern: QUALIFIED_NAME, maxLength: 127, description, ...(target ? { target } : {}) } as const;
}

export function qualify(name: string): string {
  return name.includes('.') ? name : `public.${name}`;
}

/** What is left and what failed after a run over items. */
export interface ItemsOutcome {
  remaining: string[];
  failures: { item: string; error: string }[];
}

/**
 * One item under the rules every task shares: 'done'; 'left' when statement_timeout cut it at the
 * end of the budget (not a failure, just left for next time); 'failed' when it failed on its own
 * (a busy lock or a failed statement on one item should not starve the others). Rethrows what ends
 * the run: an overlap (Data API: another invocation took the task's xact lock between our
 * statements, which the runner reports as a skip) and a lost connection.
 */
async function runItem<T>(ctx: TaskContext, item: T, label: (item: T) => string, work: () => Promise<void>, out: ItemsOutcome): Promise<void> {
  try {
    await work();
    ctx.log(`done ${label(item)}`);
  } catch (error) {
    if (error instanceof OverlapError) throw error;
    if (isCancelled(error) && !ctx.budget.allows()) {
      out.remaining.push(label(item));
      ctx.log(`${label(item)} stopped at the end of the time budget`);
      return;
    }
    out.failures.push({ item: label(item), error: errorText(error) });
    ctx.log(`${label(item)} failed: ${errorText(error)}`);
    if (isConnectionLost(error)) throw error;
  }
}

/** Runs items in order until the budget runs out; the rest is reported as remaining. */
export async function eachWithinBudget<T>(
  ctx: TaskContext,
  items: readonly T[],
  label: (item: T) => string,
  work: (item: T) => Promise<void>,
  neededMs = 0,
): Promise<ItemsOutcome> {
  const out: ItemsOutcome = { remaining: [], failures: [] };
  for (let i = 0; i < items.length; i += 1) {
    if (!ctx.budget.allows(neededMs)) {
      out.remaining.push(...items.slice(i).map(label));
      ctx.log(`time budget spent; ${items.length - i} item(s) left for the next run`);
      break;
    }
    try {
      await runItem(ctx, items[i], label, () => work(items[i]), out);
    } catch (error) {
      out.remaining.push(...items.slice(i + (error instanceof OverlapError ? 0 : 1)).map(label));
      throw error;
    }
  }
  return out;
}

/**
 * eachWithinBudget on `lanes` sessions side by side: the task's own and up to lanes - 1 more
 * (ctx.withSideSession, no more than ctx.sideSessions), each on its own connection taking the next
 * item in order whose prerequisite (`after`), if that is in the run, is through; a lane with none
 * ready waits for one. A side session that cannot be opened is one lane fewer, not a failure.
 * Where none can be opened, or lanes is 1, it is eachWithinBudget. Whatever ends the run in one
 * lane stops the others taking items; it is rethrown once they are through. Items whose
 * prerequisites can never be through (a cycle) are left as remaining.
 */
export async function eachWithinBudgetSideBySide<T>(
  ctx: TaskContext,
  items: readonly T[],
  label: (item: T) => string,
  lanes: number,
  work: (item: T, lane: TaskContext) => Promise<void>,
  after: (item: T) => string | null = () => null,
): Promise<ItemsOutcome> {
  const sideSession = ctx.withSideSession;
  const sides = Math.min(lanes, items.length, 1 + ctx.sideSessions) - 1;
  if (sides < 1 || !sideSession) return eachWithinBudget(ctx, items, label, (item) => work(item, ctx));
  const out: ItemsOutcome = { remaining: [], failures: [] };
  const pending = [...items];
  const inRun = new Set(items.map(label));
  const running = new Set<string>();
  // Settles whenever an item is through: a lane with nothing ready looks again then.
  let itemThrough = () => undefined as void;
  let nextThrough = new Promise<void>((resolve) => (itemThrough = resolve));
  const through = (name: string) => !running.has(name) && !pending.some((p) => label(p) === name);
  const ready = (item: T) => {
    const prerequisite = after(item);
    return prerequisite === null || !inRun.has(prerequisite) || through(prerequisite);
  };
  let stopped: unknown;
  const lane = async (laneCtx: TaskContext) => {
    while (pending.length > 0 && stopped === undefined) {
      const index = pending.findIndex(ready);
      if (index < 0) {
        // Nothing running can release them: their prerequisites wait on each other.
        if (running.size === 0) break;
        await nextThrough;
        continue;
      }
      const [item] = pending.splice(index, 1);
      running.add(label(item));
      try {
        if (!ctx.budget.allows()) out.remaining.push(label(item));
        else await runItem(laneCtx, item, label, () => work(item, laneCtx), out);
      } catch (error) {
        stopped ??= error;
        // A lost connection was recorded as the item's failure; an overlap leaves it for the next run.
        if (error instanceof OverlapError) out.remaining.push(label(item));
      } finally {
        running.delete(label(item));
        const release = itemThrough;
        nextThrough = new Promise<void>((resolve) => (itemThrough = resolve));
        release();
      }
    }
  };
  const sideLane = async () => {
    let opened = false;
    try {
      await sideSession((side: TaskContext) => {
        opened = true;
        return lane(side);
      });
    } catch (error) {
      if (opened) stopped ??= error;
      else ctx.log(`a side session could not be opened (${errorText(error)}); one lane fewer`);
    }
  };
  await Promise.all([lane(ctx), ...Array.from({ length: sides }, sideLane)]);
  out.remaining.push(...pending.map(label));
  if (out.remaining.length > 0 && stopped === undefined) ctx.log(`time budget spent; ${out.remaining.length} item(s) left for the next run`);
  if (stopped !== undefined) throw stopped;
  return out;
}

/** 57014 query_canceled: statement_timeout (or pg_cancel_backend). */
export function isCancelled(error: unknown): boolean {
  return (error as { code?: string }).code === '57014';
}

/** The session is gone (terminated backend, network): nothing more can be done in this run. */
export function isConnectionLost(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === '57P01' || code === '57P02' || code === '57P03' || (code?.startsWith('08') ?? false) ||
    /Connection terminated|connection error|not queryable/i.test(errorText(error));
}

export async function requireManaged(ctx: TaskContext, registry: 'dbops.partitioned_tables' | 'dbops.materialized_views', column: string, name: string): Promise<string> {
  const qualified = qualify(name);
  const rows = await ctx.read<{ name: string }>(`SELECT ${column} AS name FROM ${registry} WHERE ${column} = $1`, [qualified]);
  if (rows.length === 0) throw new ValidationError(`${qualified} is not listed in ${registry}`);
  return rows[0].name;
}
