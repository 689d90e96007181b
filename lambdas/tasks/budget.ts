/**
 * How long an invocation may keep starting work. A Lambda is killed at its timeout, so work
 * stops with a margin left for the cleanup and the metrics; the next run picks up the rest.
 */
export class TimeBudget {
  private readonly deadline: number;

  constructor(
    budgetMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.deadline = now() + budgetMs;
  }

  static unlimited(): TimeBudget {
    return new TimeBudget(Number.POSITIVE_INFINITY);
  }

  remainingMs(): number {
    return Math.max(0, this.deadline - this.now());
  }

  /** True when at least `neededMs` remain (and more than nothing). */
  allows(neededMs = 0): boolean {
    const left = this.remainingMs();
    return left > 0 && left >= neededMs;
  }

  /**
   * statement_timeout for interruptible statements: the task's own cap or what is left, whichever
   * is less, but never below floorMs (the wrap-up reads after the budget is spent must still run;
   * the Lambda margin pays for them).
   */
  statementTimeout(capMs: number, floorMs = 5000): number {
    const left = this.remainingMs();
    if (!Number.isFinite(left)) return capMs;
    return Math.max(Math.min(capMs, floorMs), Math.min(capMs, Math.floor(left)));
  }
}

/** Lambda: leave this much of the remaining time for reporting. */
export const LAMBDA_SAFETY_MARGIN_MS = 15_000;

export function budgetFor(
  options: { configuredMs?: number; optionMs?: number; lambdaRemainingMs?: number },
  now: () => number = Date.now,
): TimeBudget {
  const candidates = [options.configuredMs, options.optionMs];
  if (options.lambdaRemainingMs !== undefined) candidates.push(Math.max(1000, options.lambdaRemainingMs - LAMBDA_SAFETY_MARGIN_MS));
  const limits = candidates.filter((v): v is number => v !== undefined);
  return limits.length === 0 ? TimeBudget.unlimited() : new TimeBudget(Math.min(...limits), now);
}
