import { AnalyzerError } from './errors';
import type { Queryable } from './queryable';

export interface ResolvedTable {
  oid: string;
  schema: string;
  name: string;
  partitioned: boolean;
}

// Unquoted identifiers only: [schema.]table. Anything else is refused before any SQL runs.
const TABLE_NAME = /^([A-Za-z_][A-Za-z0-9_$]{0,62}\.)?[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** Resolves 'posts' or 'public.posts' (search_path rules) to an ordinary or partitioned table. */
export async function resolveTable(db: Queryable, table: string): Promise<ResolvedTable> {
  if (typeof table !== 'string' || !TABLE_NAME.test(table)) {
    throw new AnalyzerError(`table name must be [schema.]table made of letters, digits and _, got ${JSON.stringify(table)}`);
  }
  const rows = await db.query<{ oid: string; schema: string; name: string; relkind: string }>(
    `SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = to_regclass($1)`,
    [table],
  );
  const found = rows[0];
  if (!found) throw new AnalyzerError(`table "${table}" does not exist`);
  if (found.relkind !== 'r' && found.relkind !== 'p') throw new AnalyzerError(`"${table}" is not a table (relkind ${found.relkind})`);
  return { oid: found.oid, schema: found.schema, name: found.name, partitioned: found.relkind === 'p' };
}
