import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { PgExecutor } from '../../../lambdas/db/pg-executor';
import { migrate } from '../../../lambdas/migrate/migrator';
import { MemorySink } from '../../../lambdas/metrics/sink';
import { runTask } from '../../../lambdas/tasks/runner';
import { TASK_NAMES } from '../../../lambdas/tasks/types';
import { MASTER_USER, emulateAuroraMaster } from '../../support/aurora-master';
import { TestDatabase, createTestDatabase } from '../../support/database';

/**
 * The migrations and the tasks as Aurora runs them: the master user is NOSUPERUSER CREATEROLE
 * CREATEDB and a member of rds_superuser (test/support/aurora-master.ts). A grant the master may
 * not make (pg_maintain without ADMIN OPTION) is recorded, reported by the migrator and published
 * by health-check, and the run goes on.
 */
describe('as the Aurora master user', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  async function asUrl<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  it('migrated the schema without being a superuser, and owns it', async () => {
    const [master] = await db.query(`SELECT rolsuper, rolcreaterole, rolcreatedb, pg_has_role(rolname, 'rds_superuser', 'MEMBER') AS rds_superuser FROM pg_roles WHERE rolname = $1`, [MASTER_USER]);
    expect(master).toEqual({ rolsuper: false, rolcreaterole: true, rolcreatedb: true, rds_superuser: true });
    const owners = await db.query<{ owner: string }>(
      `SELECT DISTINCT pg_get_userbyid(c.relowner) AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('public', 'dbops') AND c.relkind IN ('r', 'p', 'm', 'v')
          -- pg_stat_statements' views come with the extension, which Aurora creates for the master.
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`,
    );
    expect(owners).toEqual([{ owner: MASTER_USER }]);
    const [database] = await db.query(`SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database()`);
    expect(database).toEqual({ owner: MASTER_USER });
    // Every migration, 060's grants and 065's role included, went through; nothing was refused.
    const [applied] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM dbops.schema_migrations`);
    expect(applied.n).toBeGreaterThanOrEqual(11);
    expect(await db.query(`SELECT granted_role FROM dbops.missing_grants`)).toEqual([]);
  });

  it.each(TASK_NAMES)('runs %s', async (task) => {
    const executor = new PgExecutor(db.newPool({ connectionString: db.masterUrl, max: 3 }), false);
    const result = await runTask(
      { task, ...(task === 'reindex' ? { all: true } : {}) },
      { executor, sink: new MemorySink(), settings: { environment: 'test', lockTimeoutMs: 2000 }, log: () => undefined },
    );
    expect({ task, status: result.status, error: result.error, failures: result.failures }).toEqual({ task, status: 'succeeded', error: undefined, failures: [] });
  });

  it('records a role grant it may not make, reports it after a migration run, publishes it, and clears it once granted', async () => {
    // A master whose rds_superuser lacks ADMIN OPTION on pg_maintain: what AWS does not document.
    const strictUrl = new URL(await emulateAuroraMaster(process.env.DBOPS_TEST_ADMIN_URL!, { adminOnPgMaintain: false }, 'dbops_admin_strict', 'rds_superuser_strict'));
    strictUrl.pathname = `/${db.name}`;
    const member = `grant_probe_${randomBytes(3).toString('hex')}`;
    await db.query(`CREATE ROLE ${member} NOLOGIN`);
    // Only so this second master may use the recording function and table the first one owns.
    await db.query(`GRANT USAGE ON SCHEMA dbops TO dbops_admin_strict;
                    GRANT EXECUTE ON FUNCTION dbops.grant_role_or_record(name, name, text) TO dbops_admin_strict;
                    GRANT SELECT, INSERT, UPDATE, DELETE ON dbops.missing_grants TO dbops_admin_strict`);

    const granted = await asUrl(strictUrl.toString(), (c) => c.query(`SELECT dbops.grant_role_or_record('pg_maintain', $1, 'VACUUM without owning')`, [member]));
    expect(granted.rows[0].grant_role_or_record).toBe(false);
    const [row] = await db.query(`SELECT granted_role, member, error FROM dbops.missing_grants WHERE member = $1`, [member]);
    expect(row).toEqual({ granted_role: 'pg_maintain', member, error: expect.stringMatching(/permission denied to grant role "pg_maintain"/) });
    expect(await db.query(`SELECT pg_has_role($1, 'pg_maintain', 'MEMBER') AS member`, [member])).toEqual([{ member: false }]);

    // The migration runner says so (and does not fail); health-check publishes the count.
    const migrated = await migrate({ databaseUrl: db.masterUrl });
    expect(migrated.applied).toEqual([]);
    expect(migrated.missingGrants).toEqual([{ grantedRole: 'pg_maintain', member, purpose: 'VACUUM without owning', error: expect.any(String) }]);
    const sink = new MemorySink();
    const health = await runTask(
      { task: 'health-check' },
      { executor: new PgExecutor(db.newPool({ connectionString: db.masterUrl, max: 2 }), false), sink, settings: { environment: 'test', lockTimeoutMs: 2000 }, log: () => undefined },
    );
    expect(health.status).toBe('succeeded');
    expect(health.summary.missingGrants).toEqual([`pg_maintain to ${member}`]);
    expect(sink.data.filter((d) => d.metric.name === 'MissingGrants').map((d) => d.value)).toEqual([1]);

    // Someone who may grant it does; the next attempt finds it in place and clears the record.
    await db.query(`GRANT pg_maintain TO ${member}`);
    const again = await asUrl(strictUrl.toString(), (c) => c.query(`SELECT dbops.grant_role_or_record('pg_maintain', $1, 'VACUUM without owning')`, [member]));
    expect(again.rows[0].grant_role_or_record).toBe(true);
    expect(await db.query(`SELECT member FROM dbops.missing_grants`)).toEqual([]);
    expect((await migrate({ databaseUrl: db.masterUrl })).missingGrants).toEqual([]);
    await db.query(`DROP ROLE ${member}`);
  });
});
