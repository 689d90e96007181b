/**
 * Splits a SQL script into statements. Only needed for scripts that must run outside a
 * transaction (each CREATE INDEX CONCURRENTLY has to be its own simple query); everything else
 * is sent whole. Understands quoted identifiers, string literals (including E'' escapes),
 * dollar-quoted bodies and both comment styles, so a `;` inside any of them never splits.
 */
export function splitSqlStatements(script: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  const n = script.length;

  const push = (end: number) => {
    const text = script.slice(start, end).trim();
    if (text.length > 0 && !isOnlyComments(text)) statements.push(text);
  };

  while (i < n) {
    const ch = script[i];
    const next = script[i + 1];
    if (ch === '-' && next === '-') {
      const eol = script.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
    } else if (ch === '/' && next === '*') {
      i = skipBlockComment(script, i);
    } else if (ch === "'") {
      const escaped = i > 0 && /[eE]/.test(script[i - 1]) && !/[\w$]/.test(script[i - 2] ?? ' ');
      i = skipQuoted(script, i, "'", escaped);
    } else if (ch === '"') {
      i = skipQuoted(script, i, '"', false);
    } else if (ch === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i));
      if (tag && !/[\w$]/.test(script[i - 1] ?? ' ')) {
        const close = script.indexOf(tag[0], i + tag[0].length);
        if (close === -1) throw new Error(`unterminated dollar-quoted string ${tag[0]} at offset ${i}`);
        i = close + tag[0].length;
      } else {
        i += 1;
      }
    } else if (ch === ';') {
      push(i);
      i += 1;
      start = i;
    } else {
      i += 1;
    }
  }
  push(n);
  return statements;
}

function skipBlockComment(script: string, from: number): number {
  // Block comments nest in PostgreSQL.
  let depth = 0;
  let i = from;
  while (i < script.length) {
    if (script[i] === '/' && script[i + 1] === '*') {
      depth += 1;
      i += 2;
    } else if (script[i] === '*' && script[i + 1] === '/') {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  throw new Error(`unterminated block comment at offset ${from}`);
}

function skipQuoted(script: string, from: number, quote: string, backslashEscapes: boolean): number {
  let i = from + 1;
  while (i < script.length) {
    const ch = script[i];
    if (backslashEscapes && ch === '\\') {
      i += 2;
    } else if (ch === quote) {
      if (script[i + 1] === quote) i += 2; // doubled quote
      else return i + 1;
    } else {
      i += 1;
    }
  }
  throw new Error(`unterminated ${quote === "'" ? 'string literal' : 'quoted identifier'} at offset ${from}`);
}

function isOnlyComments(text: string): boolean {
  return text.replace(/--[^\n]*(\n|$)/g, '').replace(/\/\*[\s\S]*?\*\//g, '').trim().length === 0;
}
