import { percent } from './format';
import type { HealthCheck } from './health';
import { nullableNumber, Queryable } from './queryable';

/**
 * Share of heap and index block reads served from shared buffers. NULL until something was read.
 * On Aurora, blks_read also counts optimized-reads cache hits, so the ratio reads low there.
 */
export const CACHE_HIT_SQL = `
  SELECT (SELECT 100.0 * sum(heap_blks_hit) / nullif(sum(heap_blks_hit) + sum(heap_blks_read), 0)
            FROM pg_statio_user_tables)::float8 AS table_hit_percent,
         (SELECT 100.0 * sum(idx_blks_hit) / nullif(sum(idx_blks_hit) + sum(idx_blks_read), 0)
            FROM pg_statio_user_indexes)::float8 AS index_hit_percent`;

export interface CacheHit {
  tablePercent: number | null;
  indexPercent: number | null;
}

export async function cacheHit(db: Queryable): Promise<CacheHit> {
  const [row] = await db.query<{ table_hit_percent: number | null; index_hit_percent: number | null }>(CACHE_HIT_SQL);
  return { tablePercent: nullableNumber(row.table_hit_percent), indexPercent: nullableNumber(row.index_hit_percent) };
}

export const cacheHitCheck: HealthCheck<{ cacheHit: CacheHit }> = {
  name: 'cache hit',
  run: async (db) => ({ cacheHit: await cacheHit(db) }),
  metrics: ({ cacheHit: hit }) => [
    ...(hit.tablePercent !== null ? [['cacheHitRatio', hit.tablePercent] as const] : []),
    ...(hit.indexPercent !== null ? [['indexCacheHitRatio', hit.indexPercent] as const] : []),
  ],
  summary: ({ cacheHit: hit }) => ({ cacheHitPercent: hit.tablePercent, indexCacheHitPercent: hit.indexPercent }),
  rows: ({ cacheHit: hit }) => [
    { check: 'cache hit (tables)', value: percent(hit.tablePercent), detail: 'pg_statio_user_tables' },
    { check: 'cache hit (indexes)', value: percent(hit.indexPercent), detail: 'pg_statio_user_indexes' },
  ],
};
