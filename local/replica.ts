import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { BASE_SETTINGS, EMBEDDED_PASSWORD, EMBEDDED_USER, ensureBinariesReachable, freePort } from './embedded-server';
import { STANDBY_LAG_SQL } from '../platform-db/reader-lag';
import { chownTree, initdb, PostgresProcess, ShutdownMode } from './postgres-process';

/**
 * A primary and a hot-standby streaming replica on loopback, from the embedded PostgreSQL
 * binaries alone (the package ships no pg_basebackup). The standby is made the way a base backup
 * is made by hand: pg_backup_start(), a file copy of the running primary's data directory,
 * pg_backup_stop(), whose label file becomes the copy's backup_label. A physical replication slot
 * keeps the WAL the standby still needs while it is stopped or paused.
 */
export interface ReplicatedClusterOptions {
  /** Parent directory of both data directories; a new temporary one when unset. Removed by destroy(). */
  baseDir?: string;
  /** Extra settings for both servers (e.g. fsync=off in tests). */
  settings?: Record<string, string | number>;
  onLog?: (message: string) => void;
}

export interface LagReading {
  /** The primary's walsender for this standby reports state 'streaming'. */
  streaming: boolean;
  /** WAL the standby has not replayed yet, from the primary's pg_stat_replication (null when not connected). */
  replayLagBytes: number | null;
  /** Milliseconds since the last replayed commit, 0 when everything received is replayed (standby-side). */
  replayDelayMs: number;
  paused: boolean;
}

export interface ReplicatedCluster {
  primaryPort: number;
  replicaPort: number;
  primaryUrl(database?: string): string;
  replicaUrl(database?: string): string;
  startPrimary(): Promise<void>;
  stopPrimary(mode?: ShutdownMode): Promise<void>;
  startReplica(): Promise<void>;
  stopReplica(mode?: ShutdownMode): Promise<void>;
  isPrimaryRunning(): boolean;
  isReplicaRunning(): boolean;
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  lag(): Promise<LagReading>;
  /** Resolves once the standby has replayed everything the primary had inserted into WAL when called (async commits included). */
  waitForCatchUp(timeoutMs?: number): Promise<void>;
  /** Stops both servers and removes their data. */
  destroy(): Promise<void>;
}

export const SLOT_NAME = 'dbops_replica';
const APPLICATION_NAME = 'dbops_replica';

function urlFor(port: number, database = 'postgres'): string {
  return `postgresql://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

/** What pg_basebackup leaves out: runtime state the standby must rebuild, and WAL it streams instead. */
const SKIP_FILES = new Set(['postmaster.pid', 'postmaster.opts', 'backup_label', 'tablespace_map', 'current_logfiles']);
const EMPTY_DIRS = new Set(['pg_wal', 'pg_replslot', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_stat_tmp', 'pg_subtrans']);

/** Copies a live data directory; files that vanish mid-copy (temp files, recycled segments) are skipped. */
async function copyDataDir(from: string, to: string, top = true): Promise<void> {
  await mkdir(to, { recursive: true, mode: 0o700 });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (top && SKIP_FILES.has(entry.name)) continue;
    if (entry.name.startsWith('pgsql_tmp')) continue;
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      if (top && EMPTY_DIRS.has(entry.name)) {
        await mkdir(target, { mode: 0o700 });
        if (entry.name === 'pg_wal') await mkdir(path.join(target, 'archive_status'), { mode: 0o700 });
        continue;
      }
      await copyDataDir(source, target, false);
    } else {
      try {
        await copyFile(source, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function ensureReplicationAllowed(dataDir: string): Promise<void> {
  const hba = path.join(dataDir, 'pg_hba.conf');
  const text = await readFile(hba, 'utf8');
  if (/^\s*host\s+replication\s+all\s+127\.0\.0\.1\/32/m.test(text)) return;
  await writeFile(hba, `${text}\nhost replication all 127.0.0.1/32 scram-sha-256\n`);
}

export async function startReplicatedCluster(options: ReplicatedClusterOptions = {}): Promise<ReplicatedCluster> {
  const log = options.onLog ?? (() => undefined);
  const baseDir = options.baseDir ?? (await mkdtemp(path.join(tmpdir(), 'aurora-dbops-replica-')));
  await mkdir(baseDir, { recursive: true });
  // The servers' OS user (postgres, when we are root) makes its data directories in here.
  await chownTree(baseDir);
  const primaryDir = path.join(baseDir, 'primary');
  const replicaDir = path.join(baseDir, 'replica');
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const shared = {
    ...BASE_SETTINGS,
    wal_level: 'replica',
    max_wal_senders: 5,
    max_replication_slots: 5,
    // Vacuum on the primary must not cancel reads on the standby (snapshot conflicts).
    hot_standby_feedback: 'on',
    ...options.settings,
  };
  const primary = new PostgresProcess({ dataDir: primaryDir, port: primaryPort, settings: shared, onLog: (m) => log(`[primary] ${m}`) });
  const replica = new PostgresProcess({
    dataDir: replicaDir,
    port: replicaPort,
    settings: {
      ...shared,
      hot_standby: 'on',
      primary_conninfo: `host=127.0.0.1 port=${primaryPort} user=${EMBEDDED_USER} password=${EMBEDDED_PASSWORD} application_name=${APPLICATION_NAME}`,
      primary_slot_name: SLOT_NAME,
      // Reconnect soon after the primary restarts (default 5 s).
      wal_retrieve_retry_interval: '500ms',
    },
    onLog: (m) => log(`[replica] ${m}`),
  });

  const destroy = async () => {
    await replica.stop('fast').catch(() => undefined);
    await primary.stop('fast').catch(() => undefined);
    await rm(baseDir, { recursive: true, force: true });
  };

  try {
    await ensureBinariesReachable(log);
    await initdb(primaryDir, EMBEDDED_USER, EMBEDDED_PASSWORD);
    await ensureReplicationAllowed(primaryDir);
    await primary.start();
    await withClient(urlFor(primaryPort), async (client) => {
      await client.query('SELECT pg_create_physical_replication_slot($1, true)', [SLOT_NAME]);
      // Non-exclusive backup: it lasts as long as this session, so start and stop share it.
      await client.query(`SELECT pg_backup_start('dbops-replica', true)`);
      await copyDataDir(primaryDir, replicaDir);
      const { rows } = await client.query<{ labelfile: string; spcmapfile: string | null }>('SELECT labelfile, spcmapfile FROM pg_backup_stop(true)');
      await writeFile(path.join(replicaDir, 'backup_label'), rows[0].labelfile);
      if (rows[0].spcmapfile) await writeFile(path.join(replicaDir, 'tablespace_map'), rows[0].spcmapfile);
    });
    await writeFile(path.join(replicaDir, 'standby.signal'), '');
    await chownTree(replicaDir);
    await replica.start();
  } catch (error) {
    await destroy();
    throw error;
  }

  const lag = async (): Promise<LagReading> => {
    const fromPrimary = primary.running
      ? await withClient(urlFor(primaryPort), async (c) => {
          const { rows } = await c.query<{ state: string; bytes: string | null }>(
            `SELECT state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint::text AS bytes FROM pg_stat_replication WHERE application_name = $1`,
            [APPLICATION_NAME],
          );
          return rows[0];
        })
      : undefined;
    const fromReplica = await withClient(urlFor(replicaPort), async (c) => {
      const { rows } = await c.query<{ delay_ms: number; paused: boolean }>(
        `SELECT (${STANDBY_LAG_SQL}) AS delay_ms, pg_is_wal_replay_paused() AS paused`,
      );
      return rows[0];
    });
    return {
      streaming: fromPrimary?.state === 'streaming',
      replayLagBytes: fromPrimary?.bytes == null ? null : Number(fromPrimary.bytes),
      replayDelayMs: Number(fromReplica.delay_ms),
      paused: fromReplica.paused,
    };
  };

  return {
    primaryPort,
    replicaPort,
    primaryUrl: (database) => urlFor(primaryPort, database),
    replicaUrl: (database) => urlFor(replicaPort, database),
    startPrimary: () => primary.start(),
    stopPrimary: (mode = 'fast') => primary.stop(mode),
    startReplica: () => replica.start(),
    stopReplica: (mode = 'fast') => replica.stop(mode),
    isPrimaryRunning: () => primary.running,
    isReplicaRunning: () => replica.running,
    pauseReplay: () => withClient(urlFor(replicaPort), async (c) => void (await c.query('SELECT pg_wal_replay_pause()'))),
    resumeReplay: () => withClient(urlFor(replicaPort), async (c) => void (await c.query('SELECT pg_wal_replay_resume()'))),
    lag,
    async waitForCatchUp(timeoutMs = 30_000) {
      const target = await withClient(urlFor(primaryPort), async (c) => (await c.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0].lsn);
      const deadline = Date.now() + timeoutMs;
      await withClient(urlFor(replicaPort), async (c) => {
        for (;;) {
          const { rows } = await c.query<{ done: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [target]);
          if (rows[0].done) return;
          if (Date.now() > deadline) throw new Error(`the replica did not replay up to ${target} within ${timeoutMs} ms`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      });
    },
    destroy,
  };
}
