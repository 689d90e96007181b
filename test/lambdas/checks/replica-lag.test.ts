import { Client } from 'pg';
import { DEFAULT_HEALTH_OPTIONS, toData } from '../../../lambdas/checks/health';
import type { Queryable } from '../../../lambdas/checks/queryable';
import { replicaLag, replicaLagCheck } from '../../../lambdas/checks/replica-lag';
import { ReplicatedCluster, startReplicatedCluster } from '../../../local/replica';

/** The replica-lag check on a real primary and its streaming standby, and on Aurora's function shape. */
describe('replica lag check', () => {
  let cluster: ReplicatedCluster;
  const clients: Client[] = [];
  const connect = async (url: string): Promise<Queryable & { client: Client }> => {
    const client = new Client({ connectionString: url });
    client.on('error', () => undefined);
    await client.connect();
    clients.push(client);
    return { client, query: async <R,>(text: string, params?: readonly unknown[]) => (await client.query(text, params as unknown[])).rows as R[] };
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(async () => {
    cluster = await startReplicatedCluster({ settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
    const primary = await connect(cluster.primaryUrl());
    await primary.query('CREATE TABLE ticks (id serial PRIMARY KEY, at timestamptz DEFAULT now())');
    await cluster.waitForCatchUp();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await cluster?.destroy();
  });

  it('on the primary: one streaming standby, no lag once caught up; lag in ms and bytes while replay is paused', async () => {
    const primary = await connect(cluster.primaryUrl());
    await primary.query('INSERT INTO ticks DEFAULT VALUES');
    await cluster.waitForCatchUp();
    const caughtUp = await replicaLag(primary);
    expect(caughtUp).toMatchObject({ source: 'pg_stat_replication', replicas: 1, maxLagBytes: 0 });
    expect(caughtUp.maxLagMs).toBe(0);

    await cluster.pauseReplay();
    try {
      for (let i = 0; i < 4; i++) {
        await primary.query('INSERT INTO ticks DEFAULT VALUES');
        await sleep(150);
      }
      const behind = await replicaLag(primary);
      expect(behind.replicas).toBe(1);
      expect(behind.maxLagBytes).toBeGreaterThan(0);
      expect(behind.maxLagMs).toBeGreaterThan(300);
      expect(toData(replicaLagCheck.metrics!({ replicaLag: behind }, DEFAULT_HEALTH_OPTIONS)).find((d) => d.metric.name === 'ReplicaLagMaximum')?.value).toBe(behind.maxLagMs);
    } finally {
      await cluster.resumeReplay();
    }
    await cluster.waitForCatchUp();
    expect((await replicaLag(primary)).maxLagBytes).toBe(0);
  });

  it('on the standby: its own replay delay, which grows while paused and is 0 once replayed', async () => {
    const primary = await connect(cluster.primaryUrl());
    const standby = await connect(cluster.replicaUrl());
    await primary.query('INSERT INTO ticks DEFAULT VALUES');
    await cluster.waitForCatchUp();
    expect(await replicaLag(standby)).toEqual({ source: 'standby', maxLagMs: 0, replicas: 1 });

    await cluster.pauseReplay();
    try {
      await primary.query('INSERT INTO ticks DEFAULT VALUES');
      await sleep(400);
      await primary.query('INSERT INTO ticks DEFAULT VALUES');
      const first = (await replicaLag(standby)).maxLagMs!;
      await sleep(300);
      const second = (await replicaLag(standby)).maxLagMs!;
      expect(first).toBeGreaterThan(0);
      expect(second).toBeGreaterThan(first);
    } finally {
      await cluster.resumeReplay();
    }
    await cluster.waitForCatchUp();
    expect((await replicaLag(standby)).maxLagMs).toBe(0);
  });

  it("on Aurora: aurora_replica_status()'s readers, the writer's own row left out", async () => {
    const admin = await connect(cluster.primaryUrl());
    await admin.query('CREATE DATABASE aurora_shape');
    try {
      const aurora = await connect(cluster.primaryUrl('aurora_shape'));
      // The documented columns this check reads, with a writer row and two readers.
      await aurora.query(`
        CREATE FUNCTION public.aurora_replica_status() RETURNS TABLE (server_id text, session_id text, replica_lag_in_msec real)
        LANGUAGE sql AS $$ VALUES ('writer-1', 'MASTER_SESSION_ID', NULL::real), ('reader-1', 'b6e1c3f0-uuid', 12::real), ('reader-2', 'c7f2d4a1-uuid', 31::real) $$`);
      expect(await replicaLag(aurora)).toEqual({ source: 'aurora', maxLagMs: 31, replicas: 2 });
      await aurora.client.end();
    } finally {
      await admin.query('DROP DATABASE aurora_shape WITH (FORCE)');
    }
  });
});
