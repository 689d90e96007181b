import { Client, Pool } from 'pg';
import { loadPlatformDbConfig } from '../../platform-db/config';
import { checkPoolHealth } from '../../platform-db/pool-health';
import { getPoolMetrics } from '../../platform-db/pool-metrics';
import { monitorPool } from '../../platform-db/pool-monitor';
import { AppDatabase, createPool } from '../../platform-db/pools';
import { METRICS } from '../../lambdas/metrics/catalog';
import { ReplicatedCluster, startReplicatedCluster } from '../../local/replica';
import { createTestDatabase, TestDatabase } from '../support/database';
import { captureLogger, closedPort, manualClock, recordingSink, sleep, waitFor } from './support';

function configFor(writerUrl: string, readerUrl?: string, extra: Record<string, string> = {}) {
  return loadPlatformDbConfig({ NODE_ENV: 'test', DATABASE_URL: writerUrl, DATABASE_READ_REPLICA_URL: readerUrl, DATABASE_CONNECTION_TIMEOUT: '2000', ...extra });
}

async function servedBy(db: AppDatabase, options?: { consistency?: 'strong' | 'eventual' }): Promise<string> {
  const result = await db.read<{ db: string }>('SELECT current_database() AS db', [], options);
  return result.rows[0].db;
}

describe('pools and read routing', () => {
  let writer: TestDatabase;
  let reader: TestDatabase;
  const opened: AppDatabase[] = [];
  const open = (db: AppDatabase) => (opened.push(db), db);

  beforeAll(async () => {
    [writer, reader] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  });
  afterAll(async () => {
    await Promise.all(opened.map((db) => db.end().catch(() => undefined)));
    await Promise.all([writer.drop(), reader.drop()]);
  });

  it('sends reads to the reader, writes and strong reads to the writer', async () => {
    const db = open(createPool(configFor(writer.url, reader.url), { logger: captureLogger() }));
    expect(await servedBy(db)).toBe(reader.name);
    expect(await servedBy(db, { consistency: 'strong' })).toBe(writer.name);
    const written = await db.write<{ db: string }>('SELECT current_database() AS db');
    expect(written.rows[0].db).toBe(writer.name);
    const inTransaction = await db.transaction(async (client) => (await client.query('SELECT current_database() AS db')).rows[0].db);
    expect(inTransaction).toBe(writer.name);
    expect(db.routingStats()).toEqual({ readsOnReader: 1, readsOnWriter: 1, writes: 2, fallbacks: 0, lagAvoided: 0 });
  });

  it('survives a backend terminated between two statements of a transaction, and drops that connection', async () => {
    const db = open(createPool(configFor(writer.url), { logger: captureLogger() }));
    const failed = db.transaction(async (client) => {
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      await writer.query('SELECT pg_terminate_backend($1)', [pid]);
      // The FATAL arrives while no statement runs: pg emits 'error' on the checked-out client.
      await sleep(300);
      return client.query('SELECT 1');
    });
    await expect(failed).rejects.toThrow();
    // The broken connection is not handed out again: the next transaction works.
    expect(await db.transaction(async (client) => (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0].one)).toBe(1);
  });

  it('without a replica URL every read goes to the writer', async () => {
    const db = open(createPool(configFor(writer.url), { logger: captureLogger() }));
    expect(db.reader).toBeUndefined();
    expect(await servedBy(db)).toBe(writer.name);
  });

  it("keeps a session's reads on the writer for the read-after-write window, then returns them to the reader", async () => {
    const clock = manualClock();
    const db = open(createPool(configFor(writer.url, reader.url, { DATABASE_READ_AFTER_WRITE_WINDOW: '2000' }), { logger: captureLogger(), now: clock.now }));
    const session = db.session();
    const other = db.session();
    await session.write('CREATE TABLE IF NOT EXISTS routing_probe (id int)');
    const sessionRead = async () => (await session.read<{ db: string }>('SELECT current_database() AS db')).rows[0].db;
    expect(await sessionRead()).toBe(writer.name);
    expect((await other.read<{ db: string }>('SELECT current_database() AS db')).rows[0].db).toBe(reader.name);
    clock.advance(1999);
    expect(await sessionRead()).toBe(writer.name);
    clock.advance(2);
    expect(await sessionRead()).toBe(reader.name);
    await session.transaction(async (client) => client.query('INSERT INTO routing_probe VALUES (1)'));
    expect(await sessionRead()).toBe(writer.name);
  });

  it('falls back to the writer when the reader is unreachable, logs it, and retries the reader after the cooldown', async () => {
    const clock = manualClock();
    const logger = captureLogger();
    const port = await closedPort();
    const db = open(
      createPool(configFor(writer.url, `postgresql://postgres@127.0.0.1:${port}/nowhere`, { DATABASE_REPLICA_RETRY_COOLDOWN: '30000' }), { logger, now: clock.now }),
    );
    expect(await servedBy(db)).toBe(writer.name);
    const warning = logger.entries.find((e) => e.level === 'warn' && /read replica unavailable/.test(e.message));
    expect(warning?.fields).toMatchObject({ pool: 'reader', retryAfterMs: 30000 });
    expect(String(warning?.fields?.error)).toMatch(/ECONNREFUSED|connect/);
    expect(db.isReaderAvailable()).toBe(false);

    // Within the cooldown the reader is not even tried: no second warning, no second fallback.
    expect(await servedBy(db)).toBe(writer.name);
    expect(db.routingStats()).toMatchObject({ fallbacks: 1, readsOnReader: 0, readsOnWriter: 2 });

    clock.advance(30_000);
    expect(db.isReaderAvailable()).toBe(true);
    expect(await servedBy(db)).toBe(writer.name);
    expect(db.routingStats().fallbacks).toBe(2);
  });

  it('falls back when a working reader goes down, and goes back to it once it recovers', async () => {
    const clock = manualClock();
    const logger = captureLogger();
    const db = open(createPool(configFor(writer.url, reader.url, { DATABASE_REPLICA_RETRY_COOLDOWN: '10000' }), { logger, now: clock.now }));
    expect(await servedBy(db)).toBe(reader.name);

    const admin = new Client({ connectionString: writer.url });
    await admin.connect();
    try {
      // The reader refuses new sessions and loses its current ones, as during a failover.
      await admin.query(`ALTER DATABASE "${reader.name}" ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [reader.name]);
      expect(await servedBy(db)).toBe(writer.name);
      expect(logger.entries.filter((e) => /read replica unavailable/.test(e.message))).toHaveLength(1);
      expect(db.routingStats().fallbacks).toBe(1);

      await admin.query(`ALTER DATABASE "${reader.name}" ALLOW_CONNECTIONS true`);
      expect(await servedBy(db)).toBe(writer.name); // still cooling down
      clock.advance(10_000);
      expect(await servedBy(db)).toBe(reader.name);
      expect(logger.entries.some((e) => e.level === 'info' && /reachable again/.test(e.message))).toBe(true);
    } finally {
      await admin.query(`ALTER DATABASE "${reader.name}" ALLOW_CONNECTIONS true`);
      await admin.end();
    }
  });

  it('does not fall back on a statement error: the error reaches the caller', async () => {
    const db = open(createPool(configFor(writer.url, reader.url), { logger: captureLogger() }));
    await expect(db.read('SELECT * FROM no_such_table')).rejects.toThrow(/no_such_table/);
    expect(db.routingStats().fallbacks).toBe(0);
  });

  it('a saturated reader is not treated as down: the read times out instead of moving load to the writer', async () => {
    const db = open(createPool(configFor(writer.url, reader.url, { DATABASE_POOL_MAX: '1', DATABASE_CONNECTION_TIMEOUT: '300' }), { logger: captureLogger() }));
    const held = await db.reader!.connect();
    try {
      await expect(db.read('SELECT 1')).rejects.toThrow(/timeout exceeded when trying to connect/);
    } finally {
      held.release();
    }
    expect(db.routingStats().fallbacks).toBe(0);
    expect(db.isReaderAvailable()).toBe(true);
    expect(await servedBy(db)).toBe(reader.name);
    await expect(db.read('SELECT 1', [], { consistency: 'STRONG' as 'strong' })).rejects.toThrow(/consistency must be 'eventual' or 'strong'/);
  });

  it('a second acquire on an exhausted pool fails after the connection timeout', async () => {
    const db = open(createPool(configFor(writer.url, undefined, { DATABASE_POOL_MAX: '1', DATABASE_CONNECTION_TIMEOUT: '300' }), { logger: captureLogger() }));
    const held = await db.writer.connect();
    try {
      const second = db.writer.connect();
      await waitFor(() => db.writer.waitingCount === 1, 2000, 'a waiting client');
      expect(getPoolMetrics(db.writer)).toMatchObject({ totalConnections: 1, activeConnections: 1, idleConnections: 0, waitingClients: 1, utilizationPercent: 100 });
      await expect(second).rejects.toThrow(/timeout exceeded when trying to connect/);
    } finally {
      held.release();
    }
    // The pool is usable again once the client is back.
    await expect(db.write('SELECT 1')).resolves.toBeDefined();
  });

  it('statement_timeout cancels on the server and query_timeout gives up on the client', async () => {
    const server = open(createPool(configFor(writer.url, undefined, { DATABASE_STATEMENT_TIMEOUT: '200', DATABASE_QUERY_TIMEOUT: '10000' }), { logger: captureLogger() }));
    await expect(server.write('SELECT pg_sleep(2)')).rejects.toMatchObject({ code: '57014' });
    const client = open(createPool(configFor(writer.url, undefined, { DATABASE_STATEMENT_TIMEOUT: '10000', DATABASE_QUERY_TIMEOUT: '200' }), { logger: captureLogger() }));
    await expect(client.write('SELECT pg_sleep(2)')).rejects.toThrow(/Query read timeout/);
  });

  it('sets application_name per role and recycles connections after maxLifetimeSeconds', async () => {
    const db = open(createPool(configFor(writer.url, reader.url, { DATABASE_APPLICATION_NAME: 'svc', DATABASE_MAX_CONNECTION_LIFETIME: '1', DATABASE_IDLE_TIMEOUT: '60000' }), { logger: captureLogger() }));
    const name = async (pool: Pool) => (await pool.query('SELECT current_setting($1) AS v', ['application_name'])).rows[0].v;
    expect(await name(db.writer)).toBe('svc:writer');
    expect(await name(db.reader!)).toBe('svc:reader');
    const pid = async () => (await db.writer.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const first = await pid();
    expect(await pid()).toBe(first); // reused while young
    await waitFor(() => db.writer.totalCount === 0, 5000, 'the expired connection to be closed');
    expect(await pid()).not.toBe(first);
  });

  it('getPoolMetrics counts checked-out clients against max', async () => {
    const pool = writer.newPool({ max: 4 });
    const a = await pool.connect();
    const b = await pool.connect();
    b.release();
    expect(getPoolMetrics(pool)).toEqual({ totalConnections: 2, activeConnections: 1, idleConnections: 1, waitingClients: 0, maxConnections: 4, utilizationPercent: 25 });
    a.release();
  });

  it('checkPoolHealth: healthy, degraded near the limit, unhealthy when the server is unreachable', async () => {
    const pool = writer.newPool({ max: 5 });
    const healthy = await checkPoolHealth(pool);
    expect(healthy).toMatchObject({ status: 'healthy', reasons: [] });
    expect(healthy.latencyMs).toBeGreaterThanOrEqual(0);

    const held = await Promise.all([pool.connect(), pool.connect(), pool.connect(), pool.connect()]);
    const busy = await checkPoolHealth(pool);
    held.forEach((c) => c.release());
    expect(busy.status).toBe('degraded');
    expect(busy.reasons.join()).toMatch(/utilization 80%/);

    const port = await closedPort();
    const dead = new Pool({ connectionString: `postgresql://postgres@127.0.0.1:${port}/x`, connectionTimeoutMillis: 1000 });
    dead.on('error', () => undefined);
    const down = await checkPoolHealth(dead, { timeoutMs: 2000 });
    await dead.end();
    expect(down.status).toBe('unhealthy');
    expect(down.error).toMatch(/ECONNREFUSED|connect/);
  });

  it('checkPoolHealth reports a probe that cannot get a connection in time as unhealthy', async () => {
    const pool = writer.newPool({ max: 1 });
    const held = await pool.connect();
    try {
      const stuck = await checkPoolHealth(pool, { timeoutMs: 200 });
      expect(stuck.status).toBe('unhealthy');
      expect(stuck.error).toMatch(/did not finish within 200 ms/);
    } finally {
      held.release();
    }
  });

  it('monitorPool emits metrics, warns above the threshold, publishes to the sink, and stops', async () => {
    const pool = writer.newPool({ max: 2 });
    const logger = captureLogger();
    const sink = recordingSink();
    const seen: number[] = [];
    const held = await Promise.all([pool.connect(), pool.connect()]);
    const monitor = monitorPool(pool, 20, { onMetrics: (m) => seen.push(m.utilizationPercent), publisher: sink, logger, poolName: 'writer', environment: 'test' });
    try {
      await waitFor(() => seen.length >= 2, 5000, 'two samples');
    } finally {
      monitor.stop();
      held.forEach((c) => c.release());
    }
    expect(seen[0]).toBe(100);
    expect(logger.entries.some((e) => e.level === 'warn' && /utilization above threshold/.test(e.message) && e.fields?.thresholdPercent === 80)).toBe(true);
    expect(sink.data).toEqual(
      expect.arrayContaining([
        { metric: METRICS.poolUtilization, value: 100, dimensions: { Environment: 'test', Pool: 'writer' } },
        { metric: METRICS.poolWaiting, value: 0, dimensions: { Environment: 'test', Pool: 'writer' } },
      ]),
    );
    for (const datum of sink.data) expect(Object.keys(datum.dimensions)).toEqual([...datum.metric.dimensions]);
    const count = seen.length;
    await sleep(100);
    expect(seen.length).toBe(count);
  });

  it('AppDatabase reports both pools: a dead reader degrades the service, a dead writer makes it unhealthy', async () => {
    const port = await closedPort();
    const deadUrl = `postgresql://postgres@127.0.0.1:${port}/x`;
    const both = open(createPool(configFor(writer.url, reader.url), { logger: captureLogger() }));
    expect((await both.healthCheck()).status).toBe('healthy');
    expect(Object.keys(both.poolMetrics()).sort()).toEqual(['reader', 'writer']);

    const readerDown = open(createPool(configFor(writer.url, deadUrl), { logger: captureLogger() }));
    const degraded = await readerDown.healthCheck({ timeoutMs: 2000 });
    expect(degraded).toMatchObject({ status: 'degraded', writer: { status: 'healthy' }, reader: { status: 'unhealthy' } });

    const writerDown = open(createPool(configFor(deadUrl, reader.url), { logger: captureLogger() }));
    expect(await writerDown.healthCheck({ timeoutMs: 2000 })).toMatchObject({ status: 'unhealthy', writer: { status: 'unhealthy' }, reader: { status: 'healthy' } });
  });

  it('AppDatabase.monitor samples each pool under its own Pool dimension', async () => {
    const db = open(createPool(configFor(writer.url, reader.url), { logger: captureLogger() }));
    const sink = recordingSink();
    const seen = new Set<string>();
    const monitor = db.monitor(20, { publisher: sink, environment: 'test', onMetrics: (_m, pool) => seen.add(pool), logger: captureLogger() });
    try {
      await waitFor(() => seen.size === 2, 5000, 'both pools sampled');
    } finally {
      monitor.stop();
    }
    expect(new Set(sink.data.map((d) => d.dimensions.Pool))).toEqual(new Set(['writer', 'reader']));
  });

  it('monitorPool does not warn at or below the threshold and survives a failing publisher', async () => {
    const pool = writer.newPool({ max: 5 });
    const logger = captureLogger();
    const seen: number[] = [];
    const held = await pool.connect();
    const monitor = monitorPool(pool, 20, {
      onMetrics: (m) => seen.push(m.utilizationPercent),
      publisher: { publish: async () => Promise.reject(new Error('throttled')) },
      logger,
    });
    try {
      await waitFor(() => seen.length >= 3, 5000, 'three samples');
    } finally {
      monitor.stop();
      held.release();
    }
    expect(seen[0]).toBe(20);
    expect(logger.entries.some((e) => /utilization above threshold/.test(e.message))).toBe(false);
    expect(logger.entries.some((e) => /publishing pool metrics failed/.test(e.message) && e.fields?.error === 'throttled')).toBe(true);
  });
});

describe('read routing against a real streaming replica', () => {
  let cluster: ReplicatedCluster;
  const opened: AppDatabase[] = [];
  const open = (db: AppDatabase) => (opened.push(db), db);
  // Writes from another client, so the pools' own read-after-write window does not hide the lag.
  const onPrimary = async (text: string, values?: unknown[]) => {
    const client = new Client({ connectionString: cluster.primaryUrl() });
    await client.connect();
    try {
      await client.query(text, values);
    } finally {
      await client.end();
    }
  };
  const onStandby = async (db: { read: AppDatabase['read'] }) => (await db.read<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')).rows[0].standby;

  beforeAll(async () => {
    cluster = await startReplicatedCluster({ settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
    await onPrimary('CREATE TABLE notes (id int PRIMARY KEY, body text)');
    await cluster.waitForCatchUp();
  });
  afterAll(async () => {
    await Promise.all(opened.map((db) => db.end().catch(() => undefined)));
    await cluster?.destroy();
  });
  afterEach(async () => {
    if (!cluster.isReplicaRunning()) await cluster.startReplica();
    await cluster.resumeReplay();
  });

  it('reads are served by the standby, which refuses writes; committed writes reach it', async () => {
    const db = open(createPool(configFor(cluster.primaryUrl(), cluster.replicaUrl()), { logger: captureLogger() }));
    expect(await onStandby(db)).toBe(true);
    expect(await onStandby({ read: (t, v) => db.read(t, v, { consistency: 'strong' }) })).toBe(false);
    await expect(db.reader!.query('INSERT INTO notes VALUES (0, $1)', ['x'])).rejects.toThrow(/read-only transaction/);
    await onPrimary('INSERT INTO notes VALUES (1, $1)', ['replicated']);
    await cluster.waitForCatchUp();
    expect((await db.read('SELECT body FROM notes WHERE id = 1')).rows).toEqual([{ body: 'replicated' }]);
    expect((await cluster.lag()).streaming).toBe(true);
  });

  it("read-after-write holds under real lag: a session sees its own write while the standby's replay is paused", async () => {
    const db = open(createPool(configFor(cluster.primaryUrl(), cluster.replicaUrl(), { DATABASE_REPLICA_MAX_LAG: '0' }), { logger: captureLogger() }));
    await cluster.pauseReplay();
    const session = db.session();
    await session.write('INSERT INTO notes VALUES (2, $1)', ['mine']);
    // The standby really is behind: a read there does not see the row yet.
    expect((await db.reader!.query('SELECT 1 FROM notes WHERE id = 2')).rowCount).toBe(0);
    expect((await db.read('SELECT 1 FROM notes WHERE id = 2')).rowCount).toBe(0);
    expect((await session.read('SELECT body FROM notes WHERE id = 2')).rows).toEqual([{ body: 'mine' }]);
    expect((await db.read('SELECT body FROM notes WHERE id = 2', [], { consistency: 'strong' })).rows).toEqual([{ body: 'mine' }]);
    await cluster.resumeReplay();
    await cluster.waitForCatchUp();
    expect((await db.read('SELECT body FROM notes WHERE id = 2')).rows).toEqual([{ body: 'mine' }]);
  });

  it('reads avoid a standby lagging beyond the bound and return once it catches up', async () => {
    const logger = captureLogger();
    const db = open(createPool(configFor(cluster.primaryUrl(), cluster.replicaUrl(), { DATABASE_REPLICA_MAX_LAG: '300', DATABASE_REPLICA_LAG_CHECK_INTERVAL: '20' }), { logger }));
    await onPrimary('INSERT INTO notes VALUES (3, $1)', ['before the pause']);
    await cluster.waitForCatchUp();
    await cluster.pauseReplay();
    await onPrimary('INSERT INTO notes VALUES (4, $1)', ['held back']);
    expect((await cluster.lag()).paused).toBe(true);
    // Reads keep flowing; the lag measurements they trigger eventually see more than the bound.
    await waitFor(async () => !(await onStandby(db)), 10_000, 'reads to leave the lagging standby');
    expect(db.readerLag()).toBeGreaterThan(300);
    expect(db.routingStats().lagAvoided).toBeGreaterThan(0);
    expect((await db.read('SELECT body FROM notes WHERE id = 4')).rows).toEqual([{ body: 'held back' }]);
    expect(logger.entries.some((e) => e.level === 'warn' && /lags beyond the bound/.test(e.message) && e.fields?.maxLagMs === 300)).toBe(true);

    await cluster.resumeReplay();
    await waitFor(() => onStandby(db), 10_000, 'reads to return to the standby');
    expect(db.readerLag()).toBeLessThanOrEqual(300);
    expect(logger.entries.some((e) => e.level === 'info' && /caught up/.test(e.message))).toBe(true);
    expect(db.isReaderAvailable()).toBe(true);
  });

  it('with the bound off (0) a lagging standby keeps serving reads, stale', async () => {
    const db = open(createPool(configFor(cluster.primaryUrl(), cluster.replicaUrl(), { DATABASE_REPLICA_MAX_LAG: '0', DATABASE_REPLICA_LAG_CHECK_INTERVAL: '20' }), { logger: captureLogger() }));
    await cluster.pauseReplay();
    await onPrimary('INSERT INTO notes VALUES (5, $1)', ['unseen']);
    await sleep(400);
    expect(await onStandby(db)).toBe(true);
    expect((await db.read('SELECT 1 FROM notes WHERE id = 5')).rowCount).toBe(0);
    expect(db.readerLag()).toBeUndefined();
  });

  it('a stopped standby sends reads to the primary; once it is started again they return', async () => {
    const logger = captureLogger();
    const db = open(createPool(configFor(cluster.primaryUrl(), cluster.replicaUrl(), { DATABASE_REPLICA_RETRY_COOLDOWN: '100' }), { logger }));
    expect(await onStandby(db)).toBe(true);
    await cluster.stopReplica();
    expect(await onStandby(db)).toBe(false);
    expect(db.routingStats().fallbacks).toBe(1);
    expect(logger.entries.some((e) => e.level === 'warn' && /read replica unavailable/.test(e.message))).toBe(true);
    await cluster.startReplica();
    await waitFor(() => onStandby(db), 10_000, 'reads to return to the restarted standby');
    expect(logger.entries.some((e) => /reachable again/.test(e.message))).toBe(true);
  });
});
