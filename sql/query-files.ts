import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * The platform's representative queries, one file per pattern in sql/queries/, shared by the
 * plan test (does each use the index it was built for?) and the benchmark (how fast is it?).
 *
 * A file starts with a header of `-- key: value` comment lines, then the SQL:
 *
 *   -- name: inbox_filter_sort                       (must equal the file name without .sql)
 *   -- description: what the platform uses it for
 *   -- expects-index: conversations_inbox_idx        (one line per index; all must be in the plan)
 *   -- index-only: true                              (optional: the expected indexes answer without heap reads)
 *   -- prunes: listening_mentions                    (optional: partitioned table the plan must prune)
 *   -- writes: true                                  (optional: the statement changes rows)
 *   -- param: $1 workspace_id bigint: the tenant whose inbox is shown
 *
 * Parameters are numbered from $1 with no gaps; each one is declared once and used in the SQL.
 *
 * A pattern that runs on objects the baseline schema (migrations below 030) lacks has its plain
 * form in sql/queries/baseline/<name>.sql, same parameters and columns: what it ran as before the
 * optimization migrations (the benchmark's baseline, the plan test's cost before them) and, for a
 * search, the definition its walk must equal.
 */
export const QUERIES_DIR = process.env.DBOPS_QUERIES_DIR ?? path.resolve(__dirname, 'queries');

export interface QueryParam {
  /** 1 for $1. */
  position: number;
  /** snake_case name, e.g. workspace_id. */
  name: string;
  /** PostgreSQL type the value is bound as, e.g. bigint, timestamptz, text[]. */
  type: string;
  /** What the value means and which values are realistic. */
  description: string;
}

export interface QueryFile {
  name: string;
  fileName: string;
  description: string;
  /** Indexes (or materialized views' indexes) the plan must use. */
  expectsIndexes: string[];
  /** The expected indexes hold every column the query reads from their table (Index Only Scan). */
  indexOnly: boolean;
  /** Partitioned tables whose plan must not touch every partition. */
  prunes: string[];
  /** True for statements that change rows (run them in a transaction you roll back when measuring plans). */
  writes: boolean;
  params: QueryParam[];
  /** The statement without the header comments or a trailing semicolon, ready to bind $1..$n. */
  sql: string;
  /** Its plain form on the baseline schema (sql/queries/baseline/<name>.sql), when it differs. */
  baselineSql?: string;
}

export class QueryFileError extends Error {
  constructor(
    readonly fileName: string,
    problem: string,
  ) {
    super(`sql/queries/${fileName}: ${problem}`);
    this.name = 'QueryFileError';
  }
}

const FILE_NAME = /^([a-z][a-z0-9_]*)\.sql$/;
const HEADER_LINE = /^--\s*([a-z-]+):\s*(.*?)\s*$/;
const PARAM = /^\$(\d+)\s+([a-z][a-z0-9_]*)\s+([a-z][a-z0-9_ ]*(?:\[\])?)\s*:\s*(\S.*)$/;
const KNOWN_KEYS = new Set(['name', 'description', 'expects-index', 'index-only', 'prunes', 'writes', 'param']);

export function loadQueryFiles(dir: string = QUERIES_DIR): QueryFile[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.sql'))
    .sort()
    .map((fileName) => withBaseline(parseQueryFile(fileName, readFileSync(path.join(dir, fileName), 'utf8')), dir));
}

export function loadQueryFile(name: string, dir: string = QUERIES_DIR): QueryFile {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`query name "${name}" must be snake_case`);
  return withBaseline(parseQueryFile(`${name}.sql`, readFileSync(path.join(dir, `${name}.sql`), 'utf8')), dir);
}

function withBaseline(query: QueryFile, dir: string): QueryFile {
  const file = path.join(dir, 'baseline', query.fileName);
  if (!existsSync(file)) return query;
  const baselineSql = sqlBody(readFileSync(file, 'utf8'));
  const used = new Set([...baselineSql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  if ([...used].some((n) => n > query.params.length)) {
    throw new QueryFileError(`baseline/${query.fileName}`, `binds more parameters than ${query.fileName} declares (${query.params.length})`);
  }
  return { ...query, baselineSql };
}

export function parseQueryFile(fileName: string, text: string): QueryFile {
  const fileMatch = FILE_NAME.exec(fileName);
  if (!fileMatch) throw new QueryFileError(fileName, 'file name must be snake_case and end in .sql');

  const header = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (!trimmed.startsWith('--')) break; // the header ends where the SQL starts
    const entry = HEADER_LINE.exec(trimmed);
    if (!entry) continue; // free-form comment
    const [, key, value] = entry;
    if (!KNOWN_KEYS.has(key)) throw new QueryFileError(fileName, `unknown header key "${key}" (known: ${[...KNOWN_KEYS].join(', ')})`);
    header.set(key, [...(header.get(key) ?? []), value]);
  }

  const single = (key: string): string | undefined => {
    const values = header.get(key);
    if (values && values.length > 1) throw new QueryFileError(fileName, `header "${key}" appears ${values.length} times`);
    return values?.[0];
  };

  const name = single('name');
  if (!name) throw new QueryFileError(fileName, 'missing "-- name:" header');
  if (name !== fileMatch[1]) throw new QueryFileError(fileName, `"-- name: ${name}" must match the file name "${fileMatch[1]}"`);
  const description = single('description');
  if (!description) throw new QueryFileError(fileName, 'missing "-- description:" header');
  const expectsIndexes = header.get('expects-index') ?? [];
  if (expectsIndexes.length === 0) throw new QueryFileError(fileName, 'missing "-- expects-index:" header (the index or materialized view index the plan must use)');
  for (const index of expectsIndexes) {
    if (!/^[a-z_][a-z0-9_]*$/.test(index)) throw new QueryFileError(fileName, `expects-index "${index}" is not an index name`);
  }
  const prunes = header.get('prunes') ?? [];
  const writes = flag(fileName, 'writes', single('writes'));
  const indexOnly = flag(fileName, 'index-only', single('index-only'));

  const body = sqlBody(text);
  if (body === '') throw new QueryFileError(fileName, 'no SQL after the header');
  if (/\bselect\s+(?:distinct\s+)?\*|\.\*/i.test(body)) throw new QueryFileError(fileName, 'select named columns, not *');
  if (/;\s*\S/.test(body)) throw new QueryFileError(fileName, 'holds more than one statement');

  const params = parseParams(fileName, header.get('param') ?? []);
  const used = new Set([...body.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  for (const param of params) {
    if (!used.has(param.position)) throw new QueryFileError(fileName, `$${param.position} (${param.name}) is declared but not used`);
  }
  for (const position of used) {
    if (position > params.length) throw new QueryFileError(fileName, `$${position} is used but not declared with "-- param:"`);
  }

  return { name, fileName, description, expectsIndexes, indexOnly, prunes, writes, params, sql: body };
}

function flag(fileName: string, key: string, value: string | undefined): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new QueryFileError(fileName, `"-- ${key}:" must be true or false, got "${value}"`);
}

function parseParams(fileName: string, lines: string[]): QueryParam[] {
  const params = lines.map((line) => {
    const m = PARAM.exec(line);
    if (!m) throw new QueryFileError(fileName, `param "${line}" must look like "$1 workspace_id bigint: what it means"`);
    return { position: Number(m[1]), name: m[2], type: m[3].trim(), description: m[4] };
  });
  params.forEach((param, i) => {
    if (param.position !== i + 1) throw new QueryFileError(fileName, `params must be declared in order $1..$n; found $${param.position} where $${i + 1} belongs`);
  });
  return params;
}

/** The SQL without whole-line comments or a trailing semicolon. */
function sqlBody(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .trim()
    .replace(/;\s*$/, '');
}
