import { TASK_NAMES } from '../lambdas/tasks/types';
import type { FaultOutcome } from './faults';
import { SOAK_LOCK_TIMEOUT_MS } from './maintenance';
import { FAULTS, Phase, phaseAt, SoakPlan } from './plan';
import { ErrorKind, OpKind, Recorder } from './recorder';
import { RowCheck, rowsLost } from './verify';

/** The figures of the report, computed from what the recorder saw. */
export interface PhaseLatency {
  phase: Phase;
  operations: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface Goal {
  goal: string;
  value: string;
  ok: boolean;
  /** Correctness goals are asserted by the test; timing goals only reported (shared machine). */
  kind: 'correctness' | 'timing';
}

export interface SecondBucket {
  t: number;
  operations: number;
  p99Ms: number | null;
}

export interface SoakAnalysis {
  operations: { total: number; failed: number; byOp: Record<string, number> };
  errors: { total: number; byPhase: Record<string, Partial<Record<ErrorKind, { retried: number; surfaced: number }>>>; examples: { phase: string; op: OpKind; kind: ErrorKind; message: string }[] };
  latency: PhaseLatency[];
  baselineP99Ms: number | null;
  maintenanceP99Ms: number | null;
  longestBlocked: { ms: number; phase: Phase | null; op: OpKind | null };
  /** Throughput counted as recovered at this share of the maintenance-phase median ops/s. */
  recoveryShare: number;
  referenceOpsPerSecond: number;
  recovery: { fault: string; clearedAtMs: number | null; recoveredMs: number | null }[];
  tasks: { task: string; succeeded: number; skipped: number; failed: number; lockTimeouts: number }[];
  taskTotals: { succeeded: number; skipped: number; failed: number };
  tasksAfterRestart: { task: string; status: string | null }[];
  timeline: SecondBucket[];
  rows: RowCheck & { lost: number };
  goals: Goal[];
}

export function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const median = (values: number[]) => quantile([...values].sort((a, b) => a - b), 0.5) ?? 0;
const fmt = (v: number | null) => (v === null ? 'n/a' : v >= 100 ? v.toFixed(0) : v.toFixed(1));

export function analyse(plan: SoakPlan, recorder: Recorder, faults: FaultOutcome[], rows: RowCheck): SoakAnalysis {
  const phases: Phase[] = ['baseline', 'maintenance', ...FAULTS];
  const ok = recorder.samples.filter((s) => s.ok);
  const latency = phases.map((phase) => {
    const ms = ok.filter((s) => phaseAt(plan, s.t) === phase).map((s) => s.ms).sort((a, b) => a - b);
    return { phase, operations: ms.length, p50Ms: quantile(ms, 0.5), p99Ms: quantile(ms, 0.99), maxMs: ms.length ? ms[ms.length - 1] : null };
  });
  const p99Of = (phase: Phase) => latency.find((l) => l.phase === phase)?.p99Ms ?? null;

  const byOp: Record<string, number> = {};
  for (const s of recorder.samples) byOp[s.op] = (byOp[s.op] ?? 0) + 1;

  const byPhase: SoakAnalysis['errors']['byPhase'] = {};
  for (const e of recorder.errors) {
    const phase = phaseAt(plan, e.t);
    const kinds = (byPhase[phase] ??= {});
    const slot = (kinds[e.kind] ??= { retried: 0, surfaced: 0 });
    slot[e.outcome] += 1;
  }
  // Up to three of each (window, kind), so a rare kind is not hidden behind a common one.
  const seen = new Map<string, number>();
  const examples = recorder.errors
    .filter((e) => {
      const key = `${phaseAt(plan, e.t)}:${e.kind}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      return seen.get(key)! <= 3;
    })
    .map((e) => ({ phase: phaseAt(plan, e.t), op: e.op, kind: e.kind, message: e.message }));

  // Blocked: the longest single attempt, outside the restart window where waiting for the server is expected.
  let longestBlocked: SoakAnalysis['longestBlocked'] = { ms: 0, phase: null, op: null };
  for (const s of recorder.samples) {
    const phase = phaseAt(plan, s.t);
    if (phase !== 'c' && s.longestAttemptMs > longestBlocked.ms) longestBlocked = { ms: s.longestAttemptMs, phase, op: s.op };
  }

  const seconds = Math.ceil(plan.durationMs / 1000);
  const timeline: SecondBucket[] = [];
  const perSecond: number[][] = Array.from({ length: seconds }, () => []);
  for (const s of ok) if (s.t < plan.durationMs) perSecond[Math.floor(s.t / 1000)].push(s.ms);
  perSecond.forEach((values, t) => timeline.push({ t, operations: values.length, p99Ms: quantile(values.sort((a, b) => a - b), 0.99) }));
  const maintenanceSeconds = timeline.filter((b) => phaseAt(plan, b.t * 1000) === 'maintenance' && phaseAt(plan, b.t * 1000 + 999) === 'maintenance');
  const referenceOpsPerSecond = median(maintenanceSeconds.map((b) => b.operations));
  const recoveryShare = 0.8;
  const recovery = faults.map((f) => {
    if (f.clearedAtMs === undefined) return { fault: f.fault, clearedAtMs: null, recoveredMs: null };
    const first = timeline.find((b) => b.t * 1000 >= f.clearedAtMs! && b.operations >= recoveryShare * referenceOpsPerSecond);
    return { fault: f.fault, clearedAtMs: f.clearedAtMs, recoveredMs: first ? first.t * 1000 + 1000 - f.clearedAtMs : null };
  });

  const tasks = TASK_NAMES.map((task) => {
    const runs = recorder.tasks.filter((r) => r.task === task);
    return {
      task,
      succeeded: runs.filter((r) => r.status === 'succeeded').length,
      skipped: runs.filter((r) => r.status === 'skipped').length,
      failed: runs.filter((r) => r.status === 'failed').length,
      lockTimeouts: runs.reduce((n, r) => n + r.lockTimeouts, 0),
    };
  });
  const taskTotals = tasks.reduce((t, r) => ({ succeeded: t.succeeded + r.succeeded, skipped: t.skipped + r.skipped, failed: t.failed + r.failed }), { succeeded: 0, skipped: 0, failed: 0 });
  const restart = faults.find((f) => f.fault === 'c')?.clearedAtMs;
  const tasksAfterRestart = TASK_NAMES.map((task) => {
    const next = restart === undefined ? undefined : recorder.tasks.find((r) => r.task === task && r.trigger === 'schedule' && r.startedAt >= restart);
    return { task, status: next?.status ?? null };
  });

  const lost = rowsLost(rows);
  const outsideC = recorder.errors.filter((e) => phaseAt(plan, e.t) !== 'c');
  const insideC = recorder.errors.filter((e) => phaseAt(plan, e.t) === 'c');
  const insideCNotConnection = insideC.filter((e) => e.kind !== 'connection');
  const failedChecks = faults.flatMap((f) => f.checks.filter((c) => !c.ok).map((c) => `${f.fault}: ${c.name} (${c.detail})`));
  const missingFaults = FAULTS.filter((name) => !faults.some((f) => f.fault === name));
  const baselineP99 = p99Of('baseline');
  const maintenancePhases = latency.filter((l) => l.phase !== 'baseline' && l.phase !== 'c');
  const worstMaintenanceP99 = maintenancePhases.reduce<number | null>((m, l) => (l.p99Ms === null ? m : Math.max(m ?? 0, l.p99Ms)), null);
  const restartRecovery = recovery.find((r) => r.fault === 'c')?.recoveredMs ?? null;
  const afterRestartFailed = tasksAfterRestart.filter((t) => t.status === 'failed');

  const goals: Goal[] = [
    { goal: '0 rows lost', value: `${lost} lost (mentions ${rows.mentionsMissing}, posts ${rows.postsMissing}, not published ${rows.postsNotPublished}, completions ${rows.completionsLost}, inbox ${rows.inboxLost})`, ok: lost === 0, kind: 'correctness' },
    { goal: 'the replica has every recorded row after catching up', value: `${rows.missingOnReplica} missing`, ok: rows.missingOnReplica === 0, kind: 'correctness' },
    { goal: '0 caller errors outside window (c)', value: `${outsideC.length}${outsideC.length ? ` (${[...new Set(outsideC.map((e) => `${phaseAt(plan, e.t)}:${e.kind}`))].join(', ')})` : ''}`, ok: outsideC.length === 0, kind: 'correctness' },
    {
      goal: 'inside (c) only connection errors, each retried or surfaced',
      value: `${insideC.length} errors: ${insideC.filter((e) => e.outcome === 'retried').length} retried, ${insideC.filter((e) => e.outcome === 'surfaced').length} surfaced, ${insideCNotConnection.length} not connection errors`,
      ok: insideCNotConnection.length === 0,
      kind: 'correctness',
    },
    { goal: 'a session always reads its own writes', value: `${rows.readAfterWriteViolations} violations`, ok: rows.readAfterWriteViolations === 0, kind: 'correctness' },
    { goal: 'no INVALID index at the end', value: rows.invalidIndexes.join(', ') || 'none', ok: rows.invalidIndexes.length === 0, kind: 'correctness' },
    { goal: 'every fault injected and its checks met', value: failedChecks.length || missingFaults.length ? [...missingFaults.map((f) => `${f}: not run`), ...failedChecks].join('; ') : `${faults.length} faults, ${faults.reduce((n, f) => n + f.checks.length, 0)} checks met`, ok: failedChecks.length === 0 && missingFaults.length === 0, kind: 'correctness' },
    { goal: 'the next task runs after the restart do not fail', value: afterRestartFailed.length ? afterRestartFailed.map((t) => t.task).join(', ') : tasksAfterRestart.map((t) => `${t.task} ${t.status ?? 'not run'}`).join(', '), ok: afterRestartFailed.length === 0, kind: 'correctness' },
    {
      goal: 'p99 during maintenance <= 3x baseline',
      value: `worst ${fmt(worstMaintenanceP99)} ms vs baseline ${fmt(baselineP99)} ms (${baselineP99 && worstMaintenanceP99 !== null ? (worstMaintenanceP99 / baselineP99).toFixed(1) : 'n/a'}x)`,
      ok: baselineP99 !== null && worstMaintenanceP99 !== null && worstMaintenanceP99 <= 3 * baselineP99,
      kind: 'timing',
    },
    {
      goal: `no query blocked longer than lock_timeout + 1 s (${SOAK_LOCK_TIMEOUT_MS + 1000} ms)`,
      value: `${longestBlocked.ms} ms (${longestBlocked.op ?? '-'} in ${longestBlocked.phase ?? '-'})`,
      ok: longestBlocked.ms <= SOAK_LOCK_TIMEOUT_MS + 1000,
      kind: 'timing',
    },
    { goal: 'full throughput within 10 s of the primary restart', value: restartRecovery === null ? 'not recovered' : `${(restartRecovery / 1000).toFixed(1)} s`, ok: restartRecovery !== null && restartRecovery <= 10_000, kind: 'timing' },
  ];

  return {
    operations: { total: recorder.samples.length, failed: recorder.samples.length - ok.length, byOp },
    errors: { total: recorder.errors.length, byPhase, examples },
    latency,
    baselineP99Ms: baselineP99,
    maintenanceP99Ms: p99Of('maintenance'),
    longestBlocked,
    recoveryShare,
    referenceOpsPerSecond,
    recovery,
    tasks,
    taskTotals,
    tasksAfterRestart,
    timeline,
    rows: { ...rows, lost },
    goals,
  };
}
