/**
 * The publishing queue's lifecycle for one worker (migration 080): claim a batch under a lease,
 * report each target as published or failed with the lease's token, hand the leases back on
 * shutdown. Every call is one statement; the fencing and the post's status follow in the
 * database, so a late or repeated report can never publish twice or overwrite a newer attempt.
 */

/** What the queue needs of a connection: pg's Pool, PoolClient and Client all fit. */
export interface QueueQueryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * The claim: the statement of sql/queries/scheduled_post_claim.sql (a test keeps the two equal), a
 * call of public.publish_claim (108), whose plan the session keeps. It is a constant here rather
 * than read from that file because an application bundles this library, and a file read at run
 * time would be one more thing its bundle must ship.
 */
export const CLAIM_SQL = `
SELECT c.post_id, c.lease_token, c.lease_until, c.attempt, c.scheduled_at, c.target_ids, c.account_ids
  FROM public.publish_claim($1::timestamptz, $2::integer, $3::text, $4::double precision) c
 LIMIT $2::integer`;

export interface QueueOptions {
  /** Identifies this worker's leases (host, process); 1-200 characters. */
  workerId: string;
  /** How long a claimed post is this worker's before release-stuck-claims requeues it. Default 120. */
  leaseSeconds?: number;
  /** Attempts per target, the failing one included, before a retryable failure becomes final. Default 5. */
  maxAttempts?: number;
  /** First retry waits about this long (half of it jitter), doubling per attempt. Default 30. */
  baseDelaySeconds?: number;
  /** Longest backoff. Default 3600. */
  maxDelaySeconds?: number;
}

export interface ClaimedTarget {
  targetId: string;
  socialAccountId: string;
}

export interface ClaimedPost {
  postId: string;
  /** Present it with every report on this post's targets. */
  leaseToken: string;
  leaseUntil: Date;
  /** 1 on the first claim of the post, then one more per claim. */
  attempt: number;
  scheduledAt: Date;
  /** The targets still to publish (finished ones are not handed out again). */
  targets: ClaimedTarget[];
}

/**
 * stale: the lease was superseded (requeued or re-claimed): nothing changed.
 * not-pending: the target had already finished, or was already reported in this lease: nothing changed.
 * recorded: the report was kept; other targets of the post are still to be reported in this lease.
 * retry-scheduled: the lease ended; the failed targets wait for their backoff.
 * post-published / post-failed: every target finished and the post took its final status.
 */
export type ReportResult = 'stale' | 'not-pending' | 'recorded' | 'retry-scheduled' | 'post-published' | 'post-failed';

/** One target's outcome in a batch report: published with the platform's id, or failed. */
export type TargetReport =
  | { targetId: string; leaseToken: string; externalPostId: string }
  | { targetId: string; leaseToken: string; error: string; retryable: boolean };

const REPORT_RESULTS: readonly ReportResult[] = ['stale', 'not-pending', 'recorded', 'retry-scheduled', 'post-published', 'post-failed'];

export class PublishingQueueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PublishingQueueError';
  }
}

const ID = /^[1-9][0-9]{0,18}$/;

function checkId(what: string, value: string | number | bigint): string {
  const text = String(value);
  if (!ID.test(text)) throw new PublishingQueueError(`${what} must be a positive integer id, got ${JSON.stringify(text)}`);
  return text;
}

function checkNumber(what: string, value: number, min: number, max: number, integer = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new PublishingQueueError(`${what} must be ${integer ? 'a whole number' : 'a number'} between ${min} and ${max}, got ${String(value)}`);
  }
  return value;
}

function checkText(what: string, value: string, maxLength: number): string {
  if (typeof value !== 'string' || value.trim() === '') throw new PublishingQueueError(`${what} must be a non-empty string`);
  if (value.length > maxLength) throw new PublishingQueueError(`${what} is longer than ${maxLength} characters`);
  return value;
}

function reportResult(value: unknown): ReportResult {
  if (!REPORT_RESULTS.includes(value as ReportResult)) throw new PublishingQueueError(`unexpected report result ${JSON.stringify(value)}`);
  return value as ReportResult;
}

export class PublishingQueue {
  readonly workerId: string;
  private readonly leaseSeconds: number;
  private readonly maxAttempts: number;
  private readonly baseDelaySeconds: number;
  private readonly maxDelaySeconds: number;

  constructor(
    private readonly db: QueueQueryable,
    options: QueueOptions,
  ) {
    this.workerId = checkText('workerId', options.workerId, 200);
    this.leaseSeconds = checkNumber('leaseSeconds', options.leaseSeconds ?? 120, 1, 3600);
    this.maxAttempts = checkNumber('maxAttempts', options.maxAttempts ?? 5, 1, 100, true);
    this.baseDelaySeconds = checkNumber('baseDelaySeconds', options.baseDelaySeconds ?? 30, 0.001, 86_400);
    this.maxDelaySeconds = checkNumber('maxDelaySeconds', options.maxDelaySeconds ?? 3600, this.baseDelaySeconds, 7 * 86_400);
  }

  /** Leases up to batchSize due posts, oldest first. dueBefore defaults to the database's now(). */
  async claim(batchSize: number, dueBefore?: Date): Promise<ClaimedPost[]> {
    checkNumber('batchSize', batchSize, 1, 1000, true);
    if (dueBefore !== undefined && (!(dueBefore instanceof Date) || Number.isNaN(dueBefore.getTime()))) {
      throw new PublishingQueueError('dueBefore must be a valid Date');
    }
    const { rows } = await this.db.query<{
      post_id: string;
      lease_token: string;
      lease_until: Date;
      attempt: number;
      scheduled_at: Date;
      target_ids: string[];
      account_ids: string[];
    }>(CLAIM_SQL, [dueBefore ?? 'now', batchSize, this.workerId, this.leaseSeconds]);
    return rows.map((r) => ({
      postId: String(r.post_id),
      leaseToken: String(r.lease_token),
      leaseUntil: r.lease_until,
      attempt: r.attempt,
      scheduledAt: r.scheduled_at,
      targets: r.target_ids.map((id, i) => ({ targetId: String(id), socialAccountId: String(r.account_ids[i]) })),
    }));
  }

  /** One target is live on its platform under this external id. */
  async complete(targetId: string, leaseToken: string, externalPostId: string): Promise<ReportResult> {
    const args = [checkId('targetId', targetId), checkId('leaseToken', leaseToken), checkText('externalPostId', externalPostId, 500)];
    const { rows } = await this.db.query<{ result: string }>('SELECT public.publish_complete($1::bigint, $2::bigint, $3::text) AS result', args);
    return reportResult(rows[0]?.result);
  }

  /** One target's attempt failed; retryable failures come back after the backoff while attempts remain. */
  async fail(targetId: string, leaseToken: string, error: string, options: { retryable: boolean }): Promise<ReportResult> {
    if (typeof options?.retryable !== 'boolean') throw new PublishingQueueError('fail: options.retryable must be true or false');
    const args = [
      checkId('targetId', targetId),
      checkId('leaseToken', leaseToken),
      checkText('error', error, 100_000),
      options.retryable,
      this.maxAttempts,
      this.baseDelaySeconds,
      this.maxDelaySeconds,
    ];
    const { rows } = await this.db.query<{ result: string }>(
      'SELECT public.publish_fail($1::bigint, $2::bigint, $3::text, $4::boolean, $5::integer, $6::double precision, $7::double precision) AS result',
      args,
    );
    return reportResult(rows[0]?.result);
  }

  /**
   * A whole batch's reports in one short transaction: the same rules as complete and fail, each
   * post settled once. Returns each target's result, in the order given.
   */
  async report(reports: readonly TargetReport[]): Promise<{ targetId: string; result: ReportResult }[]> {
    if (!Array.isArray(reports) || reports.length === 0 || reports.length > 10_000) {
      throw new PublishingQueueError(`report: 1-10000 reports required, got ${Array.isArray(reports) ? reports.length : typeof reports}`);
    }
    const ids: string[] = [];
    const tokens: string[] = [];
    const externals: (string | null)[] = [];
    const errors: (string | null)[] = [];
    const retryable: (boolean | null)[] = [];
    reports.forEach((r, i) => {
      ids.push(checkId(`reports[${i}].targetId`, r.targetId));
      tokens.push(checkId(`reports[${i}].leaseToken`, r.leaseToken));
      if ('externalPostId' in r) {
        externals.push(checkText(`reports[${i}].externalPostId`, r.externalPostId, 500));
        errors.push(null);
        retryable.push(null);
      } else {
        if (typeof r.retryable !== 'boolean') throw new PublishingQueueError(`reports[${i}].retryable must be true or false`);
        externals.push(null);
        errors.push(checkText(`reports[${i}].error`, r.error, 100_000));
        retryable.push(r.retryable);
      }
    });
    const { rows } = await this.db.query<{ target_id: string; result: string }>(
      `SELECT target_id, result FROM public.publish_report($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::boolean[], $6::integer, $7::double precision, $8::double precision)`,
      [ids, tokens, externals, errors, retryable, this.maxAttempts, this.baseDelaySeconds, this.maxDelaySeconds],
    );
    return rows.map((r) => ({ targetId: String(r.target_id), result: reportResult(r.result) }));
  }

  /** A claimed post with no target left to publish: finish it without a platform call. */
  async settle(postId: string, leaseToken: string): Promise<ReportResult> {
    const { rows } = await this.db.query<{ result: string }>('SELECT public.publish_settle($1::bigint, $2::bigint) AS result', [
      checkId('postId', postId),
      checkId('leaseToken', leaseToken),
    ]);
    return reportResult(rows[0]?.result);
  }

  /** Shutdown: hands back every lease this worker holds; returns how many. */
  async release(): Promise<number> {
    const { rows } = await this.db.query<{ released: number }>('SELECT public.publish_release($1::text) AS released', [this.workerId]);
    return rows[0]?.released ?? 0;
  }
}
