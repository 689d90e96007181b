import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { cpuWindow, serverCpuSeconds } from '../../benchmark/cpu';

/** The benchmark's CPU accounting against the test server's own processes. */
describe('server CPU from /proc', () => {
  const dataDir = process.env.DBOPS_TEST_DATA_DIR;
  const embedded = dataDir ? it : it.skip;

  it('is undefined where no server runs (no postmaster.pid)', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'dbops-cpu-'));
    try {
      expect(serverCpuSeconds(empty)).toBeUndefined();
      expect(serverCpuSeconds(path.join(empty, 'missing'))).toBeUndefined();
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  embedded('counts a session\'s work while it runs and after it has ended', async () => {
    const before = serverCpuSeconds(dataDir!)!;
    expect(before).toBeGreaterThan(0);
    const window = cpuWindow(dataDir);
    const client = new Client({ connectionString: process.env.DBOPS_TEST_ADMIN_URL });
    await client.connect();
    // A fraction of a second of one backend's CPU, and nothing for this process to do meanwhile.
    await client.query('SELECT count(*) FROM generate_series(1, 5000000)');
    const live = serverCpuSeconds(dataDir!)!;
    await client.end();
    const split = (await window.stop())!;
    expect(live - before).toBeGreaterThan(0.05);
    // The session has exited: its time stayed in the sum (the postmaster's children's time).
    expect(serverCpuSeconds(dataDir!)!).toBeGreaterThanOrEqual(live);
    expect(split.serverSeconds).toBeGreaterThan(0.05);
    expect(split.clientSeconds).toBeLessThan(split.serverSeconds);
  });
});
