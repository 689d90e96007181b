import type { QueryResultRow } from 'pg';

export type Row = Record<string, unknown>;
/** A row read as node-postgres types it: columns of any type (the check converts each). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PgRow = Record<string, any>;

/**
 * What every check needs: one parameterized statement, its rows. The runtime executor's Queryable
 * (lambdas/db/executor.ts) satisfies it as it is; a pg Pool, PoolClient or Client through fromPg().
 */
export interface Queryable {
  query<R extends Row = Row>(text: string, params?: readonly unknown[]): Promise<R[]>;
}

/** What node-postgres offers: a Pool, PoolClient or Client. */
export interface PgQueryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

export function fromPg(pg: PgQueryable): Queryable {
  return { query: async <R extends Row = Row>(text: string, params?: readonly unknown[]) => (await pg.query(text, params ? [...params] : undefined)).rows as R[] };
}

/** pg returns bigint and numeric as strings; checks report numbers (exact up to 2^53). */
export function num(value: unknown): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : Number(value);
}

export function nullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
