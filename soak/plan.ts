/**
 * The soak's timeline, scaled to its length: a quiet baseline (workload only), then the
 * maintenance schedule for the rest of the run, with the six faults each in its own window and
 * gaps between them, so every error and every slow operation can be put down to one cause.
 */
export const FAULTS = ['a', 'b', 'c', 'd', 'e', 'f'] as const;
export type FaultName = (typeof FAULTS)[number];

export const FAULT_LABELS: Record<FaultName, string> = {
  a: '(a) lock held on a partitioned table',
  b: '(b) task process SIGKILLed mid-run',
  c: '(c) primary restart',
  d: '(d) replica stopped and started',
  e: '(e) replica replay paused past the lag bound',
  f: '(f) CREATE INDEX CONCURRENTLY migration under load',
};

export interface FaultWindow {
  fault: FaultName;
  label: string;
  startMs: number;
  endMs: number;
}

export interface SoakPlan {
  durationMs: number;
  /** Workload only until here; the maintenance schedule starts at this point. */
  baselineEndMs: number;
  windows: FaultWindow[];
  /** How long fault (a) holds its lock: 20 s, or less in a short run so it fits its window. */
  lockHoldMs: number;
}

export const MIN_SECONDS = 40;
export const MAX_SECONDS = 24 * 3600;

/** Window starts and ends as fractions of the run. */
const LAYOUT: [FaultName, number, number][] = [
  ['a', 0.14, 0.26],
  // The longest: the killed task is a separate process, which needs a few seconds to start.
  ['b', 0.28, 0.42],
  ['c', 0.44, 0.53],
  ['d', 0.55, 0.64],
  ['e', 0.66, 0.75],
  ['f', 0.77, 0.86],
];

export function planFor(seconds: number): SoakPlan {
  if (!Number.isInteger(seconds) || seconds < MIN_SECONDS || seconds > MAX_SECONDS) {
    throw new Error(`--seconds must be a whole number from ${MIN_SECONDS} (room for all six fault windows) to ${MAX_SECONDS}, got ${seconds}`);
  }
  const durationMs = seconds * 1000;
  const windows = LAYOUT.map(([fault, from, to]) => ({ fault, label: FAULT_LABELS[fault], startMs: Math.round(from * durationMs), endMs: Math.round(to * durationMs) }));
  const a = windows[0];
  return { durationMs, baselineEndMs: Math.round(0.12 * durationMs), windows, lockHoldMs: Math.min(20_000, a.endMs - a.startMs - 1000) };
}

/** 'baseline', 'maintenance' (schedule running, no fault), or the fault whose window holds t. */
export type Phase = 'baseline' | 'maintenance' | FaultName;

export function phaseAt(plan: SoakPlan, t: number): Phase {
  if (t < plan.baselineEndMs) return 'baseline';
  const window = plan.windows.find((w) => t >= w.startMs && t < w.endMs);
  return window ? window.fault : 'maintenance';
}
