import { Client } from 'pg';
import { WrittenIds } from './ids';

/** The end of the run: every row the workload was told it wrote is looked up, on the primary and on the replica. */
export interface RowCheck {
  mentionsWritten: number;
  mentionsMissing: number;
  postsWritten: number;
  postsMissing: number;
  /** Scheduled posts not PUBLISHED once the queue was drained: the queue lost them. */
  postsNotPublished: number;
  /** Completions a worker was told about whose post is not PUBLISHED. */
  completionsLost: number;
  inboxUpdates: number;
  /** Conversations whose subject is not the last one acknowledged. */
  inboxLost: number;
  invalidIndexes: string[];
  /** Recorded rows the replica does not have after catching up (mentions + posts). */
  missingOnReplica: number;
  readAfterWriteViolations: number;
  drainedAtEnd: number;
}

const CHUNK = 2000;

async function present<T>(client: Client, sql: string, values: T[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < values.length; i += CHUNK) {
    const { rows } = await client.query<{ k: string }>(sql, [values.slice(i, i + CHUNK)]);
    for (const row of rows) found.add(String(row.k));
  }
  return found;
}

const MENTIONS_SQL = `SELECT external_id AS k FROM public.listening_mentions WHERE platform = 'twitter' AND external_id = ANY($1::text[])`;
const POSTS_SQL = `SELECT id::text AS k FROM public.posts WHERE id = ANY($1::bigint[])`;

export async function verifyRows(primaryUrl: string, replicaUrl: string, ids: WrittenIds, drainedAtEnd: number): Promise<RowCheck> {
  const primary = new Client({ connectionString: primaryUrl });
  const replica = new Client({ connectionString: replicaUrl });
  // A backend that goes away emits 'error' on an idle client; the failing query reports it anyway.
  for (const client of [primary, replica]) client.on('error', () => undefined);
  await Promise.all([primary.connect(), replica.connect()]);
  try {
    const mentions = [...new Set(ids.mentions)];
    const posts = [...new Set(ids.posts)];
    const mentionsFound = await present(primary, MENTIONS_SQL, mentions);
    const postsFound = await present(primary, POSTS_SQL, posts);
    const published = await present(primary, `SELECT id::text AS k FROM public.posts WHERE id = ANY($1::bigint[]) AND status = 'PUBLISHED'`, posts);
    const completed = await present(primary, `SELECT id::text AS k FROM public.posts WHERE id = ANY($1::bigint[]) AND status = 'PUBLISHED'`, [...ids.published]);
    const inboxIds = [...ids.inbox.keys()];
    const subjects = new Map<number, string>();
    for (let i = 0; i < inboxIds.length; i += CHUNK) {
      const { rows } = await primary.query<{ id: string; subject: string }>(`SELECT id, subject FROM public.conversations WHERE id = ANY($1::bigint[])`, [inboxIds.slice(i, i + CHUNK)]);
      for (const row of rows) subjects.set(Number(row.id), row.subject);
    }
    const { rows: invalid } = await primary.query<{ name: string }>(`SELECT indexrelid::regclass::text AS name FROM pg_index WHERE NOT indisvalid ORDER BY 1`);
    const onReplica = (await present(replica, MENTIONS_SQL, mentions)).size + (await present(replica, POSTS_SQL, posts)).size;
    return {
      mentionsWritten: mentions.length,
      mentionsMissing: mentions.length - mentionsFound.size,
      postsWritten: posts.length,
      postsMissing: posts.length - postsFound.size,
      postsNotPublished: posts.length - published.size,
      completionsLost: ids.published.size - completed.size,
      inboxUpdates: ids.inbox.size,
      inboxLost: inboxIds.filter((id) => subjects.get(id) !== ids.inbox.get(id)).length,
      invalidIndexes: invalid.map((r) => r.name),
      missingOnReplica: mentionsFound.size + postsFound.size - onReplica,
      readAfterWriteViolations: ids.readAfterWriteViolations,
      drainedAtEnd,
    };
  } finally {
    await Promise.all([primary.end(), replica.end()]);
  }
}

export function rowsLost(check: RowCheck): number {
  return check.mentionsMissing + check.postsMissing + check.postsNotPublished + check.completionsLost + check.inboxLost;
}
