/** Display helpers for the CLI table (no imports: check files use them and the catalog imports the check files). */
export function percent(value: number | null): string {
  return value === null ? 'n/a' : `${value.toFixed(2)} %`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
