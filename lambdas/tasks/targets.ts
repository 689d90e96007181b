import type { Queryable } from '../db/executor';
import { OptionSchema, ValidationError } from './options';
import { qualify } from './shared';

/**
 * What an option that names a database object must name. Checked against the catalog before the
 * task takes its lock or does any work, so an operator's typo is refused by name (a validation
 * error: no TaskFailure, no retry, no dead-letter queue) instead of reading as a run that did nothing.
 */
export type TargetKind =
  /** An index (plain or partitioned). */
  | 'index'
  /** Something VACUUM and ANALYZE accept: a table, a partitioned table or a materialized view. */
  | 'table'
  /** A partitioned table listed in dbops.partitioned_tables. */
  | 'managed-partitioned-table'
  /** A relation listed in dbops.materialized_views: a materialized view, or an incrementally kept analytics table. */
  | 'managed-materialized-view';

const KINDS: Record<TargetKind, { relkinds: string[]; noun: string; registry?: { table: string; column: string } }> = {
  index: { relkinds: ['i', 'I'], noun: 'index' },
  table: { relkinds: ['r', 'p', 'm'], noun: 'table' },
  'managed-partitioned-table': { relkinds: ['p'], noun: 'partitioned table', registry: { table: 'dbops.partitioned_tables', column: 'table_name' } },
  'managed-materialized-view': { relkinds: ['m', 'r', 'p'], noun: 'materialized view', registry: { table: 'dbops.materialized_views', column: 'view_name' } },
};

const RELKIND_NAMES: Record<string, string> = {
  r: 'a table', p: 'a partitioned table', m: 'a materialized view', v: 'a view', i: 'an index', I: 'a partitioned index',
  S: 'a sequence', c: 'a composite type', f: 'a foreign table', t: 'a TOAST table',
};

/** Throws ValidationError naming the option and its value when a named object is missing, of the wrong kind, or unmanaged. */
export async function checkTargets(db: Queryable, task: string, schema: OptionSchema, options: Record<string, unknown>): Promise<void> {
  for (const [name, spec] of Object.entries(schema)) {
    if (spec.type !== 'string' || !spec.target || typeof options[name] !== 'string') continue;
    const value = options[name] as string;
    const kind = KINDS[spec.target];
    const where = `task ${task}: option ${name}=${value}`;
    const qualified = qualify(value);
    const [found] = await db.query<{ relkind: string | null }>(
      `SELECT c.relkind::text AS relkind FROM pg_catalog.pg_class c WHERE c.oid = to_regclass($1)`,
      [qualified],
    );
    if (!found) throw new ValidationError(`${where}: no ${kind.noun} ${qualified} exists`);
    if (!kind.relkinds.includes(found.relkind ?? '')) {
      throw new ValidationError(`${where}: ${qualified} is ${RELKIND_NAMES[found.relkind ?? ''] ?? `of relkind ${found.relkind}`}, not ${kind.noun === 'index' ? 'an' : 'a'} ${kind.noun}`);
    }
    if (kind.registry) {
      const listed = await db.query(`SELECT 1 FROM ${kind.registry.table} WHERE ${kind.registry.column} = $1`, [qualified]);
      if (listed.length === 0) throw new ValidationError(`${where}: ${qualified} is not managed (not listed in ${kind.registry.table})`);
    }
  }
}
