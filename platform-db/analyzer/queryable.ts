import type { QueryResultRow } from 'pg';

/** A pg Pool, PoolClient or Client: anything that runs one parameterized statement. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/** pg returns bigint and numeric as strings; the analyzer reports numbers (exact up to 2^53). */
export function num(value: unknown): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : Number(value);
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
