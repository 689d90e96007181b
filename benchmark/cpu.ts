import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';

/**
 * Where a run's CPU went: the server's sessions or the client driving them. On the benchmark box
 * both share 2 cores; in production the publishers run elsewhere (Lambda, containers), so the
 * server's CPU per post is what sizes the database instance for a target rate.
 */
export interface CpuSplit {
  /** CPU seconds of the server's processes in the window: the run's sessions and what they set off (WAL writer, autovacuum). */
  serverSeconds: number;
  /** CPU seconds of the process that ran the workers. */
  clientSeconds: number;
  /** The window's wall time. */
  wallSeconds: number;
  /**
   * Busy CPU seconds of the whole box (every core, every process) in the window: server and client
   * together cannot exceed it, and cores x wall seconds minus it is what sat idle.
   */
  machineSeconds: number;
}

/** Clock ticks per second of /proc/<pid>/stat on Linux (USER_HZ). */
const USER_HZ = 100;

/** Fields of /proc/<pid>/stat after the command name, which may hold spaces: [0] is the state (field 3). */
function statFields(pid: string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * CPU seconds of a PostgreSQL server: its postmaster, every live child (sessions, background
 * processes) and the children that have exited (a backend's time moves to the postmaster's
 * cutime/cstime when it is reaped), from /proc. A session that lives across the window counts
 * only what it used inside it. undefined when the server is not a local process whose /proc
 * entries can be read.
 */
export function serverCpuSeconds(dataDir: string): number | undefined {
  try {
    const postmaster = readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0].trim();
    const own = statFields(postmaster);
    // utime, stime, cutime, cstime: fields 14-17, i.e. [11]-[14] here; the parent pid is field 4, [1].
    let ticks = own.slice(11, 15).reduce((sum, f) => sum + Number(f), 0);
    for (const entry of readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(entry) || entry === postmaster) continue;
      let fields: string[];
      try {
        fields = statFields(entry);
      } catch {
        continue; // it exited while the directory was read
      }
      if (fields[1] === postmaster) ticks += Number(fields[11]) + Number(fields[12]);
    }
    return Number.isFinite(ticks) ? ticks / USER_HZ : undefined;
  } catch {
    return undefined;
  }
}

/** This process's CPU seconds (user and system). */
export function processCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Busy CPU seconds of every core of the box since boot (user, nice, system, irq; not idle or iowait). */
export function machineBusySeconds(): number {
  return cpus().reduce((sum, c) => sum + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0) / 1000;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a window; stop() returns the split, or undefined when the server's CPU cannot be read.
 * clientSeconds: the caller's own process unless the workers ran elsewhere and reported theirs.
 */
export function cpuWindow(dataDir: string | undefined) {
  const serverCpu = () => (dataDir === undefined ? undefined : serverCpuSeconds(dataDir));
  const server0 = serverCpu();
  const client0 = processCpuSeconds();
  const machine0 = machineBusySeconds();
  const started = Date.now();
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    async stop(workersCpuSeconds?: number): Promise<CpuSplit | undefined> {
      const client = workersCpuSeconds ?? processCpuSeconds() - client0;
      const wall = (Date.now() - started) / 1000;
      const machine = machineBusySeconds() - machine0;
      // A session that just closed may not be reaped yet: its time is then in neither sum.
      await sleep(300);
      const server1 = serverCpu();
      if (server0 === undefined || server1 === undefined) return undefined;
      return { serverSeconds: round(server1 - server0), clientSeconds: round(client), wallSeconds: round(wall), machineSeconds: round(machine) };
    },
  };
}
