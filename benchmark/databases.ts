import { Client } from 'pg';
import { migrate } from '../lambdas/migrate/migrator';
import { GenerateResult, generate } from './generator';
import { Progress, silentProgress } from './progress';
import { ScaleSpec } from './scale';
import { urlFor, withClient } from './server';

/**
 * The two databases every measurement compares, on one server:
 *  - baseline: migrations below 030 (schema, keys, partitioning), loaded with the generated data;
 *  - optimized: the same bytes (a template copy, or the same seed regenerated) with the rest of
 *    the migrations applied on top: 030/031 indexes built on the loaded tables, 040 views, 050.
 */
export const isBaselineMigration = (file: { name: string }): boolean => parseInt(file.name, 10) < 30;

export interface LoadTimings {
  migrateBaselineMs: number;
  generateMs: number;
  vacuumAnalyzeMs: number;
}

export interface LoadResult {
  generation: GenerateResult;
  timings: LoadTimings;
}

export async function loadBaseline(options: {
  url: string;
  spec: ScaleSpec;
  seed: number;
  anchor: Date;
  progress?: Progress;
  skipForeignKeyChecks?: boolean;
}): Promise<LoadResult> {
  const progress = options.progress ?? silentProgress;
  let t = Date.now();
  await migrate({ databaseUrl: options.url, include: isBaselineMigration });
  const migrateBaselineMs = Date.now() - t;
  const generation = await generate({
    databaseUrl: options.url,
    spec: options.spec,
    seed: options.seed,
    anchor: options.anchor,
    progress,
    skipForeignKeyChecks: options.skipForeignKeyChecks,
  });
  t = Date.now();
  await vacuumAnalyze(options.url, progress);
  return { generation, timings: { migrateBaselineMs, generateMs: generation.durationMs, vacuumAnalyzeMs: Date.now() - t } };
}

/**
 * A freshly loaded table has no visibility map and no statistics; a production table has both
 * (autovacuum). VACUUM (ANALYZE) every table, two at a time (one per core), biggest first.
 */
export async function vacuumAnalyze(url: string, progress: Progress = silentProgress): Promise<void> {
  const tables = await withClient(url, async (client) => {
    const { rows } = await client.query<{ name: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        ORDER BY pg_total_relation_size(c.oid) DESC`,
    );
    return rows.map((r) => r.name);
  });
  const step = progress.step('vacuum (analyze)', tables.length);
  const queue = [...tables];
  const worker = async () => {
    await withClient(url, async (client) => {
      await client.query(`SET maintenance_work_mem = '1GB'`);
      for (let table = queue.shift(); table !== undefined; table = queue.shift()) {
        // A partitioned parent: VACUUM recurses into its partitions and ANALYZE gathers the parent's own statistics.
        await client.query(`VACUUM (ANALYZE) ${table}`);
        step.advance(1);
      }
    });
  };
  await Promise.all([worker(), worker()]);
  step.done();
}

export interface OptimizeResult {
  applied: string[];
  durationMs: number;
  analyzeMs: number;
}

/** Applies 030 onward to a loaded baseline copy: the index builds run on real data, as in production. */
export async function applyOptimizations(url: string, log?: (m: string) => void): Promise<OptimizeResult> {
  const result = await migrate({ databaseUrl: url, log });
  const t = Date.now();
  // Column statistics do not change when an index is added, but an expression index gets its own
  // statistics only from ANALYZE: analyze the tables that have one.
  await withClient(url, async (client) => {
    const { rows } = await client.query<{ name: string }>(
      `SELECT DISTINCT i.indrelid::regclass::text AS name
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE i.indexprs IS NOT NULL AND n.nspname = 'public' AND NOT c.relispartition`,
    );
    for (const row of rows) await client.query(`ANALYZE ${row.name}`);
  });
  return { applied: result.applied, durationMs: result.durationMs, analyzeMs: Date.now() - t };
}

/** CREATE DATABASE ... TEMPLATE copies the files: the optimized database starts byte-identical. */
export async function cloneDatabase(adminUrl: string, from: string, to: string): Promise<number> {
  const t = Date.now();
  await withClient(adminUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(to)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${quoteIdent(to)} TEMPLATE ${quoteIdent(from)}`);
  });
  return Date.now() - t;
}

export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  await withClient(adminUrl, async (client: Client) => {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
  });
  return urlFor(adminUrl, name);
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
