/** Every row the workload was told it wrote, so the end of the run can check that none is missing. */
export class WrittenIds {
  /** external_id of each ingested mention (unique per run; retried inserts are idempotent on it). */
  readonly mentions: string[] = [];
  /** Posts created; each one was scheduled and must end PUBLISHED once the queue is drained. */
  readonly posts: number[] = [];
  /** Conversation id -> the last subject acknowledged for it. */
  readonly inbox = new Map<number, string>();
  /** Posts a queue worker completed. */
  readonly published = new Set<number>();
  claims = 0;
  /** A session read that did not see the session's own write (must stay 0). */
  readAfterWriteViolations = 0;
}
