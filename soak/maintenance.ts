import { Pool } from 'pg';
import { PgExecutor } from '../lambdas/db/pg-executor';
import { MemorySink } from '../lambdas/metrics/sink';
import { runTask } from '../lambdas/tasks/runner';
import { TASK_NAMES, TaskName, TaskResult } from '../lambdas/tasks/types';
import { Recorder, TaskRun } from './recorder';

/**
 * Every scheduled task on a compressed schedule, through the same runTask the Lambda handler
 * calls: each on its own period (seconds instead of minutes and days), at most one run of a task
 * in flight from this scheduler; overlapping runs from faults meet the task's advisory lock.
 */
export const SOAK_LOCK_TIMEOUT_MS = 1000;

/** Seconds between two runs of each task in the soak. */
export const SOAK_PERIODS_S: Record<TaskName, number> = {
  'long-query-check': 3,
  'health-check': 6,
  'vacuum-analyze': 8,
  'refresh-materialized-views': 8,
  'update-statistics': 10,
  'create-partitions': 10,
  'drop-old-partitions': 15,
  reindex: 12,
  'release-stuck-claims': 5,
};

export interface MaintenanceOptions {
  databaseUrl: string;
  recorder: Recorder;
  startMs: number;
  untilMs: number;
  /** Upper bound of runs per task, whatever the clock says. */
  maxRunsPerTask: number;
}

export class Maintenance {
  readonly pool: Pool;
  private readonly executor: PgExecutor;
  private readonly sink = new MemorySink();
  private stopped = false;
  private readonly paused = new Set<TaskName>();
  private readonly inFlight = new Map<TaskName, Promise<unknown>>();

  constructor(private readonly o: MaintenanceOptions) {
    this.pool = new Pool({ connectionString: o.databaseUrl, max: 6, connectionTimeoutMillis: 5000 });
    // An idle client whose backend dies (primary restart) must not crash the soak.
    this.pool.on('error', () => undefined);
    this.executor = new PgExecutor(this.pool, false);
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * The schedule starts no run of this task until resume(); resolves once its scheduled run in
   * flight (if any) is over. A fault that runs the task itself uses this, or it would meet the
   * task's advisory lock and be skipped.
   */
  async pause(task: TaskName): Promise<void> {
    this.paused.add(task);
    await this.inFlight.get(task);
  }

  resume(task: TaskName): void {
    this.paused.delete(task);
  }

  /** One run, recorded. Never throws: a task that cannot even start is a failed run. */
  async run(task: TaskName, options: Record<string, unknown> = {}, trigger: TaskRun['trigger'] = 'schedule'): Promise<TaskResult | undefined> {
    const recorder = this.o.recorder;
    const startedAt = recorder.now();
    let result: TaskResult | undefined;
    let reason: string | undefined;
    let lockBusy = 0;
    try {
      result = await runTask(
        { task, ...options },
        {
          executor: this.executor,
          sink: this.sink,
          settings: { environment: 'soak', lockTimeoutMs: SOAK_LOCK_TIMEOUT_MS, retentionMonths: 24 },
          lockRetry: { attempts: 3, baseDelayMs: 200, maxDelayMs: 1000 },
          log: (message) => {
            if (/lock busy/.test(message)) lockBusy += 1;
          },
        },
      );
    } catch (error) {
      reason = (error as Error).message;
    }
    const text = JSON.stringify(result ? [result.warnings, result.failures, result.reason ?? ''] : reason ?? '');
    // Each retried lock wait is logged as "lock busy"; a run that gave up says so in its failures.
    const gaveUp = (text.match(/gave up after \d+ attempts to take a lock/g) ?? []).length;
    recorder.tasks.push({
      task,
      startedAt,
      endedAt: recorder.now(),
      status: result?.status ?? 'failed',
      reason: result?.reason ?? reason,
      lockTimeouts: lockBusy + gaveUp,
      trigger,
    });
    return result;
  }

  async runSchedule(): Promise<void> {
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const wait = this.o.startMs - this.o.recorder.now();
    if (wait > 0) await sleep(wait);
    await Promise.all(
      TASK_NAMES.map(async (task, i) => {
        // Spread the first runs so the tasks do not all start in the same second.
        await sleep(i * 250);
        for (let n = 0; n < this.o.maxRunsPerTask && !this.stopped && this.o.recorder.now() < this.o.untilMs; n++) {
          const began = Date.now();
          if (!this.paused.has(task)) {
            const running = this.run(task);
            this.inFlight.set(task, running);
            await running;
            this.inFlight.delete(task);
          }
          const rest = SOAK_PERIODS_S[task] * 1000 - (Date.now() - began);
          // Sleep in small steps so stop() and the deadline are noticed.
          for (let slept = 0; slept < rest && !this.stopped && this.o.recorder.now() < this.o.untilMs; slept += 200) await sleep(Math.min(200, rest - slept));
        }
      }),
    );
  }

  async end(): Promise<void> {
    await this.pool.end();
  }
}
