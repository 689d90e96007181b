import type { Pool } from 'pg';
import { AnalyzerError } from './errors';
import { assertSingleSelect, stripTrailingSemicolons } from './statement-guard';

export interface ExplainOptions {
  /** Execute the statement to get real row counts and timings (EXPLAIN ANALYZE, BUFFERS). */
  analyze?: boolean;
  /** Values for $1, $2, ... in the statement. */
  params?: unknown[];
  /** statement_timeout for the explained statement. */
  timeoutMs?: number;
}

/** The JSON plan PostgreSQL returns: [{ Plan: {...}, Planning Time?, Execution Time? }][0]. */
export type ExplainPlan = Record<string, unknown> & { Plan: Record<string, unknown> };

/**
 * EXPLAIN (FORMAT JSON) of one SELECT. Always inside BEGIN READ ONLY ... ROLLBACK, so even with
 * analyze nothing the statement does can persist, and a write it attempts fails outright.
 */
export async function explainQuery(pool: Pool, sql: string, options: ExplainOptions = {}): Promise<ExplainPlan> {
  assertSingleSelect(sql);
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 3_600_000) throw new AnalyzerError(`timeoutMs must be a whole number from 1 to 3600000, got ${timeoutMs}`);
  const flags = options.analyze ? 'FORMAT JSON, ANALYZE, BUFFERS' : 'FORMAT JSON';
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${timeoutMs}`);
    const result = await client.query(`EXPLAIN (${flags}) ${stripTrailingSemicolons(sql)}`, options.params);
    const plan = result.rows[0]?.['QUERY PLAN'];
    return (Array.isArray(plan) ? plan[0] : JSON.parse(String(plan))[0]) as ExplainPlan;
  } finally {
    try {
      await client.query('ROLLBACK');
    } catch (error) {
      broken = error as Error;
    }
    client.release(broken);
  }
}

/** Every node of a plan, depth first, for assertions like "uses index X". */
export function planNodes(plan: ExplainPlan): Record<string, unknown>[] {
  const nodes: Record<string, unknown>[] = [];
  const visit = (node: Record<string, unknown>) => {
    nodes.push(node);
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) visit(child);
  };
  visit(plan.Plan);
  return nodes;
}

/** Names of the indexes a plan reads. */
export function indexesUsed(plan: ExplainPlan): string[] {
  return [...new Set(planNodes(plan).map((n) => n['Index Name']).filter((n): n is string => typeof n === 'string'))];
}
