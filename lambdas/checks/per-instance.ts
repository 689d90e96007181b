import type { Instance } from '../db/instances';
import { cacheHit, CacheHit } from './cache-hit';
import { connectionUse, ConnectionUse } from './connections';
import type { HealthDatum, HealthReport } from './health';
import { LongQuery, longQueries } from './long-queries';
import { slowestStatementMeanMs } from './slow-queries';
import { UnusedIndex, unusedIndexes } from './unused-indexes';

/** The per-server figures of one instance (pg_stat_* and buffer counters are not shared by Aurora readers). */
export interface InstanceHealth {
  id: string;
  connections: ConnectionUse;
  cacheHit: CacheHit;
  unusedIndexes: UnusedIndex[];
  active: LongQuery[];
  slowestStatementMeanMs?: number | null;
}

export async function instanceHealth(instance: Instance): Promise<InstanceHealth> {
  const db = instance.reader;
  return {
    id: instance.id,
    connections: await connectionUse(db),
    cacheHit: await cacheHit(db),
    unusedIndexes: await unusedIndexes(db),
    active: await longQueries(db, 0),
    slowestStatementMeanMs: await slowestStatementMeanMs(db),
  };
}

/** Unused on the cluster only when unused on every instance: one reader's scans keep an index. */
export function unusedOnEvery(perInstance: readonly UnusedIndex[][]): UnusedIndex[] {
  if (perInstance.length === 0) return [];
  const key = (i: UnusedIndex) => `${i.schema}.${i.index}`;
  const others = perInstance.slice(1).map((list) => new Set(list.map(key)));
  return perInstance[0].filter((i) => others.every((set) => set.has(key(i))));
}

function worst(values: (number | null | undefined)[], pick: (a: number, b: number) => number): number | null | undefined {
  const known = values.filter((v): v is number => typeof v === 'number');
  if (known.length > 0) return known.reduce(pick);
  return values.includes(null) ? null : undefined;
}

/**
 * Replaces the report's per-server fields by their cluster-wide value over the instances (busiest
 * connections, lowest cache hit, slowest statement, every long query, indexes unused everywhere)
 * and returns the per-instance data, dimension DBInstanceIdentifier.
 */
export function mergeInstances(report: HealthReport, per: readonly InstanceHealth[], longQuerySeconds: number): HealthDatum[] {
  if (per.length === 0) return [];
  const busiest = per.reduce((a, b) => (b.connections.percent > a.connections.percent ? b : a));
  report.connections = busiest.connections;
  report.cacheHit = {
    tablePercent: worst(per.map((p) => p.cacheHit.tablePercent), Math.min) ?? null,
    indexPercent: worst(per.map((p) => p.cacheHit.indexPercent), Math.min) ?? null,
  };
  report.unusedIndexes = unusedOnEvery(per.map((p) => p.unusedIndexes));
  report.slowestStatementMeanMs = worst(per.map((p) => p.slowestStatementMeanMs), Math.max);
  const all = per.flatMap((p) => p.active);
  report.longQueries = all.filter((q) => q.durationSeconds > longQuerySeconds);
  report.longestQuerySeconds = all.reduce((max, q) => Math.max(max, q.durationSeconds), 0);
  return per.flatMap((p): HealthDatum[] => {
    const dims = { DBInstanceIdentifier: p.id };
    return [
      ['connectionUtilizationByInstance', p.connections.percent, dims],
      ...(p.cacheHit.tablePercent !== null ? [['cacheHitRatioByInstance', p.cacheHit.tablePercent, dims] as const] : []),
      ['unusedIndexCountByInstance', p.unusedIndexes.length, dims],
      ...(typeof p.slowestStatementMeanMs === 'number' ? [['slowestStatementMeanByInstance', p.slowestStatementMeanMs, dims] as const] : []),
    ];
  });
}
