import { AnalyzerError } from './errors';

/**
 * EXPLAIN ANALYZE executes its statement. This guard admits one plain SELECT (or WITH ... SELECT)
 * and nothing that writes; the READ ONLY transaction that explainQuery opens is the second line
 * of defence, for anything a lexical check cannot see (a function that writes).
 */
const WRITE_WORDS = new Set(['insert', 'update', 'delete', 'merge', 'truncate', 'copy', 'call']);

interface Scan {
  words: string[];
  /** Non-empty statements, split on top-level semicolons. */
  statements: number;
}

/** Words outside comments, string literals, quoted identifiers and dollar-quoted bodies. */
function scan(sql: string): Scan {
  const words: string[] = [];
  let statements = 0;
  let current = false; // the current statement has content
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i];
    const next = sql[i + 1];
    if (ch === '-' && next === '-') {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
      continue;
    }
    if (ch === '/' && next === '*') {
      let depth = 0;
      do {
        if (sql[i] === '/' && sql[i + 1] === '*') (depth += 1), (i += 2);
        else if (sql[i] === '*' && sql[i + 1] === '/') (depth -= 1), (i += 2);
        else i += 1;
      } while (depth > 0 && i < n);
      if (depth > 0) throw new AnalyzerError('unterminated block comment');
      continue;
    }
    if (ch === ';') {
      if (current) statements += 1;
      current = false;
      i += 1;
      continue;
    }
    if (/\s/.test(ch)) {
      i += 1;
      continue;
    }
    current = true;
    if (ch === "'" || ch === '"') {
      const escapes = ch === "'" && /[eE]/.test(sql[i - 1] ?? '') && !/[\w$]/.test(sql[i - 2] ?? ' ');
      i += 1;
      while (i < n) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === ch && sql[i + 1] === ch) i += 2;
        else if (sql[i] === ch) break;
        else i += 1;
      }
      if (i >= n) throw new AnalyzerError(ch === "'" ? 'unterminated string literal' : 'unterminated quoted identifier');
      i += 1;
      continue;
    }
    if (ch === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        if (close === -1) throw new AnalyzerError('unterminated dollar-quoted string');
        i = close + tag[0].length;
        continue;
      }
    }
    const word = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i, i + 64));
    if (word) {
      words.push(word[0].toLowerCase());
      i += word[0].length;
      continue;
    }
    i += 1;
  }
  if (current) statements += 1;
  return { words, statements };
}

/** Throws unless sql is exactly one read-only SELECT statement. */
export function assertSingleSelect(sql: string): void {
  if (typeof sql !== 'string' || sql.trim() === '') throw new AnalyzerError('explainQuery needs a SQL statement');
  const { words, statements } = scan(sql);
  if (statements === 0) throw new AnalyzerError('explainQuery needs a SQL statement, got only comments');
  if (statements > 1) throw new AnalyzerError(`explainQuery accepts a single statement, got ${statements}`);
  const first = words[0];
  if (first !== 'select' && first !== 'with') throw new AnalyzerError(`explainQuery only explains SELECT statements, got ${(first ?? '?').toUpperCase()}`);
  const write = words.find((w) => WRITE_WORDS.has(w));
  if (write) throw new AnalyzerError(`explainQuery refuses statements that modify data: found ${write.toUpperCase()}`);
  if (words.includes('into')) throw new AnalyzerError('explainQuery refuses SELECT ... INTO, which creates a table');
  for (let k = 0; k < words.length - 1; k += 1) {
    if (words[k] === 'for' && (words[k + 1] === 'share' || words[k + 1] === 'key' || words[k + 1] === 'no')) {
      throw new AnalyzerError('explainQuery refuses row-locking clauses (FOR SHARE / FOR KEY SHARE / FOR NO KEY UPDATE)');
    }
  }
}

/** The statement without trailing semicolons, ready to follow EXPLAIN (...). */
export function stripTrailingSemicolons(sql: string): string {
  return sql.replace(/[\s;]+$/, '');
}
