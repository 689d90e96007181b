import { randomBytes } from 'node:crypto';
import { Client, Pool, PoolConfig } from 'pg';
import { MASTER_USER } from './aurora-master';
import { databaseUrl } from './urls';

export interface TestDatabase {
  name: string;
  /**
   * What pool() and query() use. For a database cloned from the template: the emulated Aurora master
   * (NOSUPERUSER CREATEROLE CREATEDB, rds_superuser; test/support/aurora-master.ts), who owns it, so
   * fixtures and tasks meet what Aurora allows. For an empty database: the server's superuser.
   */
  url: string;
  /** The emulated Aurora master on this database. */
  masterUrl: string;
  /** The server's superuser on this database, for the few fixtures Aurora itself would make (extensions). */
  superuserUrl: string;
  /** A pool on this database, made on first use and closed by drop(). */
  pool(): Pool;
  /** A new pool with its own settings; closed by drop(). */
  newPool(config?: PoolConfig): Pool;
  /** Run one statement on a fresh pool connection. */
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.DBOPS_TEST_ADMIN_URL;
  if (!url) throw new Error('DBOPS_TEST_ADMIN_URL is not set: run the tests through jest so the global setup starts PostgreSQL');
  return url;
}

async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function masterDatabaseUrl(name: string): string {
  const url = process.env.DBOPS_TEST_MASTER_URL;
  if (!url) throw new Error('DBOPS_TEST_MASTER_URL is not set: run the tests through jest so the global setup creates the master role');
  return databaseUrl(url, name);
}

function newName(): string {
  const template = process.env.DBOPS_TEST_TEMPLATE ?? 'dbops_template_';
  return `${template.replace('dbops_template_', 'dbops_test_')}_${randomBytes(4).toString('hex')}`;
}

async function open(name: string, asMaster: boolean): Promise<TestDatabase> {
  const superuserUrl = databaseUrl(adminUrl(), name);
  const masterUrl = masterDatabaseUrl(name);
  const url = asMaster ? masterUrl : superuserUrl;
  const pools: Pool[] = [];
  let shared: Pool | undefined;
  const newPool = (config: PoolConfig = {}) => {
    const pool = new Pool({ connectionString: url, max: 5, ...config });
    pool.on('error', () => undefined); // terminated backends in recovery tests are expected
    pools.push(pool);
    return pool;
  };
  return {
    name,
    url,
    masterUrl,
    superuserUrl,
    pool: () => (shared ??= newPool()),
    newPool,
    async query(text, values) {
      const result = await (shared ??= newPool()).query(text, values);
      return result.rows;
    },
    async drop() {
      await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
      await admin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** A fresh database cloned from the migrated template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = newName();
  const template = process.env.DBOPS_TEST_TEMPLATE;
  if (!template) throw new Error('DBOPS_TEST_TEMPLATE is not set: run the tests through jest');
  // Owned by the emulated Aurora master, as the cluster's database is (test/support/aurora-master.ts).
  await admin((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}" OWNER ${MASTER_USER}`));
  return open(name, true);
}

/** A fresh database with nothing migrated, for the migration runner's own tests. */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  const name = newName();
  await admin((client) => client.query(`CREATE DATABASE "${name}"`));
  return open(name, false);
}
