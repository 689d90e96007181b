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

/**
 * Checksums a file had in a landed commit before a change to its comments alone: a database that
 * recorded one ran the same SQL, so it is no changed migration. 110 gained two comment lines of
 * figures in 1360fad after 5be751c had landed; the file is back to 5be751c's text, and a database
 * migrated in between recorded this checksum.
 */
export const COMMENT_ONLY_EARLIER_CHECKSUMS: Readonly<Record<string, readonly string[]>> = {
  '110_publish_ready.sql': ['ce90f5a14d5a69c011b99e2ea319099bce0e8bbe47893b187e2c1d59301e5df4'],
};

/** Whether a recorded checksum is the file's, now or before a comment-only change. */
export function checksumMatches(file: MigrationFile, recorded: string): boolean {
  return recorded === file.checksum || (COMMENT_ONLY_EARLIER_CHECKSUMS[file.name] ?? []).includes(recorded);
}

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
