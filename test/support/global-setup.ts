import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedServer } from '../../local/embedded-server';
import { migrate } from '../../lambdas/migrate/migrator';
import { emulateAuroraMaster, MASTER_USER, prepareMasterDatabase } from './aurora-master';
import { databaseUrl } from './urls';

/**
 * Once per jest run: a PostgreSQL 17 server (embedded, or the one TEST_DATABASE_URL names) and a
 * migrated template database that every test file clones, so files never share state.
 */
export default async function globalSetup(): Promise<void> {
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'aurora-dbops-test-'));
    const server = await startEmbeddedServer({
      dataDir,
      persistent: false,
      // Durability is not under test; these make CREATE DATABASE and bulk seeding much faster.
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
    (globalThis as Record<string, unknown>).__DBOPS_EMBEDDED__ = server;
    adminUrl = server.url;
    // The benchmark's CPU accounting reads the server's processes through its postmaster.pid.
    process.env.DBOPS_TEST_DATA_DIR = dataDir;
  }
  // Migrations run as Aurora runs them: as a master user that is no superuser and owns the database.
  const masterUrl = await emulateAuroraMaster(adminUrl, { adminOnPgMaintain: true });
  const template = `dbops_template_${process.pid}_${Date.now().toString(36)}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${template} OWNER ${MASTER_USER}`);
  } finally {
    await admin.end();
  }
  await prepareMasterDatabase(databaseUrl(adminUrl, template));
  await migrate({ databaseUrl: databaseUrl(masterUrl, template) });

  process.env.DBOPS_TEST_ADMIN_URL = adminUrl;
  process.env.DBOPS_TEST_MASTER_URL = masterUrl;
  process.env.DBOPS_TEST_TEMPLATE = template;
}
