import type { Queryable } from '../db/executor';
import { MetricDatum, datum } from '../metrics/datum';
import { CacheHit, cacheHit } from './cache-hit';
import { ConnectionUse, connectionUse } from './connections';
import { DeadTuples, deadTuples } from './dead-tuples';
import { InvalidIndex, invalidIndexes } from './invalid-indexes';
import { LongQuery, longQueries } from './long-queries';
import { ViewStaleness, stalenessMetrics, viewStaleness } from './mv-staleness';
import { PartitionStatus, partitionStatus, partitionMetrics } from './partitions';
import { ReplicaLag, replicaLag } from './replica-lag';
import { slowestStatementMeanMs } from './slowest-statement';
import { TableBloat, tableBloat } from './table-bloat';
import { transactionIdAge } from './transaction-id-age';
import { UnusedIndex, unusedIndexes } from './unused-indexes';

export interface HealthOptions {
  /** Tables with fewer live+dead rows are left out of the dead-tuple figures. */
  deadTupleMinRows?: number;
  longQuerySeconds?: number;
  /** Per-table metrics are capped so a schema with thousands of partitions cannot explode the bill. */
  maxPerTableMetrics?: number;
}

export interface HealthReport {
  connections: ConnectionUse;
  cacheHit: CacheHit;
  deadTuples: DeadTuples[];
  maxDeadTuplePercent: number;
  tableBloat: TableBloat[];
  estimatedTableBloatBytes: number;
  unusedIndexes: UnusedIndex[];
  invalidIndexes: InvalidIndex[];
  views?: ViewStaleness[];
  partitions?: PartitionStatus[];
  replicaLag: ReplicaLag;
  transactionIdAge: number;
  slowestStatementMeanMs?: number | null;
  longQueries: LongQuery[];
  longestQuerySeconds: number;
}

export const DEFAULT_HEALTH_OPTIONS: Required<HealthOptions> = { deadTupleMinRows: 1000, longQuerySeconds: 30, maxPerTableMetrics: 50 };

export async function collectHealth(db: Queryable, options: HealthOptions = {}): Promise<HealthReport> {
  const o = { ...DEFAULT_HEALTH_OPTIONS, ...options };
  // One after another on one session: a health check should cost the database next to nothing.
  const connections = await connectionUse(db);
  const hit = await cacheHit(db);
  const dead = await deadTuples(db, o.deadTupleMinRows);
  const bloat = await tableBloat(db);
  const unused = await unusedIndexes(db);
  const invalid = await invalidIndexes(db);
  const views = await viewStaleness(db);
  const partitions = await partitionStatus(db);
  const lag = await replicaLag(db);
  const xidAge = await transactionIdAge(db);
  const slowest = await slowestStatementMeanMs(db);
  const active = await longQueries(db, 0);
  return {
    connections,
    cacheHit: hit,
    deadTuples: dead,
    maxDeadTuplePercent: dead.reduce((max, d) => Math.max(max, d.deadPercent), 0),
    tableBloat: bloat,
    estimatedTableBloatBytes: bloat.reduce((sum, b) => sum + b.bloatBytes, 0),
    unusedIndexes: unused,
    invalidIndexes: invalid,
    views,
    partitions,
    replicaLag: lag,
    transactionIdAge: xidAge,
    slowestStatementMeanMs: slowest,
    longQueries: active.filter((q) => q.durationSeconds > o.longQuerySeconds),
    longestQuerySeconds: active.reduce((max, q) => Math.max(max, q.durationSeconds), 0),
  };
}

export function healthMetrics(report: HealthReport, options: HealthOptions = {}): MetricDatum[] {
  const cap = options.maxPerTableMetrics ?? DEFAULT_HEALTH_OPTIONS.maxPerTableMetrics;
  const data: MetricDatum[] = [
    datum('connectionUtilization', report.connections.percent),
    datum('maxDeadTuplePercent', report.maxDeadTuplePercent),
    datum('estimatedTableBloat', report.estimatedTableBloatBytes),
    datum('unusedIndexCount', report.unusedIndexes.length),
    datum('invalidIndexCount', report.invalidIndexes.length),
    datum('transactionIdAge', report.transactionIdAge),
    // LongRunningQueryCount / LongestQueryDuration are long-query-check's (every minute, its own
    // threshold); publishing them here too would mix two thresholds in one series.
  ];
  if (report.cacheHit.tablePercent !== null) data.push(datum('cacheHitRatio', report.cacheHit.tablePercent));
  if (report.cacheHit.indexPercent !== null) data.push(datum('indexCacheHitRatio', report.cacheHit.indexPercent));
  for (const d of report.deadTuples.slice(0, cap)) data.push(datum('deadTuplePercent', d.deadPercent, { Table: d.table }));
  for (const b of report.tableBloat.filter((t) => t.bloatBytes > 0).slice(0, cap)) data.push(datum('tableBloat', b.bloatBytes, { Table: b.table }));
  data.push(...stalenessMetrics(report.views ?? []));
  data.push(...partitionMetrics(report.partitions ?? []));
  if (report.replicaLag.available && report.replicaLag.maxLagMs !== null) data.push(datum('replicaLag', report.replicaLag.maxLagMs));
  if (report.slowestStatementMeanMs !== undefined && report.slowestStatementMeanMs !== null) {
    data.push(datum('slowestStatementMean', report.slowestStatementMeanMs));
  }
  return data;
}

/** Rows for the CLI's table: metric, value, unit, what it is about. */
export function healthRows(report: HealthReport): { check: string; value: string; detail: string }[] {
  const pct = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(2)} %`);
  const rows = [
    { check: 'connection utilization', value: pct(report.connections.percent), detail: `${report.connections.used} of ${report.connections.max}` },
    { check: 'cache hit (tables)', value: pct(report.cacheHit.tablePercent), detail: 'pg_statio_user_tables' },
    { check: 'cache hit (indexes)', value: pct(report.cacheHit.indexPercent), detail: 'pg_statio_user_indexes' },
    { check: 'max dead tuples', value: pct(report.maxDeadTuplePercent), detail: report.deadTuples[0]?.table ?? '-' },
    { check: 'estimated table bloat', value: `${formatBytes(report.estimatedTableBloatBytes)}`, detail: report.tableBloat[0]?.table ?? '-' },
    { check: 'unused indexes', value: String(report.unusedIndexes.length), detail: report.unusedIndexes.slice(0, 3).map((i) => i.index).join(', ') || '-' },
    { check: 'invalid indexes', value: String(report.invalidIndexes.length), detail: report.invalidIndexes.map((i) => i.index).join(', ') || '-' },
    { check: 'transaction id age', value: String(report.transactionIdAge), detail: 'age(datfrozenxid)' },
    { check: 'long-running queries', value: String(report.longQueries.length), detail: `longest active ${report.longestQuerySeconds.toFixed(1)} s` },
    {
      check: 'replica lag',
      value: report.replicaLag.available ? `${report.replicaLag.maxLagMs ?? 0} ms` : 'n/a',
      detail: report.replicaLag.available ? `${report.replicaLag.replicas} replicas` : 'not Aurora (no aurora_replica_status())',
    },
  ];
  if (report.slowestStatementMeanMs !== undefined) {
    rows.push({ check: 'slowest statement (mean)', value: report.slowestStatementMeanMs === null ? 'n/a' : `${report.slowestStatementMeanMs.toFixed(2)} ms`, detail: 'pg_stat_statements' });
  }
  for (const v of report.views ?? []) {
    rows.push({ check: `staleness ${v.view}`, value: v.stalenessSeconds === null ? 'never refreshed' : `${v.stalenessSeconds.toFixed(0)} s`, detail: v.populated ? 'populated' : 'not populated' });
  }
  for (const p of report.partitions ?? []) {
    rows.push({
      check: `partitions ${p.table}`,
      value: `${p.partitionCount} (${formatBytes(p.totalBytes)})`,
      detail: `headroom ${p.headroomMonths} months, ${p.defaultRows} rows in default`,
    });
  }
  return rows;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
