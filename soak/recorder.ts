import { isConnectionError } from '../platform-db/connection-errors';

/** Everything the soak observes, in memory: one sample per application operation, each error a caller saw, each task run. */
export type OpKind = 'read' | 'mention-ingest' | 'inbox-update' | 'post-create' | 'queue-claim' | 'queue-complete';

export interface OpSample {
  /** Milliseconds since the soak started, at the end of the operation. */
  t: number;
  op: OpKind;
  /** The operation as the caller saw it, retries included. */
  ms: number;
  /** The longest single attempt: how long one statement kept the caller waiting. */
  longestAttemptMs: number;
  ok: boolean;
}

export type ErrorKind = 'connection' | 'lock_timeout' | 'statement_timeout' | 'recovery_conflict' | 'read_only' | 'other';

export interface CallerError {
  t: number;
  op: OpKind;
  kind: ErrorKind;
  code?: string;
  message: string;
  /** retried: a later attempt of the same operation succeeded. surfaced: the operation gave up and reported it. */
  outcome: 'retried' | 'surfaced';
}

export interface RoutingSample {
  t: number;
  readsOnReader: number;
  readsOnWriter: number;
  fallbacks: number;
  lagAvoided: number;
  readerLagMs: number | null;
}

export interface TaskRun {
  task: string;
  startedAt: number;
  endedAt: number;
  status: 'succeeded' | 'failed' | 'skipped';
  reason?: string;
  /** Statements that hit lock_timeout (each retried, or the last one given up on). */
  lockTimeouts: number;
  /** Started by a fault, not by the schedule. */
  trigger: 'schedule' | 'fault';
}

export interface FaultEvent {
  t: number;
  fault: string;
  message: string;
}

export function classify(error: unknown): { kind: ErrorKind; code?: string } {
  const code = typeof (error as { code?: unknown })?.code === 'string' ? ((error as { code: string }).code) : undefined;
  if (isConnectionError(error)) return { kind: 'connection', code };
  if (code === '55P03') return { kind: 'lock_timeout', code };
  if (code === '57014') return { kind: 'statement_timeout', code };
  if (code === '40001' || code === '40P01') return { kind: 'recovery_conflict', code };
  if (code === '25006') return { kind: 'read_only', code };
  return { kind: 'other', code };
}

export class Recorder {
  readonly samples: OpSample[] = [];
  readonly errors: CallerError[] = [];
  readonly routing: RoutingSample[] = [];
  readonly tasks: TaskRun[] = [];
  readonly events: FaultEvent[] = [];
  readonly started = Date.now();

  now(): number {
    return Date.now() - this.started;
  }

  event(fault: string, message: string): void {
    this.events.push({ t: this.now(), fault, message });
  }
}
