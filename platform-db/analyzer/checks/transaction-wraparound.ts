import { num, Queryable } from '../queryable';

/** PostgreSQL stops assigning transaction ids a little before 2^31 of age. */
export const WRAPAROUND_LIMIT = 2 ** 31;

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

export async function transactionIdWraparound(db: Queryable, tables = 10): Promise<WraparoundReport> {
  const settings = await db.query(`SELECT current_setting('autovacuum_freeze_max_age')::bigint AS freeze_max_age`);
  const freezeMaxAge = num(settings.rows[0].freeze_max_age);
  const databases = await db.query(
    `SELECT datname AS database, age(datfrozenxid) AS xid_age, mxid_age(datminmxid) AS multixact_age
       FROM pg_database
      WHERE datallowconn
      ORDER BY age(datfrozenxid) DESC`,
  );
  const oldest = await db.query(
    `SELECT c.oid::regclass::text AS table_name, age(c.relfrozenxid) AS xid_age
       FROM pg_class c
      WHERE c.relkind IN ('r', 'm', 't') AND c.relfrozenxid <> '0'::xid
      ORDER BY age(c.relfrozenxid) DESC
      LIMIT $1`,
    [tables],
  );
  return {
    freezeMaxAge,
    databases: databases.rows.map((r) => ({
      database: r.database,
      xidAge: num(r.xid_age),
      multixactAge: num(r.multixact_age),
      percentTowardWraparound: (100 * num(r.xid_age)) / WRAPAROUND_LIMIT,
      beyondFreezeMaxAge: num(r.xid_age) > freezeMaxAge,
    })),
    oldestTables: oldest.rows.map((r) => ({ table: r.table_name, xidAge: num(r.xid_age) })),
  };
}
