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

/** Runs items in order until the budget runs out; the rest is reported as remaining. */
export async function eachWithinBudget<T>(
  ctx: TaskContext,
  items: readonly T[],
  label: (item: T) => string,
  work: (item: T) => Promise<void>,
  neededMs = 0,
): Promise<{ remaining: string[]; failures: { item: string; error: string }[] }> {
  const remaining: string[] = [];
  const failures: { item: string; error: string }[] = [];
  for (let i = 0; i < items.length; i += 1) {
    if (!ctx.budget.allows(neededMs)) {
      remaining.push(...items.slice(i).map(label));
      ctx.log(`time budget spent; ${items.length - i} item(s) left for the next run`);
      break;
    }
    try {
      await work(items[i]);
      ctx.log(`done ${label(items[i])}`);
    } catch (error) {
      // Data API: another invocation took the task's xact lock between our statements. That is
      // an overlap (the runner reports a skip), not a failure of this item.
      if (error instanceof OverlapError) {
        remaining.push(...items.slice(i).map(label));
        throw error;
      }
      if (isCancelled(error) && !ctx.budget.allows()) {
        // statement_timeout cut it at the end of the budget: not a failure, just left for next time.
        remaining.push(label(items[i]));
        ctx.log(`${label(items[i])} stopped at the end of the time budget`);
        continue;
      }
      // A busy lock or a failed statement on one item should not starve the others.
      failures.push({ item: label(items[i]), error: errorText(error) });
      ctx.log(`${label(items[i])} failed: ${errorText(error)}`);
      if (isConnectionLost(error)) {
        remaining.push(...items.slice(i + 1).map(label));
        throw error;
      }
    }
  }
  return { remaining, failures };
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
