import { LRUCache } from 'lru-cache';

export interface QueryCacheOptions {
  maxEntries: number;
  defaultTtlSeconds: number;
  /** Clock in milliseconds (performance.now-like); injectable so TTL tests need no sleeping. */
  now?: () => number;
}

export interface QueryCacheStats {
  hits: number;
  misses: number;
  /** Callers that joined a load already in flight for the same key instead of starting one. */
  coalesced: number;
  errors: number;
  size: number;
  hitRatio: number;
}

interface InFlight {
  promise: Promise<unknown>;
}

/**
 * A TTL + LRU cache for query results with single-flight loading: concurrent misses on one key
 * share a single call. Failed loads are never stored. Invalidating a key (or a prefix) while its
 * load is in flight drops that load's result, so data read before a write cannot be cached after it.
 */
export class QueryCache {
  private readonly cache: LRUCache<string, { value: unknown }>;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly defaultTtlMs: number;
  private hits = 0;
  private misses = 0;
  private coalesced = 0;
  private errors = 0;

  constructor(options: QueryCacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) throw new Error(`cache maxEntries must be a positive whole number, got ${options.maxEntries}`);
    this.defaultTtlMs = ttlMillis(options.defaultTtlSeconds);
    this.cache = new LRUCache({
      max: options.maxEntries,
      ttl: this.defaultTtlMs,
      ...(options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {}),
    });
  }

  async getOrLoad<T>(key: string, load: () => Promise<T>, ttlSeconds?: number): Promise<T> {
    if (typeof key !== 'string' || key.length === 0) throw new Error('cache key must be a non-empty string');
    const ttl = ttlSeconds === undefined ? this.defaultTtlMs : ttlMillis(ttlSeconds);
    const cached = this.cache.get(key);
    if (cached) {
      this.hits += 1;
      return cached.value as T;
    }
    const pending = this.inFlight.get(key);
    if (pending) {
      this.coalesced += 1;
      return pending.promise as Promise<T>;
    }
    this.misses += 1;
    // Registered before load() starts, so even a synchronous throw finds and removes its own entry.
    const entry: InFlight = { promise: Promise.resolve() };
    this.inFlight.set(key, entry);
    const promise = (async () => {
      try {
        const value = await load();
        if (this.inFlight.get(key) === entry) this.cache.set(key, { value }, { ttl });
        return value;
      } catch (error) {
        this.errors += 1;
        throw error;
      } finally {
        if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
      }
    })();
    entry.promise = promise;
    return promise;
  }

  has(key: string): boolean {
    return this.cache.has(key);
  }

  invalidate(key: string): boolean {
    const hadLoad = this.inFlight.delete(key);
    return this.cache.delete(key) || hadLoad;
  }

  /** Removes every key starting with prefix (e.g. 'posts:workspace:42:'); returns how many. */
  invalidatePrefix(prefix: string): number {
    if (typeof prefix !== 'string' || prefix.length === 0) throw new Error('invalidation prefix must be a non-empty string; use clear() to drop everything');
    let removed = 0;
    for (const key of [...this.cache.keys()]) {
      if (key.startsWith(prefix) && this.cache.delete(key)) removed += 1;
    }
    for (const key of [...this.inFlight.keys()]) {
      if (key.startsWith(prefix)) this.inFlight.delete(key);
    }
    return removed;
  }

  clear(): void {
    this.cache.clear();
    this.inFlight.clear();
  }

  stats(): QueryCacheStats {
    const lookups = this.hits + this.misses + this.coalesced;
    return {
      hits: this.hits,
      misses: this.misses,
      coalesced: this.coalesced,
      errors: this.errors,
      size: this.cache.size,
      // Coalesced callers did not hit the database, so they count as served from cache.
      hitRatio: lookups > 0 ? ((this.hits + this.coalesced) / lookups) * 100 : 0,
    };
  }
}

function ttlMillis(seconds: number): number {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) throw new Error(`cache TTL must be a positive number of seconds, got ${seconds}`);
  return Math.round(seconds * 1000);
}
