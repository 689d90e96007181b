import type { SecondBucket } from './analysis';
import type { SoakPlan } from './plan';

/**
 * A hand-written SVG line chart in the benchmark's style: application p99 per second on a log
 * scale, the fault windows shaded and lettered, the baseline shaded grey, 3x the baseline p99
 * drawn as the goal line.
 */
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function p99TimelineChart(timeline: SecondBucket[], plan: SoakPlan, options: { title: string; baselineP99Ms: number | null }): string {
  const left = 60;
  const plotWidth = 820;
  const top = 50;
  const plotHeight = 220;
  const width = left + plotWidth + 30;
  const height = top + plotHeight + 60;
  const seconds = Math.max(1, plan.durationMs / 1000);
  const values = timeline.map((b) => b.p99Ms).filter((v): v is number => v !== null && v > 0);
  const goal = options.baselineP99Ms === null ? null : 3 * options.baselineP99Ms;
  const minExp = Math.floor(Math.log10(Math.max(0.1, Math.min(1, ...values))));
  const maxExp = Math.ceil(Math.log10(Math.max(10, goal ?? 0, ...values)));
  const x = (s: number) => left + (s / seconds) * plotWidth;
  const y = (ms: number) => top + plotHeight - ((Math.log10(Math.max(ms, 10 ** minExp)) - minExp) / (maxExp - minExp)) * plotHeight;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(options.title)}</text>`,
    `<rect x="${x(0).toFixed(1)}" y="${top}" width="${(x(plan.baselineEndMs / 1000) - x(0)).toFixed(1)}" height="${plotHeight}" fill="#eeeeee"/>`,
    `<text x="${(x(plan.baselineEndMs / 2000)).toFixed(1)}" y="${top + 14}" text-anchor="middle" fill="#777777">baseline</text>`,
  ];
  for (const w of plan.windows) {
    const x0 = x(w.startMs / 1000);
    const x1 = x(w.endMs / 1000);
    parts.push(
      `<rect x="${x0.toFixed(1)}" y="${top}" width="${(x1 - x0).toFixed(1)}" height="${plotHeight}" fill="#f4a261" fill-opacity="0.25"/>`,
      `<text x="${((x0 + x1) / 2).toFixed(1)}" y="${top + 14}" text-anchor="middle" fill="#9c4a1a" font-weight="bold">(${w.fault})</text>`,
    );
  }
  for (let e = minExp; e <= maxExp; e++) {
    const gy = y(10 ** e);
    const label = e < 0 ? (10 ** e).toFixed(-e) : `${10 ** e}`;
    parts.push(
      `<line x1="${left}" y1="${gy.toFixed(1)}" x2="${left + plotWidth}" y2="${gy.toFixed(1)}" stroke="#dddddd"/>`,
      `<text x="${left - 6}" y="${(gy + 4).toFixed(1)}" text-anchor="end" fill="#555555">${label} ms</text>`,
    );
  }
  const step = seconds <= 120 ? 10 : seconds <= 900 ? 60 : 600;
  for (let s = 0; s <= seconds; s += step) {
    parts.push(`<text x="${x(s).toFixed(1)}" y="${top + plotHeight + 16}" text-anchor="middle" fill="#555555">${s} s</text>`);
  }
  if (goal !== null) {
    parts.push(
      `<line x1="${left}" y1="${y(goal).toFixed(1)}" x2="${left + plotWidth}" y2="${y(goal).toFixed(1)}" stroke="#2a9d8f" stroke-dasharray="4 3" stroke-width="1.5"/>`,
      `<text x="${left + plotWidth - 4}" y="${(y(goal) - 4).toFixed(1)}" text-anchor="end" fill="#2a9d8f">goal: 3x baseline p99 = ${goal.toFixed(1)} ms</text>`,
    );
  }
  const points = timeline.filter((b) => b.p99Ms !== null).map((b) => `${x(b.t + 0.5).toFixed(1)},${y(b.p99Ms!).toFixed(1)}`);
  if (points.length) parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="#2f6690" stroke-width="1.5"/>`);
  parts.push(
    `<rect x="${left}" y="${height - 22}" width="12" height="12" fill="#2f6690"/><text x="${left + 16}" y="${height - 12}">application p99 per second (all operations)</text>`,
    `<rect x="${left + 320}" y="${height - 22}" width="12" height="12" fill="#f4a261" fill-opacity="0.5"/><text x="${left + 336}" y="${height - 12}">fault windows (a)-(f)</text>`,
    '</svg>',
  );
  return parts.join('\n');
}
