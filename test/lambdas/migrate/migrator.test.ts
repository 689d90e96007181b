import { mkdtempSync, writeFileSync, copyFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { COMMENT_ONLY_EARLIER_CHECKSUMS, loadMigrationFiles, MIGRATIONS_DIR } from '../../../lambdas/migrate/migration-files';
import { migrate, MigrationChecksumError, MigrationLockedError, migrationStatus } from '../../../lambdas/migrate/migrator';
import { createEmptyDatabase, TestDatabase } from '../../support/database';

const copies: string[] = [];
afterAll(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

function copyOfMigrations(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dbops-migrations-'));
  copies.push(dir);
  for (const name of readdirSync(MIGRATIONS_DIR)) copyFileSync(path.join(MIGRATIONS_DIR, name), path.join(dir, name));
  return dir;
}

describe('migration runner', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createEmptyDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  it('applies every file once, records checksums, and a re-run is a no-op', async () => {
    const files = loadMigrationFiles();
    const first = await migrate({ databaseUrl: db.url });
    expect(first.applied).toEqual(files.map((f) => f.name));
    expect(first.alreadyApplied).toEqual([]);

    const rows = await db.query<{ version: string; checksum: string }>('SELECT version, checksum FROM dbops.schema_migrations ORDER BY version');
    expect(rows).toEqual(files.map((f) => ({ version: f.name, checksum: f.checksum })));

    const objectsBefore = await db.query(`SELECT count(*)::int AS n FROM pg_class`);
    const second = await migrate({ databaseUrl: db.url });
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(files.map((f) => f.name));
    expect(await db.query(`SELECT count(*)::int AS n FROM pg_class`)).toEqual(objectsBefore);
    const status = await migrationStatus(db.url);
    expect(status.every((s) => s.applied)).toBe(true);
  });

  it('stops with an error naming a file that changed after it was applied', async () => {
    const dir = copyOfMigrations();
    await migrate({ databaseUrl: db.url, dir });
    const [firstFile] = readdirSync(dir).sort();
    writeFileSync(path.join(dir, firstFile), `-- edited\nSELECT 1;\n`);
    const failure = migrate({ databaseUrl: db.url, dir });
    await expect(failure).rejects.toBeInstanceOf(MigrationChecksumError);
    await expect(migrate({ databaseUrl: db.url, dir })).rejects.toThrow(firstFile);
  });

  it('accepts the checksum a file had before a comment-only change, and no other', async () => {
    const dir = copyOfMigrations();
    await migrate({ databaseUrl: db.url, dir });
    const [[name, [earlier]]] = Object.entries(COMMENT_ONLY_EARLIER_CHECKSUMS);
    expect(readdirSync(dir)).toContain(name);
    await db.query(`UPDATE dbops.schema_migrations SET checksum = $2 WHERE version = $1`, [name, earlier]);
    expect((await migrate({ databaseUrl: db.url, dir })).alreadyApplied).toContain(name);
    await db.query(`UPDATE dbops.schema_migrations SET checksum = repeat('0', 64) WHERE version = $1`, [name]);
    await expect(migrate({ databaseUrl: db.url, dir })).rejects.toThrow(name);
  });

  it('rolls a failing transactional file back completely and records nothing', async () => {
    const dir = copyOfMigrations();
    writeFileSync(path.join(dir, '900_broken.sql'), `CREATE TABLE dbops.half_done (id int);\nSELECT * FROM no_such_table;\n`);
    await expect(migrate({ databaseUrl: db.url, dir })).rejects.toThrow(/900_broken\.sql failed: relation "no_such_table" does not exist/);
    expect(await db.query(`SELECT to_regclass('dbops.half_done') AS t`)).toEqual([{ t: null }]);
    expect(await db.query(`SELECT count(*)::int AS n FROM dbops.schema_migrations WHERE version = '900_broken.sql'`)).toEqual([{ n: 0 }]);
  });

  it('runs a no-transaction file statement by statement, so CREATE INDEX CONCURRENTLY works, and refuses one without IF NOT EXISTS', async () => {
    const dir = copyOfMigrations();
    writeFileSync(path.join(dir, '900_table.sql'), `CREATE TABLE dbops.t (id int, note text);`);
    writeFileSync(
      path.join(dir, '901_concurrent.sql'),
      `-- dbops:no-transaction\n-- a ; inside a comment does not split\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_note_idx ON dbops.t (note) WHERE note <> ';';\nCOMMENT ON INDEX dbops.t_note_idx IS $$lookup; by note$$;\n`,
    );
    await migrate({ databaseUrl: db.url, dir });
    expect(await db.query(`SELECT obj_description('dbops.t_note_idx'::regclass) AS c`)).toEqual([{ c: 'lookup; by note' }]);

    writeFileSync(path.join(dir, '902_unsafe.sql'), `-- dbops:no-transaction\nCREATE INDEX CONCURRENTLY t_id_idx ON dbops.t (id);\n`);
    await expect(migrate({ databaseUrl: db.url, dir })).rejects.toThrow(/902_unsafe\.sql.*IF NOT EXISTS/);
  });

  it('drops an INVALID index left by a crashed concurrent build before re-creating it', async () => {
    const dir = copyOfMigrations();
    writeFileSync(path.join(dir, '900_table.sql'), `CREATE TABLE dbops.u (id int);\nINSERT INTO dbops.u VALUES (1), (1);`);
    await migrate({ databaseUrl: db.url, dir });
    // A failed unique concurrent build leaves an INVALID index behind, as a crash would.
    await expect(db.query(`CREATE UNIQUE INDEX CONCURRENTLY u_id_idx ON dbops.u (id)`)).rejects.toThrow();
    expect(await db.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'dbops.u_id_idx'::regclass`)).toEqual([{ indisvalid: false }]);
    await db.query(`DELETE FROM dbops.u WHERE ctid = (SELECT max(ctid) FROM dbops.u)`);
    writeFileSync(path.join(dir, '901_index.sql'), `-- dbops:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS u_id_idx ON dbops.u (id);\n`);
    await migrate({ databaseUrl: db.url, dir });
    expect(await db.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'dbops.u_id_idx'::regclass`)).toEqual([{ indisvalid: true }]);
  });

  it('serializes two runners started at once: each file is applied exactly once', async () => {
    const [a, b] = await Promise.all([migrate({ databaseUrl: db.url }), migrate({ databaseUrl: db.url })]);
    const files = loadMigrationFiles().map((f) => f.name);
    expect([...a.applied, ...b.applied].sort()).toEqual(files);
    expect(a.applied.length === 0 || b.applied.length === 0).toBe(true);
  });

  it('with waitForLock false, a second runner stops instead of waiting', async () => {
    const holder = db.newPool({ max: 1 });
    const client = await holder.connect();
    try {
      await client.query(`SELECT pg_advisory_lock(hashtext('dbops:migrate'))`);
      await expect(migrate({ databaseUrl: db.url, waitForLock: false })).rejects.toBeInstanceOf(MigrationLockedError);
      expect(await db.query(`SELECT to_regclass('dbops.schema_migrations') AS t`)).toEqual([{ t: null }]);
    } finally {
      client.release();
    }
  });
});
