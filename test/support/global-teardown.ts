import { Client } from 'pg';
import type { EmbeddedServer } from '../../local/embedded-server';

export default async function globalTeardown(): Promise<void> {
  const adminUrl = process.env.DBOPS_TEST_ADMIN_URL;
  const template = process.env.DBOPS_TEST_TEMPLATE;
  const server = (globalThis as Record<string, unknown>).__DBOPS_EMBEDDED__ as EmbeddedServer | undefined;
  if (server) {
    await server.stop();
    return;
  }
  // A shared server (TEST_DATABASE_URL): leave it as we found it.
  if (!adminUrl || !template) return;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2`,
      [template, `${template.replace('dbops_template_', 'dbops_test_')}%`],
    );
    for (const row of rows) await admin.query(`DROP DATABASE IF EXISTS "${row.datname}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
