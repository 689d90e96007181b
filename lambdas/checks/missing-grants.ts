import type { HealthCheck } from './health';
import type { Queryable } from './queryable';

/**
 * Role grants the migrations were refused (dbops.missing_grants, migration 090): on Aurora the
 * master may not hold ADMIN OPTION on every predefined role, and a refused grant does not fail the
 * deploy. Undefined before 090 is applied.
 */
export interface MissingGrant {
  grantedRole: string;
  member: string;
  purpose: string;
}

export async function missingGrants(db: Queryable): Promise<MissingGrant[] | undefined> {
  const [installed] = await db.query<{ present: boolean }>(`SELECT to_regclass('dbops.missing_grants') IS NOT NULL AS present`);
  if (!installed?.present) return undefined;
  const rows = await db.query<{ granted_role: string; member: string; purpose: string }>(
    `SELECT granted_role, member, purpose FROM dbops.missing_grants ORDER BY granted_role, member`,
  );
  return rows.map((r) => ({ grantedRole: r.granted_role, member: r.member, purpose: r.purpose }));
}

const described = (grants: MissingGrant[]) => grants.map((g) => `${g.grantedRole} to ${g.member}`);

export const missingGrantsCheck: HealthCheck<{ missingGrants?: MissingGrant[] }> = {
  name: 'missing grants',
  run: async (db) => ({ missingGrants: await missingGrants(db) }),
  metrics: (r) => (r.missingGrants ? [['missingGrantCount', r.missingGrants.length]] : []),
  summary: (r) => ({ missingGrants: r.missingGrants ? described(r.missingGrants) : 'dbops.missing_grants not installed' }),
  rows: (r) =>
    r.missingGrants ? [{ check: 'missing grants', value: String(r.missingGrants.length), detail: described(r.missingGrants).join(', ') || '-' }] : [],
};
