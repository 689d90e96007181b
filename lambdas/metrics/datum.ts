import { DimensionName, METRICS, MetricDefinition, MetricKey } from './catalog';

/** One value of one catalogued metric. Environment is added by the runner for every datum. */
export interface MetricDatum {
  readonly metric: MetricDefinition;
  readonly value: number;
  readonly dimensions: Readonly<Partial<Record<DimensionName, string>>>;
  readonly timestamp?: Date;
}

export function datum(key: MetricKey, value: number, dimensions: Partial<Record<DimensionName, string>> = {}): MetricDatum {
  return { metric: METRICS[key], value, dimensions };
}

export function withEnvironment(data: readonly MetricDatum[], environment: string): MetricDatum[] {
  return data.map((d) => ({ ...d, dimensions: { Environment: environment, ...d.dimensions } }));
}

/** PutMetricData limits (API reference, PutMetricData): values in ±2^360, no NaN/Infinity, 30 dimensions. */
export const MAX_ABS_VALUE = 2 ** 360;
export const MAX_DIMENSIONS = 30;
export const MAX_DIMENSION_VALUE_LENGTH = 1024;

/** A name may be catalogued more than once: a cluster-wide series and its per-instance series (DBInstanceIdentifier). */
const BY_NAME = new Map<string, MetricDefinition[]>();
for (const m of Object.values(METRICS) as MetricDefinition[]) BY_NAME.set(m.name, [...(BY_NAME.get(m.name) ?? []), m]);

function definitionFor(d: MetricDatum): MetricDefinition | undefined {
  const candidates = BY_NAME.get(d.metric.name);
  if (!candidates) return undefined;
  // The datum's own definition when it is a catalogued one; else the one its dimensions fit.
  if (candidates.includes(d.metric)) return d.metric;
  const given = Object.keys(d.dimensions).sort().join(',');
  return candidates.find((m) => [...m.dimensions].sort().join(',') === given) ?? candidates[0];
}

/** Why a datum would be rejected (by the catalog or by CloudWatch), or undefined when it is fine. */
export function datumProblem(d: MetricDatum): string | undefined {
  const known = definitionFor(d);
  if (!known) return `metric ${d.metric.name} is not in the catalog`;
  if (known.unit !== d.metric.unit) return `metric ${d.metric.name} has unit ${d.metric.unit}, catalog says ${known.unit}`;
  if (typeof d.value !== 'number' || !Number.isFinite(d.value)) return `metric ${d.metric.name}: value ${d.value} is not a finite number`;
  if (Math.abs(d.value) > MAX_ABS_VALUE) return `metric ${d.metric.name}: value ${d.value} is outside ±2^360`;
  const given = Object.keys(d.dimensions).sort();
  const expected = [...known.dimensions].sort();
  if (given.length > MAX_DIMENSIONS) return `metric ${d.metric.name}: ${given.length} dimensions, CloudWatch allows ${MAX_DIMENSIONS}`;
  if (given.join(',') !== expected.join(',')) {
    return `metric ${d.metric.name} needs dimensions [${expected.join(', ')}], got [${given.join(', ')}]`;
  }
  for (const name of expected) {
    const value = d.dimensions[name as DimensionName];
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_DIMENSION_VALUE_LENGTH) {
      return `metric ${d.metric.name}: dimension ${name} must be 1-${MAX_DIMENSION_VALUE_LENGTH} characters`;
    }
  }
  return undefined;
}
