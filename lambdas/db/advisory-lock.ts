import { Session, taskLockKey } from './executor';

/**
 * Runs work only when no other invocation of the same task holds its advisory lock.
 * Returns { acquired: false } at once otherwise: an overlapping run is a skip, never a wait.
 */
export async function withTaskLock<T>(
  session: Session,
  task: string,
  work: () => Promise<T>,
): Promise<{ acquired: true; value: T } | { acquired: false }> {
  const key = taskLockKey(task);
  if (!(await session.tryAdvisoryLock(key))) return { acquired: false };
  try {
    return { acquired: true, value: await work() };
  } finally {
    await session.releaseAdvisoryLock(key).catch(() => undefined);
  }
}
