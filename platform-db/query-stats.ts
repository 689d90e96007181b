import { LRUCache } from 'lru-cache';

export interface QueryStats {
  name: string;
  count: number;
  errors: number;
  slowCount: number;
  totalMs: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
  /** Percentiles over the most recent `window` executions (nearest-rank). */
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  window: number;
}

/** Nearest-rank percentile of an ascending array; 0 for an empty one. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * Fixed-size ring buffer of the latest durations: memory per name is constant, and the
 * percentiles describe recent behaviour (what an operator wants) rather than all history.
 */
class DurationSeries {
  private readonly samples: Float64Array;
  private next = 0;
  private filled = 0;
  count = 0;
  errors = 0;
  slowCount = 0;
  totalMs = 0;
  minMs = Infinity;
  maxMs = 0;

  constructor(size: number) {
    this.samples = new Float64Array(size);
  }

  add(durationMs: number, failed: boolean, slow: boolean): void {
    this.samples[this.next] = durationMs;
    this.next = (this.next + 1) % this.samples.length;
    this.filled = Math.min(this.filled + 1, this.samples.length);
    this.count += 1;
    if (failed) this.errors += 1;
    if (slow) this.slowCount += 1;
    this.totalMs += durationMs;
    this.minMs = Math.min(this.minMs, durationMs);
    this.maxMs = Math.max(this.maxMs, durationMs);
  }

  snapshot(name: string): QueryStats {
    const sorted = Array.from(this.samples.subarray(0, this.filled)).sort((a, b) => a - b);
    return {
      name,
      count: this.count,
      errors: this.errors,
      slowCount: this.slowCount,
      totalMs: this.totalMs,
      meanMs: this.count > 0 ? this.totalMs / this.count : 0,
      minMs: this.count > 0 ? this.minMs : 0,
      maxMs: this.maxMs,
      p50Ms: percentile(sorted, 50),
      p95Ms: percentile(sorted, 95),
      p99Ms: percentile(sorted, 99),
      window: this.filled,
    };
  }
}

/**
 * Per-name statistics with bounded memory: at most maxNames series (least recently used name
 * evicted, e.g. when a caller mistakenly puts ids into names), each a fixed-size window.
 */
export class QueryStatsRegistry {
  private readonly series: LRUCache<string, DurationSeries>;
  evictedNames = 0;

  constructor(
    private readonly windowSize: number,
    maxNames: number,
  ) {
    if (!Number.isInteger(windowSize) || windowSize < 1) throw new Error(`stats window must be a positive whole number, got ${windowSize}`);
    if (!Number.isInteger(maxNames) || maxNames < 1) throw new Error(`maximum tracked query names must be a positive whole number, got ${maxNames}`);
    this.series = new LRUCache({ max: maxNames, dispose: (_v, _k, reason) => reason === 'evict' && (this.evictedNames += 1) });
  }

  record(name: string, durationMs: number, failed: boolean, slow: boolean): void {
    let series = this.series.get(name);
    if (!series) {
      series = new DurationSeries(this.windowSize);
      this.series.set(name, series);
    }
    series.add(durationMs, failed, slow);
  }

  get(name: string): QueryStats | undefined {
    return this.series.peek(name)?.snapshot(name);
  }

  all(): QueryStats[] {
    return [...this.series.entries()].map(([name, series]) => series.snapshot(name)).sort((a, b) => a.name.localeCompare(b.name));
  }

  clear(): void {
    this.series.clear();
  }
}
