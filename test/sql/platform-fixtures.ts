import { TestDatabase } from '../support/database';

/** The error Postgres raised for a statement, or undefined when it succeeded. */
export async function pgError(db: TestDatabase, text: string, values?: unknown[]): Promise<{ code?: string; constraint?: string; message: string } | undefined> {
  try {
    await db.query(text, values);
    return undefined;
  } catch (error) {
    const { code, constraint, message } = error as { code?: string; constraint?: string; message: string };
    return { code, constraint, message };
  }
}

export async function insertId(db: TestDatabase, text: string, values?: unknown[]): Promise<number> {
  const [row] = await db.query<{ id: string }>(text, values);
  return Number(row.id);
}

export interface Tenant {
  workspaceId: number;
  userId: number;
  accountId: number;
}

/** A workspace with one owner and one connected account; `tag` keeps unique columns unique. */
export async function createTenant(db: TestDatabase, tag: string, platform = 'instagram'): Promise<Tenant> {
  const workspaceId = await insertId(db, `INSERT INTO workspaces (name, slug) VALUES ($1, $1) RETURNING id`, [`ws-${tag}`]);
  const userId = await insertId(
    db,
    `INSERT INTO users (email, password_hash) VALUES ($1, 'argon2id$v=19$m=65536$abcdefgh') RETURNING id`,
    [`owner-${tag}@example.com`],
  );
  await db.query(`INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, 'owner')`, [workspaceId, userId]);
  const accountId = await insertId(
    db,
    `INSERT INTO social_accounts (workspace_id, platform, external_account_id, handle) VALUES ($1, $2, $3, $3) RETURNING id`,
    [workspaceId, platform, `acct-${tag}`],
  );
  return { workspaceId, userId, accountId };
}
