import { mkdirSync, mkdtempSync, existsSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { removeStaleDataDirs } from '../../benchmark/server';

describe('removeStaleDataDirs', () => {
  let parent: string;
  const hourAgo = (Date.now() - 3_600_000) / 1000;
  const dataDir = (name: string, pid: number | null, old: boolean) => {
    const dir = path.join(parent, `aurora-dbops-bench-${name}`);
    mkdirSync(dir);
    if (pid !== null) writeFileSync(path.join(dir, 'postmaster.pid'), `${pid}\n${dir}\n`);
    if (old) utimesSync(dir, hourAgo, hourAgo);
    return dir;
  };

  beforeEach(() => {
    parent = mkdtempSync(path.join(tmpdir(), 'stale-dirs-'));
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('removes an old data directory whose server is gone, and only that one', () => {
    // A pid past the kernel's pid_max: no process can have it.
    const crashed = dataDir('crashed', 4_194_305, true);
    const stopped = dataDir('stopped', null, true);
    const running = dataDir('running', process.pid, true);
    const starting = dataDir('starting', null, false);
    const other = path.join(parent, 'something-else');
    mkdirSync(other);
    utimesSync(other, hourAgo, hourAgo);

    expect(removeStaleDataDirs(parent).sort()).toEqual([crashed, stopped].sort());
    expect([crashed, stopped, running, starting, other].map(existsSync)).toEqual([false, false, true, true, true]);
  });
});
