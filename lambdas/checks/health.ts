import { HEALTH_CHECKS } from '../metrics/catalog';
import type { DimensionName, MetricKey } from '../metrics/catalog';
import { MetricDatum, datum } from '../metrics/datum';
import type { Queryable } from './queryable';

/**
 * The health report is the composition of the checks listed in HEALTH_CHECKS (lambdas/metrics/catalog.ts,
 * next to the metrics they publish). Each check runs its SQL and contributes its own fields to the
 * report, its metrics, its summary entries and its rows of the CLI table, so adding a health metric
 * touches the check file, the catalog and the check's test, and nothing here.
 */
export interface HealthOptions {
  /** Tables with fewer live+dead rows are left out of the dead-tuple figures. */
  deadTupleMinRows?: number;
  longQuerySeconds?: number;
  /** Per-table metrics are capped so a schema with thousands of partitions cannot explode the bill. */
  maxPerTableMetrics?: number;
}

export const DEFAULT_HEALTH_OPTIONS: Required<HealthOptions> = { deadTupleMinRows: 1000, longQuerySeconds: 30, maxPerTableMetrics: 50 };

/** [metric, value, dimensions]: a datum before the catalog definition is attached. */
export type HealthDatum = readonly [MetricKey, number, Partial<Record<DimensionName, string>>?];

export interface HealthRow {
  check: string;
  value: string;
  detail: string;
}

/** Check files import this type only: the catalog imports them, so a runtime import back would be a cycle. */
export interface HealthCheck<R extends object> {
  readonly name: string;
  /** The check's fields of the health report. */
  run(db: Queryable, options: Required<HealthOptions>): Promise<R>;
  metrics?(result: R, options: Required<HealthOptions>): HealthDatum[];
  /** Its entries of the health-check task's summary. */
  summary(result: R): Record<string, unknown>;
  /** Its rows of `dbops health`. */
  rows(result: R): HealthRow[];
}

export function toData(data: readonly HealthDatum[]): MetricDatum[] {
  return data.map(([key, value, dimensions]) => datum(key, value, dimensions));
}

type Checks = (typeof HEALTH_CHECKS)[number];
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
type ResultOf<C> = C extends HealthCheck<infer R> ? R : never;
export type HealthReport = UnionToIntersection<ResultOf<Checks>>;

export async function collectHealth(db: Queryable, options: HealthOptions = {}): Promise<HealthReport> {
  const o = { ...DEFAULT_HEALTH_OPTIONS, ...options };
  const report = {};
  // One after another on one session: a health check should cost the database next to nothing.
  for (const check of HEALTH_CHECKS as readonly HealthCheck<object>[]) Object.assign(report, await check.run(db, o));
  return report as HealthReport;
}

export function healthMetrics(report: HealthReport, options: HealthOptions = {}): MetricDatum[] {
  const o = { ...DEFAULT_HEALTH_OPTIONS, ...options };
  return toData((HEALTH_CHECKS as readonly HealthCheck<object>[]).flatMap((check) => check.metrics?.(report, o) ?? []));
}

export function healthSummary(report: HealthReport): Record<string, unknown> {
  return Object.assign({}, ...(HEALTH_CHECKS as readonly HealthCheck<object>[]).map((check) => check.summary(report)));
}

/** Rows for the CLI's table: metric, value, unit, what it is about. */
export function healthRows(report: HealthReport): HealthRow[] {
  return (HEALTH_CHECKS as readonly HealthCheck<object>[]).flatMap((check) => check.rows(report));
}
