import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { DimensionName, METRICS, METRIC_NAMESPACE, MetricKey } from '../../lambdas/metrics/catalog';

/**
 * Custom metrics exactly as lambdas/metrics/catalog.ts defines them: the dimension set given here
 * must equal the catalog's, or CloudWatch would silently match nothing.
 */
export function catalogMetric(
  key: MetricKey,
  dimensions: Partial<Record<DimensionName, string>>,
  options: { statistic?: string; period?: Duration; label?: string } = {},
): cloudwatch.Metric {
  const definition = METRICS[key];
  const given = Object.keys(dimensions).sort();
  const expected = [...definition.dimensions].sort();
  if (given.join(',') !== expected.join(',')) {
    throw new Error(`metric ${definition.name} takes dimensions [${expected.join(', ')}], got [${given.join(', ')}]`);
  }
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName: definition.name,
    dimensionsMap: dimensions as Record<string, string>,
    statistic: options.statistic ?? 'Average',
    period: options.period ?? Duration.minutes(5),
    label: options.label,
  });
}

/**
 * Every series of a catalog metric whose extra dimension (Pool, Query, Table...) is only known at run
 * time, for dashboards. SEARCH is not allowed in alarms, which use fixed dimension values instead.
 * `environments` lists every Environment value a producer may stamp: the maintenance tasks use the
 * stack's envName, the application library its NODE_ENV ('production' for prod).
 */
export function catalogSearch(
  key: MetricKey,
  environments: string | readonly string[],
  statistic: string,
  period: Duration = Duration.minutes(5),
  label?: string,
): cloudwatch.MathExpression {
  const definition = METRICS[key];
  const schema = [METRIC_NAMESPACE, ...definition.dimensions].join(',');
  const values = [...new Set([environments].flat())];
  if (values.length === 0) throw new Error(`catalogSearch(${definition.name}) needs at least one Environment value`);
  const terms = values.map((value) => `Environment="${value}"`);
  const environment = terms.length === 1 ? terms[0] : `(${terms.join(' OR ')})`;
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${schema}} MetricName="${definition.name}" ${environment}', '${statistic}', ${period.toSeconds()})`,
    usingMetrics: {},
    period,
    label,
  });
}

/**
 * The highest value of a catalog metric over every series of its run-time dimension (every Pool, say),
 * as a CloudWatch Metrics Insights query: unlike SEARCH, alarms may use it.
 */
export function catalogInsightsMax(key: MetricKey, environments: readonly string[], period: Duration = Duration.minutes(1), label?: string): cloudwatch.MathExpression {
  const definition = METRICS[key];
  const values = [...new Set(environments)];
  if (values.length === 0) throw new Error(`catalogInsightsMax(${definition.name}) needs at least one Environment value`);
  for (const value of values) {
    if (!/^[A-Za-z0-9_.-]+$/.test(value)) throw new Error(`Environment value "${value}" cannot be quoted in a Metrics Insights query`);
  }
  const where = values.map((value) => `Environment = '${value}'`).join(' OR ');
  return new cloudwatch.MathExpression({
    expression: `SELECT MAX(${definition.name}) FROM SCHEMA(${[METRIC_NAMESPACE, ...definition.dimensions].join(', ')}) WHERE ${where}`,
    usingMetrics: {},
    period,
    label,
  });
}

/** RDS Proxy publishes under AWS/RDS with the ProxyName dimension; CDK has no helpers for it. */
export function proxyMetric(proxyName: string, metricName: string, statistic = 'Average', period: Duration = Duration.minutes(1)): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: 'AWS/RDS', metricName, dimensionsMap: { ProxyName: proxyName }, statistic, period });
}

/** Connections the proxy holds to the database as a share of what it may open. */
export function proxyPoolUtilization(proxyName: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: 'IF(allowed > 0, 100 * used / allowed, 0)',
    usingMetrics: {
      used: proxyMetric(proxyName, 'DatabaseConnections', 'Maximum'),
      allowed: proxyMetric(proxyName, 'MaxDatabaseConnectionsAllowed', 'Maximum'),
    },
    label: 'Proxy pool utilization %',
    period: Duration.minutes(1),
  });
}

export function clusterMetric(clusterIdentifier: string, metricName: string, statistic = 'Average', period: Duration = Duration.minutes(5)): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: 'AWS/RDS', metricName, dimensionsMap: { DBClusterIdentifier: clusterIdentifier }, statistic, period });
}

export function clusterRoleMetric(clusterIdentifier: string, role: 'WRITER' | 'READER', metricName: string, statistic = 'Average'): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/RDS',
    metricName,
    dimensionsMap: { DBClusterIdentifier: clusterIdentifier, Role: role },
    statistic,
    period: Duration.minutes(5),
  });
}
