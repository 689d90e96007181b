import { METRICS } from '../lambdas/metrics/catalog';
import type { QuerySettings } from './config';
import { DEFAULTS } from './config';
import { Logger, jsonConsoleLogger } from './logger';
import { MetricDatum, MetricSink, publishSafely } from './metric-sink';
import { QueryCache, QueryCacheStats } from './query-cache';
import { QueryStats, QueryStatsRegistry } from './query-stats';

export interface QueryOptimizerOptions {
  /** Log every query at debug level and slow ones at warn. Slow queries are counted either way. */
  enableQueryLogging?: boolean;
  /** Milliseconds; a query taking at least this long is slow. */
  slowQueryThreshold?: number;
  cacheEnabled?: boolean;
  /** Default TTL in seconds for executeWithCache. */
  cacheTTL?: number;
  maxCacheEntries?: number;
  /** Executions per name kept for the percentiles. */
  statsWindow?: number;
  maxTrackedQueries?: number;
  logger?: Logger;
  metricSink?: MetricSink;
  /** Environment dimension of published metrics. */
  environment?: string;
  /** Datums buffered before an automatic flush to the sink; the buffer never grows beyond this. */
  metricBatchSize?: number;
  /** Milliseconds clock for durations and cache TTLs; injectable for tests. */
  now?: () => number;
}

/** Options from the parsed configuration (loadPlatformDbConfig().query). */
export function optimizerOptionsFromConfig(settings: QuerySettings): QueryOptimizerOptions {
  return {
    enableQueryLogging: settings.enableQueryLogging,
    slowQueryThreshold: settings.slowQueryThresholdMillis,
    cacheEnabled: settings.cacheEnabled,
    cacheTTL: settings.cacheTtlSeconds,
  };
}

const QUERY_NAME = /^[\w.:/-]{1,128}$/;

/**
 * Measures, logs and caches application queries. Works with any async function (pg, the
 * routing AppDatabase, Prisma), so it sits around the call rather than inside a driver.
 */
export class QueryOptimizer {
  private readonly logging: boolean;
  private readonly slowMs: number;
  private readonly cacheEnabled: boolean;
  private readonly cache: QueryCache;
  private readonly stats: QueryStatsRegistry;
  private readonly logger: Logger;
  private readonly sink: MetricSink | undefined;
  private readonly environment: string;
  private readonly batchSize: number;
  private readonly now: () => number;
  private pending: MetricDatum[] = [];

  constructor(options: QueryOptimizerOptions = {}) {
    const defaults = DEFAULTS.production.query;
    this.logging = options.enableQueryLogging ?? defaults.enableQueryLogging;
    this.slowMs = options.slowQueryThreshold ?? defaults.slowQueryThresholdMillis;
    if (!Number.isFinite(this.slowMs) || this.slowMs < 0) throw new Error(`slowQueryThreshold must be a non-negative number of milliseconds, got ${this.slowMs}`);
    this.cacheEnabled = options.cacheEnabled ?? defaults.cacheEnabled;
    this.now = options.now ?? (() => performance.now());
    this.cache = new QueryCache({ maxEntries: options.maxCacheEntries ?? 1000, defaultTtlSeconds: options.cacheTTL ?? defaults.cacheTtlSeconds, now: options.now });
    this.stats = new QueryStatsRegistry(options.statsWindow ?? 1024, options.maxTrackedQueries ?? 500);
    this.logger = options.logger ?? jsonConsoleLogger;
    this.sink = options.metricSink;
    this.environment = options.environment ?? process.env.NODE_ENV ?? 'development';
    this.batchSize = options.metricBatchSize ?? 100;
  }

  /** Runs fn, timing it under `name` (a stable label such as 'posts.listByWorkspace', never one with ids in it). */
  async executeWithMetrics<T>(fn: () => Promise<T>, name: string): Promise<T> {
    if (!QUERY_NAME.test(name)) throw new Error(`query name must be 1-128 letters, digits or . : / _ -, got "${name}"`);
    const started = this.now();
    let failed = false;
    try {
      return await fn();
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      this.record(name, this.now() - started, failed);
    }
  }

  /** Returns the cached result for key, or runs fn once (however many callers miss at the same time) and caches it. */
  executeWithCache<T>(fn: () => Promise<T>, key: string, ttlSeconds?: number): Promise<T> {
    if (!this.cacheEnabled) return fn();
    return this.cache.getOrLoad(key, fn, ttlSeconds);
  }

  invalidate(key: string): boolean {
    return this.cache.invalidate(key);
  }

  invalidatePrefix(prefix: string): number {
    return this.cache.invalidatePrefix(prefix);
  }

  clearCache(): void {
    this.cache.clear();
  }

  getCacheStats(): QueryCacheStats {
    return this.cache.stats();
  }

  getQueryStats(name: string): QueryStats | undefined {
    return this.stats.get(name);
  }

  getAllQueryStats(): QueryStats[] {
    return this.stats.all();
  }

  /** How many query names were dropped to keep memory bounded. */
  evictedQueryNames(): number {
    return this.stats.evictedNames;
  }

  resetStats(): void {
    this.stats.clear();
  }

  /** Sends buffered datums to the sink. A failed publish is logged and its datums dropped (metrics are best effort). */
  async flushMetrics(): Promise<void> {
    if (!this.sink || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    await publishSafely(this.sink, batch, this.logger, 'query metrics');
  }

  private record(name: string, durationMs: number, failed: boolean): void {
    const slow = durationMs >= this.slowMs;
    this.stats.record(name, durationMs, failed, slow);
    if (this.logging) {
      if (slow) this.logger.warn('slow query', { query: name, durationMs: Math.round(durationMs * 100) / 100, thresholdMs: this.slowMs, failed });
      else this.logger.debug?.('query', { query: name, durationMs: Math.round(durationMs * 100) / 100, failed });
    }
    if (!this.sink) return;
    const dimensions = { Environment: this.environment, Query: name };
    this.pending.push({ metric: METRICS.queryDuration, value: durationMs, dimensions, timestamp: new Date() });
    if (slow) this.pending.push({ metric: METRICS.slowQueries, value: 1, dimensions, timestamp: new Date() });
    if (this.pending.length >= this.batchSize) void this.flushMetrics();
  }
}
