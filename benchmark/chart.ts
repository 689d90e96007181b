/**
 * A hand-written SVG bar chart: p95 per query pattern, baseline next to optimized, on a log
 * scale (the two differ by orders of magnitude), with the goal and the spec drawn as lines.
 */
export interface ChartRow {
  label: string;
  baselineMs: number;
  optimizedMs: number;
  baselineLabel: string;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function p95Chart(rows: ChartRow[], options: { title: string; goalMs: number; specMs: number }): string {
  const labelWidth = 290;
  const plotWidth = 560;
  const rowHeight = 34;
  const top = 56;
  // Room on the right for the value printed after the longest bar.
  const width = labelWidth + plotWidth + 130;
  const height = top + rows.length * rowHeight + 60;
  const values = rows.flatMap((r) => [r.baselineMs, r.optimizedMs]).filter((v) => Number.isFinite(v) && v > 0);
  const minExp = Math.floor(Math.log10(Math.min(0.1, ...values)));
  const maxExp = Math.ceil(Math.log10(Math.max(options.specMs * 2, ...values)));
  const x = (ms: number) => labelWidth + ((Math.log10(Math.max(ms, 10 ** minExp)) - minExp) / (maxExp - minExp)) * plotWidth;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(options.title)}</text>`,
    `<rect x="${labelWidth}" y="32" width="12" height="12" fill="#c8553d"/><text x="${labelWidth + 16}" y="42">baseline (no 030+ migrations; live aggregate for view reads)</text>`,
    `<rect x="${labelWidth}" y="${height - 22}" width="12" height="12" fill="#2f6690"/><text x="${labelWidth + 16}" y="${height - 12}">optimized</text>`,
  );
  for (let e = minExp; e <= maxExp; e++) {
    const gx = x(10 ** e);
    const label = e < 0 ? (10 ** e).toFixed(-e) : `${10 ** e}`;
    parts.push(
      `<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${top + rows.length * rowHeight}" stroke="#dddddd"/>`,
      `<text x="${gx}" y="${top + rows.length * rowHeight + 16}" text-anchor="middle" fill="#555555">${label} ms</text>`,
    );
  }
  for (const [ms, name, color] of [
    [options.goalMs, `goal ${options.goalMs} ms`, '#2a9d8f'],
    [options.specMs, `spec ${options.specMs} ms`, '#e76f51'],
  ] as const) {
    const gx = x(ms);
    parts.push(
      `<line x1="${gx.toFixed(1)}" y1="${top - 6}" x2="${gx.toFixed(1)}" y2="${top + rows.length * rowHeight}" stroke="${color}" stroke-dasharray="4 3" stroke-width="1.5"/>`,
      `<text x="${(gx + 3).toFixed(1)}" y="${top + rows.length * rowHeight + 30}" fill="${color}">${name}</text>`,
    );
  }
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    parts.push(`<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${escape(row.label)}</text>`);
    for (const [ms, dy, color, text] of [
      [row.baselineMs, 3, '#c8553d', `${fmt(row.baselineMs)} ms${row.baselineLabel}`],
      [row.optimizedMs, 16, '#2f6690', `${fmt(row.optimizedMs)} ms`],
    ] as const) {
      if (!Number.isFinite(ms)) continue;
      const w = Math.max(1, x(ms) - labelWidth);
      parts.push(
        `<rect x="${labelWidth}" y="${y + dy}" width="${w.toFixed(1)}" height="12" fill="${color}"/>`,
        `<text x="${(labelWidth + w + 4).toFixed(1)}" y="${y + dy + 10}" font-size="10" fill="#333333">${escape(text)}</text>`,
      );
    }
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}
