import type { HealthCheck } from './health';
import { num, Queryable } from './queryable';

/** PostgreSQL stops assigning transaction ids a little before 2^31 of age. */
export const WRAPAROUND_LIMIT = 2 ** 31;

/**
 * Wraparound distance per database that accepts connections, oldest first. The health metric is
 * the first row's age(datfrozenxid) (autovacuum forces a freeze at 200 M by default).
 */
export const DATABASE_XID_AGE_SQL = `
  SELECT datname AS database, age(datfrozenxid)::bigint AS xid_age, mxid_age(datminmxid)::bigint AS multixact_age
    FROM pg_database
   WHERE datallowconn
   ORDER BY age(datfrozenxid) DESC, datname`;

export const OLDEST_TABLES_SQL = `
  SELECT c.oid::regclass::text AS table_name, age(c.relfrozenxid)::bigint AS xid_age
    FROM pg_class c
   WHERE c.relkind IN ('r', 'm', 't') AND c.relfrozenxid <> '0'::xid
   ORDER BY age(c.relfrozenxid) DESC
   LIMIT $1`;

export interface DatabaseXidAge {
  database: string;
  xidAge: number;
  multixactAge: number;
  /** age / 2^31 * 100. */
  percentTowardWraparound: number;
  /** Past autovacuum_freeze_max_age: anti-wraparound autovacuum is (or should be) running. */
  beyondFreezeMaxAge: boolean;
}

export interface TableXidAge {
  table: string;
  xidAge: number;
}

export interface WraparoundReport {
  freezeMaxAge: number;
  databases: DatabaseXidAge[];
  /** Current database's tables with the oldest relfrozenxid: what VACUUM (FREEZE) should start with. */
  oldestTables: TableXidAge[];
}

async function databaseXidAges(db: Queryable): Promise<{ database: string; xidAge: number; multixactAge: number }[]> {
  const rows = await db.query<{ database: string; xid_age: string; multixact_age: string }>(DATABASE_XID_AGE_SQL);
  return rows.map((r) => ({ database: r.database, xidAge: num(r.xid_age), multixactAge: num(r.multixact_age) }));
}

/** age(datfrozenxid) of the oldest database. */
export async function transactionIdAge(db: Queryable): Promise<number> {
  return (await databaseXidAges(db))[0]?.xidAge ?? 0;
}

export async function transactionIdWraparound(db: Queryable, tables = 10): Promise<WraparoundReport> {
  const [settings] = await db.query<{ freeze_max_age: string }>(`SELECT current_setting('autovacuum_freeze_max_age')::bigint AS freeze_max_age`);
  const freezeMaxAge = num(settings.freeze_max_age);
  const databases = await databaseXidAges(db);
  const oldest = await db.query<{ table_name: string; xid_age: string }>(OLDEST_TABLES_SQL, [tables]);
  return {
    freezeMaxAge,
    databases: databases.map((d) => ({
      ...d,
      percentTowardWraparound: (100 * d.xidAge) / WRAPAROUND_LIMIT,
      beyondFreezeMaxAge: d.xidAge > freezeMaxAge,
    })),
    oldestTables: oldest.map((r) => ({ table: r.table_name, xidAge: num(r.xid_age) })),
  };
}

export const transactionIdAgeCheck: HealthCheck<{ transactionIdAge: number }> = {
  name: 'transaction id age',
  run: async (db) => ({ transactionIdAge: await transactionIdAge(db) }),
  metrics: (r) => [['transactionIdAge', r.transactionIdAge]],
  summary: (r) => ({ transactionIdAge: r.transactionIdAge }),
  rows: (r) => [{ check: 'transaction id age', value: String(r.transactionIdAge), detail: 'age(datfrozenxid)' }],
};
