import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SoakAnalysis } from './analysis';
import { p99TimelineChart } from './chart';
import type { FaultOutcome } from './faults';
import { phaseAt, SoakPlan } from './plan';
import type { FaultEvent, RoutingSample, TaskRun } from './recorder';

export interface SoakResult {
  meta: { startedAt: string; seconds: number; cpus: number; loadAverage: number[]; settings: Record<string, string | number> };
  plan: SoakPlan;
  analysis: SoakAnalysis;
  faults: FaultOutcome[];
  events: FaultEvent[];
  routing: RoutingSample[];
  taskRuns: TaskRun[];
}

const n = (v: number | null | undefined, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toLocaleString('en-US', { maximumFractionDigits: digits }));

/** soak-results/soak-<seconds>s-<timestamp>.{json,md,svg}, plus latest.* copies. */
export function writeSoakResults(result: SoakResult, dir: string): { json: string; markdown: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `soak-${result.meta.seconds}s-${result.meta.startedAt.replace(/[:.]/g, '-')}`);
  const files = { json: `${base}.json`, markdown: `${base}.md`, svg: `${base}.svg` };
  const svg = p99TimelineChart(result.analysis.timeline, result.plan, { title: `Application p99 per second, ${result.meta.seconds} s soak`, baselineP99Ms: result.analysis.baselineP99Ms });
  for (const [json, md, chart, svgName] of [
    [files.json, files.markdown, files.svg, path.basename(files.svg)],
    [path.join(dir, 'latest.json'), path.join(dir, 'latest.md'), path.join(dir, 'latest.svg'), 'latest.svg'],
  ]) {
    writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(md, soakMarkdown(result, svgName));
    writeFileSync(chart, svg);
  }
  return files;
}

export function goalLines(analysis: SoakAnalysis): string[] {
  return analysis.goals.map((g) => `${g.ok ? 'ok  ' : 'MISS'} [${g.kind}] ${g.goal}: ${g.value}`);
}

export function soakMarkdown(result: SoakResult, svgName: string): string {
  const a = result.analysis;
  const lines: string[] = [];
  lines.push(`# Soak: ${result.meta.seconds} s`, '');
  lines.push(`Started ${result.meta.startedAt} on ${result.meta.cpus} CPUs, load average at the end ${result.meta.loadAverage.map((l) => l.toFixed(2)).join(' / ')} (a shared machine: timings are noisy).`, '');
  lines.push(`![p99 over time](${svgName})`, '');
  lines.push('## Goals', '', '| goal | kind | measured | met |', '|---|---|---|---|');
  for (const g of a.goals) lines.push(`| ${g.goal} | ${g.kind} | ${g.value} | ${g.ok ? 'yes' : '**NO**'} |`);
  lines.push('', '## Operations', '', `${a.operations.total} operations (${a.operations.failed} failed after retries): ${Object.entries(a.operations.byOp).map(([op, c]) => `${op} ${c}`).join(', ')}.`, '');
  lines.push('## Latency by phase', '', '| phase | operations | p50 ms | p99 ms | max ms |', '|---|---|---|---|---|');
  for (const l of a.latency) lines.push(`| ${l.phase === 'baseline' || l.phase === 'maintenance' ? l.phase : result.faults.find((f) => f.fault === l.phase)?.label ?? l.phase} | ${l.operations} | ${n(l.p50Ms)} | ${n(l.p99Ms)} | ${n(l.maxMs, 0)} |`);
  lines.push('', `Longest single attempt outside (c): ${a.longestBlocked.ms} ms (${a.longestBlocked.op ?? '-'} in ${a.longestBlocked.phase ?? '-'}).`, '');
  lines.push('## Errors seen by callers', '');
  const phases = Object.entries(a.errors.byPhase);
  if (phases.length === 0) lines.push('None.');
  else {
    lines.push('| window | kind | retried | surfaced |', '|---|---|---|---|');
    for (const [phase, kinds] of phases) for (const [kind, c] of Object.entries(kinds)) lines.push(`| ${phase} | ${kind} | ${c!.retried} | ${c!.surfaced} |`);
    lines.push('', 'Examples:', '', ...a.errors.examples.map((e) => `- ${e.phase} ${e.kind} (${e.op}): ${e.message.replace(/\n/g, ' ')}`));
  }
  lines.push('', '## Faults', '', '| fault | planned window | ran | check | met | detail |', '|---|---|---|---|---|---|');
  const span = (from?: number, to?: number) => (from === undefined || to === undefined ? 'n/a' : `${n(from / 1000)}-${n(to / 1000)} s`);
  for (const f of result.faults) for (const c of f.checks) lines.push(`| ${f.label} | ${span(f.startMs, f.endMs)} | ${span(f.ranFromMs, f.ranToMs)} | ${c.name} | ${c.ok ? 'yes' : '**NO**'} | ${c.detail.replace(/\|/g, '/')} |`);
  lines.push('', `Recovery: time from a fault's end to the first second at ${a.recoveryShare * 100} % of the maintenance-phase median throughput (${n(a.referenceOpsPerSecond, 0)} ops/s).`, '');
  lines.push('| fault | cleared at | recovered after |', '|---|---|---|');
  for (const r of a.recovery) lines.push(`| ${r.fault} | ${r.clearedAtMs === null ? 'n/a' : `${n(r.clearedAtMs / 1000)} s`} | ${r.recoveredMs === null ? 'not recovered' : `${n(r.recoveredMs / 1000)} s`} |`);
  lines.push('', '## Tasks', '', '| task | succeeded | skipped | failed | lock timeouts |', '|---|---|---|---|---|');
  for (const t of a.tasks) lines.push(`| ${t.task} | ${t.succeeded} | ${t.skipped} | ${t.failed} | ${t.lockTimeouts} |`);
  lines.push(`| all | ${a.taskTotals.succeeded} | ${a.taskTotals.skipped} | ${a.taskTotals.failed} | |`, '');
  const failedIn = new Map<string, number>();
  for (const run of result.taskRuns.filter((r) => r.status === 'failed')) {
    const phase = phaseAt(result.plan, run.startedAt);
    failedIn.set(phase, (failedIn.get(phase) ?? 0) + 1);
  }
  lines.push(`Failed runs by window: ${failedIn.size ? [...failedIn].map(([phase, count]) => `${phase} ${count}`).join(', ') : 'none'}.`, '');
  lines.push('## Rows', '', `Mentions ${a.rows.mentionsWritten} written, ${a.rows.mentionsMissing} missing; posts ${a.rows.postsWritten} written, ${a.rows.postsMissing} missing, ${a.rows.postsNotPublished} not published after the drain (${a.rows.drainedAtEnd} drained at the end); inbox updates ${a.rows.inboxUpdates}, ${a.rows.inboxLost} lost; on the replica ${a.rows.missingOnReplica} missing.`, '');
  lines.push('## Timeline', '', ...result.events.map((e) => `- ${n(e.t / 1000)} s (${e.fault}): ${e.message}`), '');
  return `${lines.join('\n')}\n`;
}
