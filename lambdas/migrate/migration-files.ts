import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** In a Lambda bundle the SQL is copied beside the handler, and DBOPS_MIGRATIONS_DIR says where. */
export const MIGRATIONS_DIR = process.env.DBOPS_MIGRATIONS_DIR ?? path.resolve(__dirname, '..', '..', 'sql', 'migrations');

/** A file whose first lines contain this marker runs statement by statement, outside a transaction. */
export const NO_TRANSACTION_MARKER = '-- dbops:no-transaction';

export interface MigrationFile {
  /** File name, e.g. `003_optimization_indexes.sql`; also the version recorded once applied. */
  name: string;
  sql: string;
  checksum: string;
  transactional: boolean;
}

const FILE_PATTERN = /^(\d{3,})_[a-z0-9_]+\.sql$/;

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql).digest('hex');
}

export function loadMigrationFiles(dir: string = MIGRATIONS_DIR): MigrationFile[] {
  const names = readdirSync(dir).filter((name) => name.endsWith('.sql')).sort();
  const seen = new Map<string, string>();
  return names.map((name) => {
    const match = FILE_PATTERN.exec(name);
    if (!match) throw new Error(`migration file name "${name}" must look like 001_snake_case_name.sql`);
    const previous = seen.get(match[1]);
    if (previous) throw new Error(`migrations "${previous}" and "${name}" share the number ${match[1]}`);
    seen.set(match[1], name);
    const sql = readFileSync(path.join(dir, name), 'utf8');
    const header = sql.split('\n').slice(0, 5).map((line) => line.trim());
    return { name, sql, checksum: checksumOf(sql), transactional: !header.includes(NO_TRANSACTION_MARKER) };
  });
}
