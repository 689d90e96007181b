import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { QueryAnalyzer } from '../../platform-db/analyzer/query-analyzer';
import { MIGRATIONS_DIR } from '../../lambdas/migrate/migration-files';
import { TestDatabase } from '../support/database';

/**
 * Catalog checks over the indexes in schema public, each returning the offenders (empty means
 * healthy). Partitions' copies of a partitioned index are left out: the parent index speaks for
 * them. indexes.test.ts runs them on the migrated schema and on planted mistakes.
 */

/**
 * The files that hold the optimization indexes: every migration named `NNN_<what>_indexes.sql`
 * (030, 031, 045 and any later one), so a new index migration is checked like the first ones.
 */
export const OPTIMIZATION_FILES = readdirSync(MIGRATIONS_DIR)
  .filter((f) => /^\d{3}_[a-z0-9_]+_indexes\.sql$/.test(f))
  .sort();

/**
 * Indexes a later migration dropped for good: 070 turned the views into tables and did not
 * rebuild the first, since the campaign list reads public.analytics_campaign_totals instead; 082
 * dropped the posts-based claim's three (the queue lives in publish_queue since 080).
 */
export const RETIRED_INDEXES = [
  'mv_daily_post_metrics_campaign_idx',
  'posts_scheduled_due_idx',
  'posts_publishing_claimed_idx',
  'posts_publishing_worker_idx',
  // 083: replaced by the month-keyed GIN indexes.
  'posts_workspace_tags_gin_idx',
  'posts_workspace_search_vector_gin_idx',
  // 088: replaced by the month- and year-keyed GIN index.
  'posts_workspace_month_search_gin_idx',
  // 094: the per-day recompute of mv_daily_post_metrics they served ended with 093's rollup.
  'post_targets_published_day_idx',
  'post_metrics_daily_metric_date_idx',
  // 100: search moved to public.post_search (097, 099), whose index keys every term with its workspace.
  'posts_workspace_period_search_gin_idx',
];

export function indexNamesIn(file: string): string[] {
  const sql = readFileSync(path.join(MIGRATIONS_DIR, file), 'utf8');
  return [...sql.matchAll(/CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?IF\s+NOT\s+EXISTS\s+([a-z0-9_]+)/gi)]
    .map((m) => m[1])
    .filter((name) => !RETIRED_INDEXES.includes(name));
}

const TOP_LEVEL_PUBLIC_INDEXES = `
  SELECT i.*, c.relname AS index_name, c.relam
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
   WHERE c.relnamespace = 'public'::regnamespace
     AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)`;

export async function invalidIndexes(db: TestDatabase): Promise<string[]> {
  const rows = await db.query<{ index_name: string }>(
    `SELECT c.relname AS index_name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relnamespace = 'public'::regnamespace AND NOT (i.indisvalid AND i.indisready AND i.indislive)
      ORDER BY 1`,
  );
  return rows.map((r) => r.index_name);
}

/** Non-unique indexes without a COMMENT naming the query pattern they serve. */
export async function uncommentedIndexes(db: TestDatabase): Promise<string[]> {
  const rows = await db.query<{ index_name: string }>(
    `SELECT x.index_name FROM (${TOP_LEVEL_PUBLIC_INDEXES}) x
      WHERE NOT x.indisunique AND coalesce(char_length(obj_description(x.indexrelid, 'pg_class')), 0) < 20
      ORDER BY 1`,
  );
  return rows.map((r) => r.index_name);
}

// Anything whose value depends on when or how often it is evaluated.
const CLOCK_OR_CHANCE = /\b(now|current_timestamp|current_date|current_time|localtime|localtimestamp|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday|random|gen_random_uuid|nextval)\b/i;

export interface PredicateProblem {
  index: string;
  problem: string;
}

/**
 * Predicates and index expressions must be immutable and must not read the clock: a now() in a
 * partial index freezes build time into it. Postgres refuses stable functions itself, so this
 * also looks inside user functions (one could be mislabelled IMMUTABLE) and at the text.
 */
export async function predicateProblems(db: TestDatabase): Promise<PredicateProblem[]> {
  const rows = await db.query<{ index_name: string; predicate: string | null; expressions: string | null; trees: string }>(
    `SELECT x.index_name, pg_get_expr(x.indpred, x.indrelid) AS predicate, pg_get_expr(x.indexprs, x.indrelid) AS expressions,
            coalesce(x.indpred::text, '') || ' ' || coalesce(x.indexprs::text, '') AS trees
       FROM (${TOP_LEVEL_PUBLIC_INDEXES}) x
      WHERE x.indpred IS NOT NULL OR x.indexprs IS NOT NULL`,
  );
  const problems: PredicateProblem[] = [];
  for (const row of rows) {
    for (const text of [row.predicate, row.expressions]) {
      if (text && CLOCK_OR_CHANCE.test(text)) problems.push({ index: row.index_name, problem: `depends on the clock or chance: ${text}` });
    }
    const funcIds = [...row.trees.matchAll(/:(?:funcid|opfuncid) (\d+)/g)].map((m) => m[1]);
    const opIds = [...row.trees.matchAll(/:opno (\d+)/g)].map((m) => m[1]);
    const functions = await db.query<{ name: string; volatility: string; builtin: boolean; source: string }>(
      `SELECT p.oid::regprocedure::text AS name, p.provolatile AS volatility,
              p.pronamespace = 'pg_catalog'::regnamespace AS builtin, coalesce(p.prosrc, '') AS source
         FROM pg_proc p
        WHERE p.oid = ANY ($1::oid[]) OR p.oid IN (SELECT o.oprcode FROM pg_operator o WHERE o.oid = ANY ($2::oid[]))`,
      [funcIds, opIds],
    );
    for (const fn of functions) {
      if (fn.volatility !== 'i') problems.push({ index: row.index_name, problem: `calls ${fn.name}, which is not immutable` });
      if (!fn.builtin && CLOCK_OR_CHANCE.test(fn.source)) problems.push({ index: row.index_name, problem: `calls ${fn.name}, which reads the clock or chance` });
    }
  }
  return problems;
}

export interface PrefixDuplicate {
  index: string;
  coveredBy: string;
}

/**
 * Left-prefix duplicates in schema public, by the application library's own check (the
 * QueryAnalyzer, tested on planted cases in test/platform-db): one definition of "redundant" for both.
 */
export async function prefixDuplicates(db: TestDatabase): Promise<PrefixDuplicate[]> {
  const found = await new QueryAnalyzer(db.pool()).duplicateIndexes();
  return found.filter((d) => d.schema === 'public').map((d) => ({ index: d.index, coveredBy: d.coveredBy }));
}

export interface UnindexedForeignKey {
  table: string;
  columns: string;
  references: string;
}

/**
 * A foreign key whose referencing columns lead no index makes every delete (or key update) of a
 * parent row scan the child table, for CASCADE, SET NULL and the default NO ACTION alike. A
 * partial index still serves when it only leaves out rows whose key is NULL.
 */
export async function unindexedForeignKeys(db: TestDatabase): Promise<UnindexedForeignKey[]> {
  return db.query<{ table: string; columns: string; references: string }>(
    `SELECT c.conrelid::regclass::text AS "table",
            (SELECT string_agg(a.attname, ', ' ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, n)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS columns,
            c.confrelid::regclass::text AS "references"
       FROM pg_constraint c
      WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace AND c.conparentid = 0
        AND NOT EXISTS (
          SELECT 1 FROM pg_index i
           WHERE i.indrelid = c.conrelid
             AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] = c.conkey
             AND (i.indpred IS NULL
                  OR pg_get_expr(i.indpred, i.indrelid) = (
                       SELECT string_agg(format('(%I IS NOT NULL)', a.attname), ' AND ')
                         FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey))))
      ORDER BY 1, 2`,
  );
}
