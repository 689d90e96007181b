import { Client } from 'pg';
import { LatencySummary, summarize, timed } from '../stats';

/**
 * Section 4: N publishers drain the due SCHEDULED posts concurrently, each on its own
 * connection: claim a batch (the scheduled_post_claim pattern: FOR UPDATE SKIP LOCKED), then mark
 * the batch PUBLISHED. Every claimed id is recorded in memory; afterwards the database is checked
 * too. A correct queue claims each due post exactly once and leaves none behind.
 */
export type ClaimFn = (client: Client, workerId: string) => Promise<string[]>;

export interface QueueOptions {
  url: string;
  workers: number;
  /** Claims until no due post is left, or until this much time has passed (then `capped`). */
  timeLimitMs?: number;
  claim: ClaimFn;
  /** Called once per worker after it connects (e.g. SET statements). */
  setup?: (client: Client) => Promise<void>;
  /** The instant "now" for due-ness: posts scheduled at or before it are the backlog. */
  dueBefore: Date;
}

export interface QueueResult {
  workers: number;
  duePosts: number;
  claimed: number;
  durationMs: number;
  claimsPerSecond: number;
  claimLatency: LatencySummary;
  /** Ids handed out more than once (memory record). */
  doubleClaims: { id: string; times: number }[];
  /** Due posts that did not end PUBLISHED (database check); only meaningful when not capped. */
  lostPosts: string[];
  /** Posts whose publish_attempts rose by more than one (database check of a double claim). */
  doubleClaimedInDb: string[];
  capped: boolean;
}

/** The production claim: the scheduled_post_claim pattern, batch size and worker id bound. */
export function patternClaim(sql: string, dueBefore: Date, batchSize: number): ClaimFn {
  return async (client, workerId) => {
    const { rows } = await client.query<{ id: string }>(sql, [dueBefore, batchSize, workerId]);
    return rows.map((r) => String(r.id));
  };
}

/** Marks a claimed batch published; only rows this worker still holds in PUBLISHING. */
export const COMPLETE_SQL = `
  UPDATE public.posts
     SET status = 'PUBLISHED', published_at = now(), claimed_at = NULL, claimed_by = NULL, last_error = NULL
   WHERE id = ANY ($1::bigint[]) AND status = 'PUBLISHING' AND claimed_by = $2
  RETURNING id`;

/**
 * The completion step of a worker. A broken claim (no status change) leaves nothing in
 * PUBLISHING, so it completes by id alone; that is the point: it shows what double claims do.
 */
async function complete(client: Client, ids: string[], workerId: string): Promise<void> {
  const { rowCount } = await client.query(COMPLETE_SQL, [ids, workerId]);
  if ((rowCount ?? 0) < ids.length) {
    await client.query(
      `UPDATE public.posts SET status = 'PUBLISHED', published_at = now() WHERE id = ANY ($1::bigint[]) AND status <> 'PUBLISHED'`,
      [ids],
    );
  }
}

export async function runQueue(options: QueueOptions): Promise<QueueResult> {
  const admin = new Client({ connectionString: options.url, application_name: 'dbops:bench-queue-check' });
  await admin.connect();
  try {
    const { rows: before } = await admin.query<{ id: string; publish_attempts: number }>(
      `SELECT id, publish_attempts FROM public.posts WHERE status = 'SCHEDULED' AND scheduled_at <= $1 ORDER BY id`,
      [options.dueBefore],
    );
    const attemptsBefore = new Map(before.map((r) => [String(r.id), r.publish_attempts]));

    const claimedTimes = new Map<string, number>();
    const latencies: number[] = [];
    let stop = false;
    const started = Date.now();
    const worker = async (index: number) => {
      const workerId = `bench-worker-${index}`;
      const client = new Client({ connectionString: options.url, application_name: `dbops:bench-publisher-${index}` });
      await client.connect();
      try {
        await options.setup?.(client);
        while (!stop) {
          const { value: ids, ms } = await timed(() => options.claim(client, workerId));
          if (ids.length === 0) break;
          latencies.push(ms);
          for (const id of ids) claimedTimes.set(id, (claimedTimes.get(id) ?? 0) + 1);
          await complete(client, ids, workerId);
          if (options.timeLimitMs !== undefined && Date.now() - started > options.timeLimitMs) stop = true;
        }
      } finally {
        await client.end();
      }
    };
    await Promise.all(Array.from({ length: options.workers }, (_, i) => worker(i + 1)));
    const durationMs = Date.now() - started;

    const ids = [...attemptsBefore.keys()];
    const { rows: after } = await admin.query<{ id: string; status: string; publish_attempts: number }>(
      `SELECT id, status, publish_attempts FROM public.posts WHERE id = ANY ($1::bigint[])`,
      [ids],
    );
    const claimed = [...claimedTimes.values()].reduce((s, n) => s + n, 0);
    return {
      workers: options.workers,
      duePosts: ids.length,
      claimed,
      durationMs,
      claimsPerSecond: durationMs > 0 ? Math.round((claimed / durationMs) * 1000) : 0,
      claimLatency: summarize(latencies),
      doubleClaims: [...claimedTimes.entries()].filter(([, n]) => n > 1).map(([id, times]) => ({ id, times })),
      lostPosts: stop ? [] : after.filter((r) => r.status !== 'PUBLISHED').map((r) => String(r.id)),
      doubleClaimedInDb: after.filter((r) => r.publish_attempts > (attemptsBefore.get(String(r.id)) ?? 0) + 1).map((r) => String(r.id)),
      capped: stop,
    };
  } finally {
    await admin.end();
  }
}
