import { Client } from 'pg';
import { DEFAULT_LOCK_RETRY, LockRetryOptions, sleep, withLockRetries } from '../db/lock-retry';
import { MigrationFile, checksumMatches, loadMigrationFiles } from './migration-files';
import { splitSqlStatements } from './sql-splitter';

export interface MigrateOptions {
  /** Connection string; defaults to DATABASE_URL. */
  databaseUrl?: string;
  /** Folder of numbered .sql files; defaults to sql/migrations. */
  dir?: string;
  /** Apply only the files this accepts (the benchmark's baseline leaves the optimization out). */
  include?: (file: MigrationFile) => boolean;
  /** Wait for a concurrent runner to finish (default), or stop at once with MigrationLockedError. */
  waitForLock?: boolean;
  /** How long a waiting runner waits before giving up with MigrationLockedError (default 15 min). */
  maxLockWaitMs?: number;
  /** lock_timeout for each migration's DDL; lock waits beyond it are retried. */
  lockTimeoutMs?: number;
  lockRetry?: LockRetryOptions;
  log?: (message: string) => void;
}

export interface MissingGrant {
  grantedRole: string;
  member: string;
  purpose: string;
  error: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
  /** Role grants the migration user was refused (dbops.missing_grants, migration 090); the deploy goes on. */
  missingGrants: MissingGrant[];
  durationMs: number;
}

export class MigrationLockedError extends Error {
  constructor() {
    super('another migration runner holds the dbops:migrate advisory lock');
    this.name = 'MigrationLockedError';
  }
}

export class MigrationChecksumError extends Error {
  constructor(readonly file: string) {
    super(`migration ${file} was changed after it was applied; add a new migration instead of editing it`);
    this.name = 'MigrationChecksumError';
  }
}

export class MigrationFailedError extends Error {
  constructor(
    readonly file: string,
    readonly cause: Error,
  ) {
    super(`migration ${file} failed: ${cause.message}`);
    this.name = 'MigrationFailedError';
  }
}

const LOCK_KEY = 'dbops:migrate';
const LOCK_POLL_MS = 100;

const BOOKKEEPING_SQL = `
  CREATE SCHEMA IF NOT EXISTS dbops;
  CREATE TABLE IF NOT EXISTS dbops.schema_migrations (
    version     text PRIMARY KEY,
    checksum    text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL CHECK (duration_ms >= 0)
  );`;

interface AppliedRow {
  version: string;
  checksum: string;
}

export async function migrate(options: MigrateOptions = {}): Promise<MigrateResult> {
  const connectionString = options.databaseUrl ?? process.env.DATABASE_URL;
  if (!connectionString) throw new Error('no database: pass --database-url or set DATABASE_URL');
  const log = options.log ?? (() => undefined);
  const files = loadMigrationFiles(options.dir).filter(options.include ?? (() => true));
  const started = Date.now();

  const client = new Client({ connectionString, application_name: 'dbops:migrate' });
  // A terminated backend also emits 'error' on the client between statements; unhandled, that
  // ends the process (the Lambda, the CLI, the soak) instead of failing the migration cleanly.
  // The next statement on the dead connection reports the failure.
  client.on('error', () => undefined);
  await client.connect();
  try {
    await acquireLock(client, options.waitForLock ?? true, options.maxLockWaitMs ?? 15 * 60_000);
    try {
      await client.query(`SET statement_timeout = 0`);
      await client.query(`SET lock_timeout = ${Math.trunc(options.lockTimeoutMs ?? 5000)}`);
      await client.query(BOOKKEEPING_SQL);
      const { rows } = await client.query<AppliedRow>('SELECT version, checksum FROM dbops.schema_migrations');
      const applied = new Map(rows.map((row) => [row.version, row.checksum]));

      const result: MigrateResult = { applied: [], alreadyApplied: [], missingGrants: [], durationMs: 0 };
      for (const file of files) {
        const recorded = applied.get(file.name);
        if (recorded !== undefined) {
          if (!checksumMatches(file, recorded)) throw new MigrationChecksumError(file.name);
          result.alreadyApplied.push(file.name);
          continue;
        }
        const fileStarted = Date.now();
        try {
          await withLockRetries(
            () => (file.transactional ? applyInTransaction(client, file, fileStarted) : applyStatementByStatement(client, file, fileStarted)),
            { ...DEFAULT_LOCK_RETRY, ...options.lockRetry, onRetry: (attempt, error) => log(`${file.name}: lock busy (${error.message}), retry ${attempt}`) },
          );
        } catch (error) {
          throw new MigrationFailedError(file.name, error as Error);
        }
        log(`applied ${file.name} in ${Date.now() - fileStarted} ms`);
        result.applied.push(file.name);
      }
      result.missingGrants = await missingGrants(client);
      for (const gap of result.missingGrants) log(`missing grant: ${gap.grantedRole} to ${gap.member} (${gap.purpose}): ${gap.error}`);
      result.durationMs = Date.now() - started;
      return result;
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}

async function missingGrants(client: Client): Promise<MissingGrant[]> {
  const { rows } = await client.query<{ exists: boolean }>(`SELECT to_regclass('dbops.missing_grants') IS NOT NULL AS exists`);
  if (!rows[0].exists) return [];
  const gaps = await client.query<MissingGrant>(
    `SELECT granted_role AS "grantedRole", member, purpose, error FROM dbops.missing_grants ORDER BY granted_role, member`,
  );
  return gaps.rows;
}

/**
 * Waiting runners poll with pg_try_advisory_lock instead of blocking in pg_advisory_lock: a
 * blocked statement is an open transaction, and CREATE INDEX CONCURRENTLY in the lock holder
 * waits for every open transaction to end, so a blocking wait would deadlock the two runners.
 */
async function acquireLock(client: Client, wait: boolean, maxWaitMs: number): Promise<void> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [LOCK_KEY]);
    if (rows[0].locked) return;
    if (!wait || Date.now() >= deadline) throw new MigrationLockedError();
    await sleep(LOCK_POLL_MS);
  }
}

async function record(client: Client, file: MigrationFile, started: number): Promise<void> {
  await client.query('INSERT INTO dbops.schema_migrations (version, checksum, duration_ms) VALUES ($1, $2, $3)', [
    file.name,
    file.checksum,
    Date.now() - started,
  ]);
}

async function applyInTransaction(client: Client, file: MigrationFile, started: number): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(file.sql);
    await record(client, file, started);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

const CONCURRENT_INDEX = /^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?"?([\w$]+)"?\s+ON\s+(?:ONLY\s+)?("?[\w$]+"?(?:\."?[\w$]+"?)?)/i;

/**
 * Files marked no-transaction hold CREATE INDEX CONCURRENTLY, which cannot run in a transaction
 * block. A crash part-way leaves earlier statements applied and possibly an INVALID index, which
 * `IF NOT EXISTS` would then silently keep; so such leftovers named in the file are dropped first,
 * and every statement must be safe to repeat.
 */
async function applyStatementByStatement(client: Client, file: MigrationFile, started: number): Promise<void> {
  const statements = splitSqlStatements(file.sql);
  for (const statement of statements) {
    const index = CONCURRENT_INDEX.exec(withoutLeadingComments(statement));
    if (index) {
      if (!/IF\s+NOT\s+EXISTS/i.test(statement)) {
        throw new Error(`${file.name}: CREATE INDEX CONCURRENTLY must say IF NOT EXISTS so a re-run after a crash is safe`);
      }
      await dropInvalidIndex(client, index[1], index[2]);
    }
    await client.query(statement);
  }
  await record(client, file, started);
}

function withoutLeadingComments(statement: string): string {
  return statement.replace(/^(?:\s*--[^\n]*\n|\s*\/\*[\s\S]*?\*\/)*/, '').trimStart();
}

/** An index lives in its table's schema, so look it up there rather than on the search_path. */
async function dropInvalidIndex(client: Client, indexName: string, tableName: string): Promise<void> {
  const { rows } = await client.query<{ qualified: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS qualified
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT i.indisvalid AND c.relname = $1 AND i.indrelid = to_regclass($2)`,
    [indexName, tableName],
  );
  for (const row of rows) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${row.qualified}`);
}

export interface MigrationStatus {
  name: string;
  applied: boolean;
  appliedAt?: Date;
}

export async function migrationStatus(databaseUrl: string, dir?: string): Promise<MigrationStatus[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const exists = await client.query(`SELECT to_regclass('dbops.schema_migrations') IS NOT NULL AS present`);
    const rows = exists.rows[0].present
      ? (await client.query<{ version: string; applied_at: Date }>('SELECT version, applied_at FROM dbops.schema_migrations')).rows
      : [];
    const appliedAt = new Map(rows.map((row) => [row.version, row.applied_at]));
    return loadMigrationFiles(dir).map((file) => ({ name: file.name, applied: appliedAt.has(file.name), appliedAt: appliedAt.get(file.name) }));
  } finally {
    await client.end();
  }
}
