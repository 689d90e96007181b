/**
 * DDL that waits in the lock queue blocks every later query on the table, so DDL and
 * maintenance statements run under a short lock_timeout and are retried with backoff instead
 * (GitLab's with_lock_retries pattern).
 */
export const LOCK_NOT_AVAILABLE = '55P03';

export interface LockRetryOptions {
  /** Total attempts, including the first. */
  attempts: number;
  /** Delay before the second attempt; doubles each time, with jitter. */
  baseDelayMs: number;
  maxDelayMs?: number;
  onRetry?: (attempt: number, error: Error) => void;
}

export const DEFAULT_LOCK_RETRY: LockRetryOptions = { attempts: 5, baseDelayMs: 200, maxDelayMs: 5000 };

export function isLockTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === LOCK_NOT_AVAILABLE;
}

export class LockRetriesExhaustedError extends Error {
  constructor(
    readonly attempts: number,
    readonly lastError: Error,
  ) {
    super(`gave up after ${attempts} attempts to take a lock: ${lastError.message}`);
    this.name = 'LockRetriesExhaustedError';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function withLockRetries<T>(work: () => Promise<T>, options: LockRetryOptions = DEFAULT_LOCK_RETRY): Promise<T> {
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= options.attempts; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (!isLockTimeout(error)) throw error;
      lastError = error as Error;
      if (attempt === options.attempts) break;
      options.onRetry?.(attempt, lastError);
      const exponential = options.baseDelayMs * 2 ** (attempt - 1);
      const capped = Math.min(exponential, options.maxDelayMs ?? Number.POSITIVE_INFINITY);
      await sleep(capped / 2 + Math.random() * (capped / 2));
    }
  }
  throw new LockRetriesExhaustedError(options.attempts, lastError as Error);
}
