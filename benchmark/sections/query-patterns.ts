import type { Client, QueryConfig } from 'pg';
import type { QueryFile } from '../../sql/query-files';
import { ParamSampler } from '../params';
import { LatencySummary, summarize, timed } from '../stats';

/**
 * Section 1: every sql/queries pattern, executed with varied parameters on the optimized
 * database and on the baseline (same data, no 030+ migrations). Patterns that read an analytics
 * relation (public.mv_* or public.analytics_*, kept incrementally since 070) have none on the
 * baseline; their baseline is the relation's definition computed live (dbops.<name>_live, same
 * filter, optimized database), which is what the relation saves.
 */
export type BaselineKind = 'unoptimized-schema' | 'live-aggregate';

export interface PatternResult {
  name: string;
  description: string;
  writes: boolean;
  expectsIndexes: string[];
  /** Analytics relation the pattern reads, if any. */
  view: string | null;
  optimized: LatencySummary;
  baseline: LatencySummary;
  baselineKind: BaselineKind;
  /** The baseline stopped early at its time budget (fewer executions than the optimized run). */
  baselineCapped: boolean;
  speedupP50: number;
  speedupP95: number;
  avgRows: number;
  /**
   * EXPLAIN (ANALYZE, BUFFERS) with the parameters of the optimized run's p95 execution (the
   * request that sets the figure), on both databases.
   */
  plans: { params: unknown[]; optimized: string; baseline: string };
}

export interface PatternOptions {
  executions: number;
  warmup: number;
  baselineBudgetMs: number;
  /** Minimum baseline executions even past the budget (enough for a p95 to mean something). */
  baselineMinExecutions: number;
  onPattern?: (name: string, done: number, total: number) => void;
}

const VIEW_REF = /\bpublic\.((?:mv|analytics)_[a-z0-9_]+)\b/g;

export function viewOf(query: QueryFile): string | null {
  const match = [...query.sql.matchAll(VIEW_REF)];
  return match.length ? match[0][1] : null;
}

/** The pattern with every analytics relation replaced by its live definition (dbops.<name>_live), as a subquery. */
export async function liveAggregateSql(client: Client, query: QueryFile): Promise<string> {
  let sql = query.sql;
  for (const view of new Set([...query.sql.matchAll(VIEW_REF)].map((m) => m[1]))) {
    const { rows } = await client.query<{ def: string }>(`SELECT pg_get_viewdef(to_regclass($1), true) AS def`, [`dbops.${view}_live`]);
    if (!rows[0]?.def) throw new Error(`dbops.${view}_live, the live definition of public.${view} (read by ${query.fileName}), does not exist`);
    sql = sql.replace(new RegExp(`\\bpublic\\.${view}\\b`, 'g'), `(${rows[0].def.trim().replace(/;$/, '')})`);
  }
  return sql;
}

/**
 * Every value stays the text the server sent. node-postgres's conversion to JS types (dates, bigint
 * arrays) is client CPU that grows with the result, not the database's work: 50 rows shaped like
 * the claim's, generated without touching a table, took p50 0.45 / p95 1.30 ms parsed by default,
 * 0.30 / 0.63 ms kept as sent, 0.19 / 0.22 ms read by pgbench (C), one after the other on one
 * server. Both databases are timed alike.
 */
export const AS_SENT: QueryConfig['types'] = { getTypeParser: () => (value: string) => value };

/** One execution; writing patterns run in a transaction that is rolled back, timing the statement only. */
export async function execute(client: Client, sql: string, values: unknown[], writes: boolean): Promise<{ ms: number; rows: number }> {
  const run = () => client.query({ text: sql, values, types: AS_SENT });
  if (!writes) {
    const { value, ms } = await timed(run);
    return { ms, rows: value.rowCount ?? 0 };
  }
  await client.query('BEGIN');
  try {
    const { value, ms } = await timed(run);
    return { ms, rows: value.rowCount ?? 0 };
  } finally {
    await client.query('ROLLBACK');
  }
}

export async function explainAnalyze(client: Client, sql: string, values: unknown[]): Promise<string> {
  // EXPLAIN ANALYZE runs the statement: always inside a transaction that is rolled back.
  await client.query('BEGIN');
  try {
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, SETTINGS) ${sql}`, values);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  } finally {
    await client.query('ROLLBACK');
  }
}

export async function measure(
  client: Client,
  sql: string,
  paramSets: unknown[][],
  writes: boolean,
  warmup: number,
  budget?: { ms: number; min: number },
): Promise<{ samples: number[]; rows: number; capped: boolean; p95Params: unknown[] }> {
  for (const values of paramSets.slice(0, warmup)) await execute(client, sql, values, writes);
  const samples: number[] = [];
  let rows = 0;
  const started = Date.now();
  for (const values of paramSets.slice(warmup)) {
    const run = await execute(client, sql, values, writes);
    samples.push(run.ms);
    rows += run.rows;
    if (budget && Date.now() - started > budget.ms && samples.length >= budget.min) break;
  }
  // The execution whose latency is the p95 (nearest rank), to explain the figure.
  const order = samples.map((ms, i) => [ms, i] as const).sort((a, b) => a[0] - b[0]);
  const rank = Math.min(order.length, Math.max(1, Math.ceil(0.95 * order.length))) - 1;
  const p95Params = order.length ? paramSets[warmup + order[rank][1]] : paramSets[0];
  return { samples, rows, capped: samples.length < paramSets.length - warmup, p95Params };
}

export async function measurePatterns(
  patterns: QueryFile[],
  clients: { optimized: Client; baseline: Client },
  sampler: ParamSampler,
  options: PatternOptions,
): Promise<PatternResult[]> {
  const results: PatternResult[] = [];
  for (const [i, query] of patterns.entries()) {
    options.onPattern?.(query.name, i, patterns.length);
    const view = viewOf(query);
    const baselineKind: BaselineKind = view ? 'live-aggregate' : 'unoptimized-schema';
    const baselineClient = view ? clients.optimized : clients.baseline;
    // A pattern on objects the baseline lacks runs as its plain form there (sql/queries/baseline/).
    const baselineSql = view ? await liveAggregateSql(clients.optimized, query) : (query.baselineSql ?? query.sql);
    const paramSets = sampler.sampleMany(query, options.warmup + options.executions);

    const optimized = await measure(clients.optimized, query.sql, paramSets, query.writes, options.warmup);
    // One warm-up run on the baseline: its scans take seconds at medium scale and warm the cache alike.
    const baseline = await measure(baselineClient, baselineSql, paramSets.slice(options.warmup - 1), query.writes, 1, {
      ms: options.baselineBudgetMs,
      min: options.baselineMinExecutions,
    });
    const plans = {
      params: optimized.p95Params,
      optimized: await explainAnalyze(clients.optimized, query.sql, optimized.p95Params),
      // A live aggregate can outlast the statement timeout for one unlucky parameter set; that
      // plan is worth a note, not the whole run.
      baseline: await explainAnalyze(baselineClient, baselineSql, optimized.p95Params).catch(
        (error: Error) => `(no plan: ${error.message})`,
      ),
    };
    const o = summarize(optimized.samples);
    const b = summarize(baseline.samples);
    results.push({
      name: query.name,
      description: query.description,
      writes: query.writes,
      expectsIndexes: query.expectsIndexes,
      view,
      optimized: o,
      baseline: b,
      baselineKind,
      baselineCapped: baseline.capped,
      speedupP50: ratio(b.p50Ms, o.p50Ms),
      speedupP95: ratio(b.p95Ms, o.p95Ms),
      avgRows: optimized.samples.length ? Math.round((optimized.rows / optimized.samples.length) * 10) / 10 : 0,
      plans,
    });
  }
  return results;
}

export function ratio(a: number, b: number): number {
  return b > 0 ? Math.round((a / b) * 10) / 10 : Number.NaN;
}
