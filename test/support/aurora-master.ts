import { Client } from 'pg';

/**
 * Aurora's master user is not a superuser: it is NOSUPERUSER CREATEROLE CREATEDB and a member of
 * rds_superuser. This builds that shape on the test server, so every migration (and, through the
 * master URL, every task) runs with what Aurora gives, and superuser assumptions fail here first.
 *
 * What rds_superuser holds, as AWS documents it ("Understanding the rds_superuser role"): it may
 * grant rds_iam, rds_replication and rds_password (ADMIN OPTION), sees every session in
 * pg_stat_activity and may cancel or terminate them (pg_monitor, pg_signal_backend), creates the
 * extensions Aurora supports, and may set session_replication_role. Since PostgreSQL 16 granting a
 * role needs ADMIN OPTION on it; AWS documents that for the rds_* roles but not for pg_maintain, so
 * that one is a switch (`adminOnPgMaintain`): migration 090 records the grant when it is refused.
 */
export const MASTER_USER = 'dbops_admin';
export const MASTER_PASSWORD = 'dbops-admin-test';

export interface AuroraMasterOptions {
  /** Whether rds_superuser may grant pg_maintain (undocumented on Aurora). */
  adminOnPgMaintain: boolean;
}

export async function emulateAuroraMaster(adminUrl: string, options: AuroraMasterOptions, role = MASTER_USER, superuserRole = 'rds_superuser'): Promise<string> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const createIfMissing = async (name: string, attributes: string) => {
      const { rows } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
      if (rows.length === 0) await client.query(`CREATE ROLE ${name} ${attributes}`);
    };
    for (const name of ['rds_iam', 'rds_replication', 'rds_password']) await createIfMissing(name, 'NOLOGIN');
    await createIfMissing(superuserRole, 'NOLOGIN');
    await client.query(`GRANT rds_iam, rds_replication, rds_password TO ${superuserRole} WITH ADMIN OPTION`);
    await client.query(`GRANT pg_monitor, pg_signal_backend TO ${superuserRole} WITH ADMIN OPTION`);
    if (options.adminOnPgMaintain) await client.query(`GRANT pg_maintain TO ${superuserRole} WITH ADMIN OPTION`);
    await client.query(`GRANT SET ON PARAMETER session_replication_role TO ${superuserRole}`);
    await createIfMissing(role, `LOGIN NOSUPERUSER CREATEROLE CREATEDB INHERIT PASSWORD '${MASTER_PASSWORD}'`);
    await client.query(`GRANT ${superuserRole} TO ${role}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.username = role;
  url.password = MASTER_PASSWORD;
  return url.toString();
}

/**
 * What Aurora lets the master do in a database it owns but plain PostgreSQL keeps for superusers:
 * create pg_stat_statements (not a trusted extension) and reset its counters.
 */
export async function prepareMasterDatabase(adminDatabaseUrl: string, superuserRole = 'rds_superuser'): Promise<void> {
  const client = new Client({ connectionString: adminDatabaseUrl });
  await client.connect();
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await client.query(`GRANT EXECUTE ON FUNCTION pg_stat_statements_reset(oid, oid, bigint, boolean) TO ${superuserRole}`);
  } finally {
    await client.end();
  }
}
