import type { Pool } from 'pg';
import { getPoolMetrics, PoolMetrics } from './pool-metrics';

export type PoolHealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface PoolHealth {
  status: PoolHealthStatus;
  latencyMs: number;
  error?: string;
  /** Why the pool is degraded, when it is. */
  reasons: string[];
  /** Taken before the probe, so the probe's own connection does not count. */
  metrics: PoolMetrics;
}

export interface PoolHealthOptions {
  /** The whole probe (waiting for a connection included) must finish within this. */
  timeoutMs?: number;
  degradedLatencyMs?: number;
  degradedUtilizationPercent?: number;
}

class ProbeTimeout extends Error {}

/**
 * A SELECT 1 round trip through the pool. Unhealthy: the probe failed or timed out. Degraded:
 * it worked, but slowly, or the pool is near its limit (callers waiting or utilization high),
 * which is when a load balancer should stop sending more work here.
 */
export async function checkPoolHealth(pool: Pool, options: PoolHealthOptions = {}): Promise<PoolHealth> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const degradedLatencyMs = options.degradedLatencyMs ?? 1000;
  const degradedUtilization = options.degradedUtilizationPercent ?? 80;
  const metrics = getPoolMetrics(pool);
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const probe = pool.query({ text: 'SELECT 1 AS ok', query_timeout: timeoutMs } as { text: string });
    probe.catch(() => undefined); // may settle after the timeout below has already answered
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProbeTimeout(`health probe did not finish within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    });
    await Promise.race([probe, timeout]);
  } catch (error) {
    return { status: 'unhealthy', latencyMs: performance.now() - started, error: (error as Error).message, reasons: [], metrics };
  } finally {
    clearTimeout(timer);
  }
  const latencyMs = performance.now() - started;
  const reasons: string[] = [];
  if (latencyMs > degradedLatencyMs) reasons.push(`probe took ${latencyMs.toFixed(0)} ms (limit ${degradedLatencyMs} ms)`);
  if (metrics.utilizationPercent >= degradedUtilization) reasons.push(`pool utilization ${metrics.utilizationPercent.toFixed(0)}% (limit ${degradedUtilization}%)`);
  if (metrics.waitingClients > 0) reasons.push(`${metrics.waitingClients} callers waiting for a connection`);
  return { status: reasons.length > 0 ? 'degraded' : 'healthy', latencyMs, reasons, metrics };
}
