import type { MetricDatum } from '../lambdas/metrics/datum';
import type { Logger } from './logger';

export type { MetricDatum };

/**
 * The smallest surface the library needs from a metric publisher: the sinks of
 * lambdas/metrics/sink.ts (CloudWatch, console, memory) fit it as they are, while the library
 * does not import the publisher (and through it the AWS SDK). Every datum carries exactly the
 * catalog's dimensions for its metric, Environment included.
 */
export interface MetricSink {
  /** May resolve to a report; a `rejected: string[]` in it is logged. */
  publish(data: readonly MetricDatum[]): Promise<unknown>;
}

/** Metrics are best effort: a failing or refusing sink is logged, never thrown into the caller's path. */
export async function publishSafely(sink: MetricSink, data: readonly MetricDatum[], logger: Logger, what: string): Promise<void> {
  try {
    const report = (await sink.publish(data)) as { rejected?: unknown } | undefined;
    const rejected = report && Array.isArray(report.rejected) ? report.rejected : [];
    if (rejected.length > 0) logger.warn(`${what}: sink rejected some data`, { rejected });
  } catch (error) {
    logger.warn(`publishing ${what} failed`, { error: (error as Error).message, dropped: data.length });
  }
}
