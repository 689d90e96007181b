import { QueryCache } from '../../platform-db/query-cache';
import { QueryOptimizer } from '../../platform-db/query-optimizer';
import { percentile } from '../../platform-db/query-stats';
import { METRICS } from '../../lambdas/metrics/catalog';
import { MemorySink } from '../../lambdas/metrics/sink';
import { createTestDatabase, TestDatabase } from '../support/database';
import { captureLogger, manualClock, recordingSink } from './support';

/** A clock whose reading advances by the next scripted duration on every second call (start, end). */
function scriptedDurations(durations: number[]): () => number {
  let now = 0;
  let calls = 0;
  return () => {
    calls += 1;
    if (calls % 2 === 0) now += durations[(calls / 2 - 1) % durations.length];
    return now;
  };
}

describe('QueryOptimizer', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await db.query('CREATE TABLE cache_probe (id int PRIMARY KEY, label text NOT NULL)');
    await db.query(`INSERT INTO cache_probe VALUES (1, 'one'), (2, 'two')`);
  });
  afterAll(async () => {
    await db.drop();
  });

  describe('executeWithMetrics', () => {
    it('keeps count, mean and p50/p95/p99 per name', async () => {
      // 1..100 ms: nearest-rank p50 = 50, p95 = 95, p99 = 99.
      const durations = Array.from({ length: 100 }, (_, i) => i + 1);
      const optimizer = new QueryOptimizer({ now: scriptedDurations(durations), logger: captureLogger(), slowQueryThreshold: 1000 });
      for (let i = 0; i < 100; i += 1) await optimizer.executeWithMetrics(async () => i, 'posts.list');
      await optimizer.executeWithMetrics(async () => 0, 'posts.count');
      const stats = optimizer.getQueryStats('posts.list')!;
      expect(stats).toMatchObject({ count: 100, errors: 0, slowCount: 0, minMs: 1, maxMs: 100, meanMs: 50.5, p50Ms: 50, p95Ms: 95, p99Ms: 99, window: 100 });
      expect(optimizer.getAllQueryStats().map((s) => s.name)).toEqual(['posts.count', 'posts.list']);
    });

    it('times real queries, counts failures and rethrows them', async () => {
      const optimizer = new QueryOptimizer({ logger: captureLogger() });
      const rows = await optimizer.executeWithMetrics(async () => (await db.pool().query('SELECT label FROM cache_probe ORDER BY id')).rows, 'probe.all');
      expect(rows).toEqual([{ label: 'one' }, { label: 'two' }]);
      await expect(optimizer.executeWithMetrics(() => db.pool().query('SELECT * FROM missing_table'), 'probe.broken')).rejects.toThrow(/missing_table/);
      expect(optimizer.getQueryStats('probe.broken')).toMatchObject({ count: 1, errors: 1 });
      expect(optimizer.getQueryStats('probe.all')!.maxMs).toBeGreaterThan(0);
    });

    it('logs slow queries (at or above the threshold) when logging is on, and counts them either way', async () => {
      const logger = captureLogger();
      const optimizer = new QueryOptimizer({ now: scriptedDurations([10, 1000, 1500]), slowQueryThreshold: 1000, enableQueryLogging: true, logger });
      for (let i = 0; i < 3; i += 1) await optimizer.executeWithMetrics(async () => i, 'inbox.open');
      const slow = logger.entries.filter((e) => e.level === 'warn' && e.message === 'slow query');
      expect(slow.map((e) => e.fields?.durationMs)).toEqual([1000, 1500]);
      expect(slow[0].fields).toMatchObject({ query: 'inbox.open', thresholdMs: 1000 });
      expect(logger.entries.filter((e) => e.level === 'debug')).toHaveLength(1);

      const quiet = captureLogger();
      const silent = new QueryOptimizer({ now: scriptedDurations([5000]), slowQueryThreshold: 1000, enableQueryLogging: false, logger: quiet });
      await silent.executeWithMetrics(async () => 1, 'inbox.open');
      expect(quiet.entries).toEqual([]);
      expect(silent.getQueryStats('inbox.open')!.slowCount).toBe(1);
    });

    it('bounds memory: a fixed window per name and a maximum number of names', async () => {
      const optimizer = new QueryOptimizer({ now: scriptedDurations(Array.from({ length: 50 }, (_, i) => i + 1)), statsWindow: 10, maxTrackedQueries: 3, logger: captureLogger() });
      for (let i = 0; i < 50; i += 1) await optimizer.executeWithMetrics(async () => i, 'hot');
      const hot = optimizer.getQueryStats('hot')!;
      // All-time aggregates over 50, percentiles over the last 10 durations (41..50).
      expect(hot).toMatchObject({ count: 50, window: 10, minMs: 1, maxMs: 50, p50Ms: 45, p99Ms: 50 });
      for (const name of ['a', 'b', 'c', 'd']) await optimizer.executeWithMetrics(async () => 0, name);
      expect(optimizer.getAllQueryStats().map((s) => s.name)).toEqual(['b', 'c', 'd']);
      expect(optimizer.evictedQueryNames()).toBe(2);
    });

    it('rejects names that are not stable labels', async () => {
      const optimizer = new QueryOptimizer({ logger: captureLogger() });
      await expect(optimizer.executeWithMetrics(async () => 1, '')).rejects.toThrow(/query name/);
      await expect(optimizer.executeWithMetrics(async () => 1, 'SELECT * FROM posts WHERE id = 1')).rejects.toThrow(/query name/);
    });

    it('publishes QueryDuration and SlowQueryCount datums through the sink', async () => {
      const sink = recordingSink();
      const optimizer = new QueryOptimizer({ now: scriptedDurations([20, 2000]), slowQueryThreshold: 1000, metricSink: sink, environment: 'test', logger: captureLogger() });
      await optimizer.executeWithMetrics(async () => 1, 'posts.search');
      await optimizer.executeWithMetrics(async () => 1, 'posts.search');
      expect(sink.data).toEqual([]); // buffered until a batch fills or flushMetrics()
      await optimizer.flushMetrics();
      const dims = { Environment: 'test', Query: 'posts.search' };
      expect(sink.data.map(({ metric, value, dimensions }) => ({ metric, value, dimensions }))).toEqual([
        { metric: METRICS.queryDuration, value: 20, dimensions: dims },
        { metric: METRICS.queryDuration, value: 2000, dimensions: dims },
        { metric: METRICS.slowQueries, value: 1, dimensions: dims },
      ]);
      for (const datum of sink.data) expect(Object.keys(datum.dimensions)).toEqual([...datum.metric.dimensions]);
    });

    it("plugs into the maintenance code's sinks: MemorySink validates and accepts every datum", async () => {
      const sink = new MemorySink();
      const logger = captureLogger();
      const optimizer = new QueryOptimizer({ now: scriptedDurations([5, 1500]), slowQueryThreshold: 1000, metricSink: sink, environment: 'test', logger });
      await optimizer.executeWithMetrics(async () => 1, 'posts.list');
      await optimizer.executeWithMetrics(async () => 1, 'posts.list');
      await optimizer.flushMetrics();
      expect(sink.values('QueryDuration', { Query: 'posts.list', Environment: 'test' })).toEqual([5, 1500]);
      expect(sink.values('SlowQueryCount')).toEqual([1]);
      expect(logger.entries.filter((e) => e.level === 'warn' && /rejected/.test(e.message))).toEqual([]);
      // A report that refuses data is logged.
      const refusing = new QueryOptimizer({ metricSink: { publish: async () => ({ rejected: ['metric X is not in the catalog'] }) }, logger });
      await refusing.executeWithMetrics(async () => 1, 'q');
      await refusing.flushMetrics();
      expect(logger.entries.some((e) => /sink rejected some data/.test(e.message))).toBe(true);
    });

    it('flushes automatically when a batch fills, and a failing sink is logged, not thrown', async () => {
      const logger = captureLogger();
      let batches = 0;
      const optimizer = new QueryOptimizer({ metricSink: { publish: async () => ((batches += 1), Promise.reject(new Error('throttled'))) }, metricBatchSize: 2, logger });
      await optimizer.executeWithMetrics(async () => 1, 'q');
      await optimizer.executeWithMetrics(async () => 1, 'q');
      await new Promise((resolve) => setImmediate(resolve));
      expect(batches).toBe(1);
      expect(logger.entries.some((e) => /publishing query metrics failed/.test(e.message) && e.fields?.dropped === 2)).toBe(true);
    });
  });

  describe('executeWithCache', () => {
    it('coalesces concurrent misses on one key into a single query', async () => {
      const optimizer = new QueryOptimizer({ cacheEnabled: true, cacheTTL: 60, logger: captureLogger() });
      let calls = 0;
      const load = async () => {
        calls += 1;
        const { rows } = await db.pool().query('SELECT label, pg_sleep(0.05) IS NULL AS slept FROM cache_probe WHERE id = 1');
        return rows[0].label as string;
      };
      const results = await Promise.all(Array.from({ length: 25 }, () => optimizer.executeWithCache(load, 'probe:1')));
      expect(results).toEqual(Array(25).fill('one'));
      expect(calls).toBe(1);
      expect(optimizer.getCacheStats()).toMatchObject({ misses: 1, coalesced: 24, hits: 0, size: 1 });
      await optimizer.executeWithCache(load, 'probe:1');
      expect(calls).toBe(1);
      expect(optimizer.getCacheStats().hits).toBe(1);
    });

    it('expires entries after their TTL (default or per call)', async () => {
      const clock = manualClock();
      const optimizer = new QueryOptimizer({ cacheEnabled: true, cacheTTL: 300, now: clock.now, logger: captureLogger() });
      let version = 0;
      const load = async () => (version += 1);
      expect(await optimizer.executeWithCache(load, 'default-ttl')).toBe(1);
      expect(await optimizer.executeWithCache(load, 'short-ttl', 10)).toBe(2);
      clock.advance(9_999);
      expect(await optimizer.executeWithCache(load, 'short-ttl', 10)).toBe(2);
      clock.advance(2);
      expect(await optimizer.executeWithCache(load, 'short-ttl', 10)).toBe(3);
      expect(await optimizer.executeWithCache(load, 'default-ttl')).toBe(1);
      clock.advance(300_000);
      expect(await optimizer.executeWithCache(load, 'default-ttl')).toBe(4);
    });

    it('evicts the least recently used entry beyond maxCacheEntries', async () => {
      const optimizer = new QueryOptimizer({ cacheEnabled: true, maxCacheEntries: 2, logger: captureLogger() });
      let calls = 0;
      const load = (value: string) => async () => ((calls += 1), value);
      await optimizer.executeWithCache(load('a'), 'a');
      await optimizer.executeWithCache(load('b'), 'b');
      await optimizer.executeWithCache(load('a'), 'a'); // a is now most recent
      await optimizer.executeWithCache(load('c'), 'c'); // evicts b
      expect(optimizer.getCacheStats().size).toBe(2);
      expect(calls).toBe(3);
      await optimizer.executeWithCache(load('a'), 'a');
      expect(calls).toBe(3);
      await optimizer.executeWithCache(load('b'), 'b');
      expect(calls).toBe(4);
    });

    it('never caches a failure: every waiter gets the error and the next call retries', async () => {
      const optimizer = new QueryOptimizer({ cacheEnabled: true, logger: captureLogger() });
      let calls = 0;
      const failing = async () => {
        calls += 1;
        await db.pool().query('SELECT pg_sleep(0.02)');
        throw new Error('upstream failed');
      };
      const settled = await Promise.allSettled(Array.from({ length: 5 }, () => optimizer.executeWithCache(failing, 'flaky')));
      expect(settled.every((s) => s.status === 'rejected' && /upstream failed/.test(String(s.reason)))).toBe(true);
      expect(calls).toBe(1);
      expect(await optimizer.executeWithCache(async () => ((calls += 1), 'ok'), 'flaky')).toBe('ok');
      expect(calls).toBe(2);
      // A loader that throws synchronously leaves nothing behind either.
      await expect(optimizer.executeWithCache((() => { throw new Error('sync'); }) as () => Promise<never>, 'sync')).rejects.toThrow('sync');
      expect(await optimizer.executeWithCache(async () => 'recovered', 'sync')).toBe('recovered');
    });

    it('invalidates by key and by prefix', async () => {
      const optimizer = new QueryOptimizer({ cacheEnabled: true, logger: captureLogger() });
      let calls = 0;
      const load = async () => (calls += 1);
      for (const key of ['posts:ws:1:page:1', 'posts:ws:1:page:2', 'posts:ws:10:page:1', 'inbox:ws:1']) await optimizer.executeWithCache(load, key);
      expect(calls).toBe(4);
      expect(optimizer.invalidatePrefix('posts:ws:1:')).toBe(2);
      await optimizer.executeWithCache(load, 'posts:ws:10:page:1');
      await optimizer.executeWithCache(load, 'inbox:ws:1');
      expect(calls).toBe(4);
      await optimizer.executeWithCache(load, 'posts:ws:1:page:1');
      expect(calls).toBe(5);
      expect(optimizer.invalidate('inbox:ws:1')).toBe(true);
      await optimizer.executeWithCache(load, 'inbox:ws:1');
      expect(calls).toBe(6);
      expect(() => optimizer.invalidatePrefix('')).toThrow(/non-empty/);
    });

    it('does not cache a load that was in flight when its key was invalidated (a write happened meanwhile)', async () => {
      const optimizer = new QueryOptimizer({ cacheEnabled: true, logger: captureLogger() });
      const stale = optimizer.executeWithCache(async () => (await db.pool().query('SELECT label, pg_sleep(0.05) FROM cache_probe WHERE id = 2')).rows[0].label, 'probe:2');
      await db.query(`UPDATE cache_probe SET label = 'TWO' WHERE id = 2`);
      optimizer.invalidate('probe:2');
      expect(await stale).toBe('two');
      const fresh = await optimizer.executeWithCache(async () => (await db.pool().query('SELECT label FROM cache_probe WHERE id = 2')).rows[0].label, 'probe:2');
      expect(fresh).toBe('TWO');
    });

    it('calls through every time when the cache is disabled', async () => {
      const optimizer = new QueryOptimizer({ cacheEnabled: false, logger: captureLogger() });
      let calls = 0;
      await optimizer.executeWithCache(async () => (calls += 1), 'k');
      await optimizer.executeWithCache(async () => (calls += 1), 'k');
      expect(calls).toBe(2);
    });

    it('rejects bad keys and TTLs', async () => {
      const cache = new QueryCache({ maxEntries: 10, defaultTtlSeconds: 60 });
      await expect(cache.getOrLoad('', async () => 1)).rejects.toThrow(/non-empty/);
      await expect(cache.getOrLoad('k', async () => 1, 0)).rejects.toThrow(/TTL must be a positive number/);
      expect(() => new QueryCache({ maxEntries: 0, defaultTtlSeconds: 60 })).toThrow(/maxEntries/);
    });
  });

  it('percentile uses nearest rank', () => {
    expect(percentile([], 50)).toBe(0);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 75)).toBe(3);
    expect(percentile([1, 2, 3, 4], 100)).toBe(4);
  });
});
