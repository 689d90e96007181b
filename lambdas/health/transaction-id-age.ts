import type { Queryable } from '../db/executor';

/** Wraparound distance: age(datfrozenxid) of the oldest database (autovacuum forces a freeze at 200 M by default). */
export const TRANSACTION_ID_AGE_SQL = `SELECT max(age(datfrozenxid))::bigint AS age FROM pg_database WHERE datallowconn`;

export async function transactionIdAge(db: Queryable): Promise<number> {
  const [row] = await db.query<{ age: string }>(TRANSACTION_ID_AGE_SQL);
  return Number(row.age);
}
