/**
 * Session settings for maintenance statements. set_config() takes bound values, so a timeout
 * never has to be spliced into SQL text; is_local=true is SET LOCAL (ends with the transaction).
 */
export interface TimeoutSettings {
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
}

export interface SettingStatement {
  text: string;
  params: string[];
}

/** One statement that applies the given timeouts, or undefined when there is nothing to set. */
export function timeoutSettingsStatement(settings: TimeoutSettings, local: boolean): SettingStatement | undefined {
  const parts: string[] = [];
  const params: string[] = [];
  const add = (name: string, value: number | undefined) => {
    if (value === undefined) return;
    if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative whole number of milliseconds, got ${value}`);
    params.push(String(value));
    parts.push(`set_config('${name}', $${params.length}, ${local})`);
  };
  add('lock_timeout', settings.lockTimeoutMs);
  add('statement_timeout', settings.statementTimeoutMs);
  if (parts.length === 0) return undefined;
  return { text: `SELECT ${parts.join(', ')}`, params };
}

/** Quote an identifier the way format('%I') / quote_ident would, for names read from the catalog. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** 'schema.name' (as stored in dbops registries) -> "schema"."name"; a bare name stays bare-quoted. */
export function quoteQualified(qualified: string): string {
  const dot = qualified.indexOf('.');
  if (dot < 0) return quoteIdent(qualified);
  return `${quoteIdent(qualified.slice(0, dot))}.${quoteIdent(qualified.slice(dot + 1))}`;
}
