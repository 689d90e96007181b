import { Pool, PoolClient, PoolConfig, QueryResult, QueryResultRow } from 'pg';
import type { AppDatabaseConfig } from './config';
import { isConnectionError } from './connection-errors';
import { Logger, jsonConsoleLogger } from './logger';
import { checkPoolHealth, PoolHealth, PoolHealthOptions, PoolHealthStatus } from './pool-health';
import { getPoolMetrics, PoolMetrics } from './pool-metrics';
import { monitorPool, PoolMonitor, PoolMonitorOptions } from './pool-monitor';
import { detectReaderFlavour, measureReaderLag, ReaderFlavour } from './reader-lag';

export type PoolRole = 'writer' | 'reader';

/**
 * - 'eventual' (default for read()): the reader, unless this session wrote within the
 *   read-after-write window, or the reader is down.
 * - 'strong': always the writer, for reads that must see every committed write.
 */
export type Consistency = 'eventual' | 'strong';

export interface ReadOptions {
  consistency?: Consistency;
}

/** pg's options for one pool, from the parsed configuration. */
export function poolOptions(config: AppDatabaseConfig, role: PoolRole): PoolConfig {
  const url = role === 'reader' ? config.readReplicaUrl : config.databaseUrl;
  if (!url) throw new Error(`no connection string for the ${role} pool`);
  const { pool } = config;
  return {
    connectionString: url,
    min: pool.min,
    max: pool.max,
    connectionTimeoutMillis: pool.connectionTimeoutMillis,
    idleTimeoutMillis: pool.idleTimeoutMillis,
    statement_timeout: pool.statementTimeoutMillis,
    query_timeout: pool.queryTimeoutMillis,
    maxLifetimeSeconds: pool.maxLifetimeSeconds,
    // The role in the name tells writer from reader sessions apart in pg_stat_activity.
    application_name: `${pool.applicationName}:${role}`.slice(0, 63),
    // Detects a peer that vanished (failover) instead of waiting for the OS's TCP timeout.
    keepAlive: true,
  };
}

export interface DatabaseHealth {
  status: PoolHealthStatus;
  writer: PoolHealth;
  reader?: PoolHealth;
}

export interface RoutingStats {
  readsOnReader: number;
  readsOnWriter: number;
  writes: number;
  /** Reads that tried the reader, hit a connection error and were re-run on the writer. */
  fallbacks: number;
  /** Reads sent to the writer because the reader lagged beyond replica.maxLagMillis. */
  lagAvoided: number;
}

export interface CreatePoolOptions {
  logger?: Logger;
  /** Clock for the read-after-write window and the reader cooldown; injectable for tests. */
  now?: () => number;
}

interface RouteState {
  lastWriteAt?: number;
}

/**
 * The pools a service uses, with routing. Intent is explicit: read() may go to a replica,
 * write() and transaction() always use the writer. SQL text is never inspected to guess intent
 * (a SELECT can call a function that writes, or take row locks).
 *
 * Read-your-writes: a session() remembers when it last wrote; its reads within
 * replica.readAfterWriteWindowMillis go to the writer. Reads outside a session have no writes
 * to follow, so only { consistency: 'strong' } sends them to the writer.
 *
 * Reader failure: a connection error on the reader (while connecting or mid-query) re-runs the
 * read on the writer, logs a warning, and keeps reads on the writer for
 * replica.retryCooldownMillis; the first read after that tries the reader again.
 *
 * Reader lag: at most every replica.lagCheckIntervalMillis a read also starts a lag measurement
 * on the reader (in the background, one at a time). While the last measurement is above
 * replica.maxLagMillis, reads go to the writer; the first measurement at or under it sends them
 * back. A lagging reader is healthy, just late, so this is separate from the connection cooldown.
 */
export class AppDatabase {
  readonly writer: Pool;
  readonly reader: Pool | undefined;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly cooldownMs: number;
  private readonly maxLagMs: number;
  private readonly lagIntervalMs: number;
  private readerDownUntil: number | undefined;
  private readerLagMs: number | undefined;
  private readerLagging = false;
  private lagCheckedAt: number | undefined;
  private lagProbe: Promise<void> | undefined;
  private readerFlavour: ReaderFlavour | undefined;
  private readonly stats: RoutingStats = { readsOnReader: 0, readsOnWriter: 0, writes: 0, fallbacks: 0, lagAvoided: 0 };
  private readonly shared: RouteState = {};

  constructor(writer: Pool, reader: Pool | undefined, config: Pick<AppDatabaseConfig, 'replica'>, options: CreatePoolOptions = {}) {
    this.writer = writer;
    this.reader = reader;
    this.logger = options.logger ?? jsonConsoleLogger;
    this.now = options.now ?? Date.now;
    this.windowMs = config.replica.readAfterWriteWindowMillis;
    this.cooldownMs = config.replica.retryCooldownMillis;
    this.maxLagMs = config.replica.maxLagMillis;
    this.lagIntervalMs = config.replica.lagCheckIntervalMillis;
    // An idle client whose server went away emits 'error' on the pool; unhandled, it kills the process.
    writer.on('error', (error) => this.logger.warn('idle writer connection failed', { pool: 'writer', error: error.message }));
    reader?.on('error', (error) => this.logger.warn('idle reader connection failed', { pool: 'reader', error: error.message }));
  }

  read<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[], options: ReadOptions = {}): Promise<QueryResult<R>> {
    return this.routeRead<R>(text, values, options, this.shared);
  }

  write<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
    return this.runWrite<R>(text, values, this.shared);
  }

  transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.runTransaction(work, this.shared);
  }

  /** A routing context for one request or unit of work, so its reads follow its own writes. */
  session(): DatabaseSession {
    const state: RouteState = {};
    return {
      read: (text, values, options = {}) => this.routeRead(text, values, options, state),
      write: (text, values) => this.runWrite(text, values, state),
      transaction: (work) => this.runTransaction(work, state),
    };
  }

  /** Where a read with these options (outside any session) would go right now. */
  routeFor(options: ReadOptions = {}): PoolRole {
    return this.route(options, this.shared) === 'reader' ? 'reader' : 'writer';
  }

  private route(options: ReadOptions, state: RouteState): PoolRole | 'lagging' {
    if (options.consistency !== undefined && options.consistency !== 'eventual' && options.consistency !== 'strong') {
      throw new Error(`consistency must be 'eventual' or 'strong', got ${JSON.stringify(options.consistency)}`);
    }
    if (!this.reader || options.consistency === 'strong') return 'writer';
    const now = this.now();
    if (state.lastWriteAt !== undefined && now - state.lastWriteAt < this.windowMs) return 'writer';
    if (this.readerDownUntil !== undefined && now < this.readerDownUntil) return 'writer';
    if (this.readerLagging) return 'lagging';
    return 'reader';
  }

  /** Starts a lag measurement when the last one is older than the interval; never waits for it. */
  private maybeMeasureLag(): void {
    if (!this.reader || this.maxLagMs <= 0 || this.lagProbe) return;
    const now = this.now();
    if (this.lagCheckedAt !== undefined && now - this.lagCheckedAt < this.lagIntervalMs) return;
    this.lagCheckedAt = now;
    const reader = this.reader;
    this.lagProbe = (async () => {
      try {
        this.readerFlavour ??= await detectReaderFlavour(reader);
        this.recordLag(await measureReaderLag(reader, this.readerFlavour));
      } catch (error) {
        // An unreachable reader is the connection fallback's business; keep the last reading.
        this.logger.debug?.('replica lag measurement failed', { pool: 'reader', error: (error as Error).message });
      } finally {
        this.lagProbe = undefined;
      }
    })();
  }

  private recordLag(lagMs: number): void {
    this.readerLagMs = lagMs;
    const lagging = lagMs > this.maxLagMs;
    if (lagging && !this.readerLagging) {
      this.logger.warn('read replica lags beyond the bound; reads go to the writer', { pool: 'reader', lagMs, maxLagMs: this.maxLagMs });
    } else if (!lagging && this.readerLagging) {
      this.logger.info('read replica caught up; reads go back to it', { pool: 'reader', lagMs, maxLagMs: this.maxLagMs });
    }
    this.readerLagging = lagging;
  }

  /** The last measured reader lag in milliseconds (undefined before the first measurement or without a reader). */
  readerLag(): number | undefined {
    return this.readerLagMs;
  }

  routingStats(): RoutingStats {
    return { ...this.stats };
  }

  /** Reachable, as far as routing knows (a lagging reader is reachable; see readerLag()). */
  isReaderAvailable(): boolean {
    return this.reader !== undefined && (this.readerDownUntil === undefined || this.now() >= this.readerDownUntil);
  }

  /** Metrics of each pool, keyed by role. */
  poolMetrics(): { writer: PoolMetrics; reader?: PoolMetrics } {
    return { writer: getPoolMetrics(this.writer), ...(this.reader ? { reader: getPoolMetrics(this.reader) } : {}) };
  }

  /**
   * Probes both pools. The service is unhealthy only when the writer is: a failed reader makes it
   * degraded, since reads fall back to the writer.
   */
  async healthCheck(options?: PoolHealthOptions): Promise<DatabaseHealth> {
    const [writer, reader] = await Promise.all([checkPoolHealth(this.writer, options), this.reader ? checkPoolHealth(this.reader, options) : undefined]);
    const status: PoolHealthStatus =
      writer.status === 'unhealthy' ? 'unhealthy' : writer.status === 'degraded' || (reader !== undefined && reader.status !== 'healthy') ? 'degraded' : 'healthy';
    return { status, writer, ...(reader ? { reader } : {}) };
  }

  /** One monitor per pool, published with Pool=writer / Pool=reader. */
  monitor(intervalMs: number, options: Omit<PoolMonitorOptions, 'poolName' | 'onMetrics'> & { onMetrics?: (metrics: PoolMetrics, pool: PoolRole) => void } = {}): PoolMonitor {
    const { onMetrics, ...rest } = options;
    const monitors = [monitorPool(this.writer, intervalMs, { ...rest, poolName: 'writer', onMetrics: onMetrics && ((m) => onMetrics(m, 'writer')) })];
    if (this.reader) monitors.push(monitorPool(this.reader, intervalMs, { ...rest, poolName: 'reader', onMetrics: onMetrics && ((m) => onMetrics(m, 'reader')) }));
    return { stop: () => monitors.forEach((m) => m.stop()) };
  }

  async end(): Promise<void> {
    await this.lagProbe;
    await Promise.all([this.writer.end(), this.reader?.end()]);
  }

  private async routeRead<R extends QueryResultRow>(text: string, values: unknown[] | undefined, options: ReadOptions, state: RouteState): Promise<QueryResult<R>> {
    const route = this.route(options, state);
    this.maybeMeasureLag();
    if (route !== 'reader' || !this.reader) {
      this.stats.readsOnWriter += 1;
      if (route === 'lagging') this.stats.lagAvoided += 1;
      return this.writer.query<R>(text, values);
    }
    try {
      const result = await this.queryReader<R>(this.reader, text, values);
      if (this.readerDownUntil !== undefined) {
        this.readerDownUntil = undefined;
        this.logger.info('read replica is reachable again; reads go back to it', { pool: 'reader' });
      }
      this.stats.readsOnReader += 1;
      return result;
    } catch (error) {
      if (error instanceof ReaderBusyError) throw error.cause;
      // Any failure to connect (refused, timeout, database not accepting connections, bad
      // credentials on a new replica) means the reader cannot serve; mid-query only connection errors do.
      if (!(error instanceof ReaderConnectError) && !isConnectionError(error)) throw error;
      this.readerDownUntil = this.now() + this.cooldownMs;
      this.stats.fallbacks += 1;
      this.stats.readsOnWriter += 1;
      this.logger.warn('read replica unavailable; read sent to the writer', {
        pool: 'reader',
        error: error instanceof ReaderConnectError ? error.cause.message : (error as Error).message,
        retryAfterMs: this.cooldownMs,
      });
      return this.writer.query<R>(text, values);
    }
  }

  /** Connects explicitly so a failure to connect is told apart from a failing statement. */
  private async queryReader<R extends QueryResultRow>(reader: Pool, text: string, values: unknown[] | undefined): Promise<QueryResult<R>> {
    // pg-pool reports "timeout exceeded when trying to connect" both when the server does not
    // answer and when every client is busy. A busy reader is not a dead one: moving its load to
    // the writer would spread an overload, so that timeout goes back to the caller instead.
    const saturated = reader.idleCount === 0 && reader.totalCount >= (reader.options.max ?? 10);
    let client: PoolClient;
    try {
      client = await reader.connect();
    } catch (error) {
      throw saturated ? new ReaderBusyError(error as Error) : new ReaderConnectError(error as Error);
    }
    const guard = guardCheckedOut(client);
    try {
      const result = await client.query<R>(text, values);
      guard.release();
      return result;
    } catch (error) {
      // A broken connection must not go back to the pool.
      guard.release(isConnectionError(error) ? (error as Error) : undefined);
      throw error;
    }
  }

  private async runWrite<R extends QueryResultRow>(text: string, values: unknown[] | undefined, state: RouteState): Promise<QueryResult<R>> {
    this.stats.writes += 1;
    try {
      return await this.writer.query<R>(text, values);
    } finally {
      // Even a failed statement may have committed before the error reached us (lost reply).
      state.lastWriteAt = this.now();
    }
  }

  private async runTransaction<T>(work: (client: PoolClient) => Promise<T>, state: RouteState): Promise<T> {
    this.stats.writes += 1;
    const client = await this.writer.connect();
    const guard = guardCheckedOut(client);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError as Error;
      }
      throw error;
    } finally {
      state.lastWriteAt = this.now();
      guard.release(broken);
    }
  }
}

class ReaderBusyError extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
  }
}

class ReaderConnectError extends Error {
  constructor(override readonly cause: Error) {
    super(`could not connect to the read replica: ${cause.message}`);
  }
}

export interface DatabaseSession {
  read<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[], options?: ReadOptions): Promise<QueryResult<R>>;
  write<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
  transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T>;
}

/** The writer pool, a reader pool when DATABASE_READ_REPLICA_URL is set, and the routing between them. */
export function createPool(config: AppDatabaseConfig, options: CreatePoolOptions = {}): AppDatabase {
  const writer = new Pool(poolOptions(config, 'writer'));
  const reader = config.readReplicaUrl ? new Pool(poolOptions(config, 'reader')) : undefined;
  return new AppDatabase(writer, reader, config, options);
}

/**
 * pg-pool removes its error listener from a client while it is checked out, so a backend that is
 * terminated between two statements of a transaction (a failover, a restart, pg_terminate_backend)
 * would emit an unhandled 'error' and end the process. The guard listens while the client is out
 * and, if that happened, releases it as broken so the pool drops it instead of reusing it.
 */
function guardCheckedOut(client: PoolClient): { release(error?: Error): void } {
  let failed: Error | undefined;
  const onError = (error: Error) => {
    failed = error;
  };
  client.on('error', onError);
  return {
    release(error?: Error) {
      client.removeListener('error', onError);
      client.release(error ?? failed);
    },
  };
}
