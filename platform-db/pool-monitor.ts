import type { Pool } from 'pg';
import { METRICS } from '../lambdas/metrics/catalog';
import { Logger, jsonConsoleLogger } from './logger';
import { MetricSink, publishSafely } from './metric-sink';
import { getPoolMetrics, PoolMetrics } from './pool-metrics';

export interface PoolMonitorOptions {
  onMetrics?: (metrics: PoolMetrics) => void;
  publisher?: MetricSink;
  /** The spec's alert threshold. */
  warnAbovePercent?: number;
  logger?: Logger;
  /** Dimension values for published metrics. */
  poolName?: string;
  environment?: string;
}

export interface PoolMonitor {
  stop(): void;
}

/**
 * Samples the pool every intervalMs. The timer is unref'd so a forgotten monitor never keeps a
 * Lambda or a test process alive; a failing publisher is logged and never stops the monitor.
 */
export function monitorPool(pool: Pool, intervalMs: number, options: PoolMonitorOptions = {}): PoolMonitor {
  if (!Number.isFinite(intervalMs) || intervalMs < 10) throw new Error(`monitorPool: intervalMs must be at least 10, got ${intervalMs}`);
  const logger = options.logger ?? jsonConsoleLogger;
  const warnAbove = options.warnAbovePercent ?? 80;
  const dimensions = { Environment: options.environment ?? process.env.NODE_ENV ?? 'development', Pool: options.poolName ?? 'writer' };
  let stopped = false;

  const tick = () => {
    if (stopped) return;
    const metrics = getPoolMetrics(pool);
    try {
      options.onMetrics?.(metrics);
    } catch (error) {
      logger.error('pool monitor onMetrics callback failed', { error: (error as Error).message });
    }
    if (metrics.utilizationPercent > warnAbove) {
      logger.warn('connection pool utilization above threshold', { pool: dimensions.Pool, ...metrics, thresholdPercent: warnAbove });
    }
    if (options.publisher) {
      void publishSafely(
        options.publisher,
        [
          { metric: METRICS.poolUtilization, value: metrics.utilizationPercent, dimensions },
          { metric: METRICS.poolWaiting, value: metrics.waitingClients, dimensions },
        ],
        logger,
        'pool metrics',
      );
    }
  };

  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
