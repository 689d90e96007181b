#!/usr/bin/env -S npx tsx
import path from 'node:path';
import { Command, Option } from 'commander';
import { Pool } from 'pg';
import { SingleBar, Presets } from 'cli-progress';
import { loadRuntimeConfig, DbopsConfig } from '../lambdas/db/env-config';
import { seedDemo, seedSteps } from '../local/demo-seed';
import { createExecutor } from '../lambdas/db/pool-from-env';
import { openInstances } from '../lambdas/db/instances';
import { startEmbeddedServer } from '../local/embedded-server';
import { collectHealth, healthRows } from '../lambdas/checks/health';
import { CloudWatchSink } from '../lambdas/metrics/cloudwatch-sink';
import { ConsoleSink, MemorySink, MetricSink } from '../lambdas/metrics/sink';
import { migrate } from '../lambdas/migrate/migrator';
import { COMMON_OPTIONS, coerceOptionStrings, describeOption, OptionSchema, ValidationError } from '../lambdas/tasks/options';
import { isTaskName, TASKS } from '../lambdas/tasks/registry';
import { optionSchemaOf, parseTaskRequest, runTask } from '../lambdas/tasks/runner';
import { TASK_NAMES, TaskName, TaskResult } from '../lambdas/tasks/types';

/** Thrown for an outcome that should end the process non-zero with a one-line reason. */
class CliFailure extends Error {}

function configFor(databaseUrl: string | undefined): DbopsConfig {
  const env = { ...process.env };
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  return loadRuntimeConfig(env);
}

function sinkFor(kind: string, config: DbopsConfig): MetricSink {
  if (kind === 'cloudwatch') return new CloudWatchSink({ namespace: config.metricsNamespace });
  if (kind === 'console') return new ConsoleSink((line) => console.error(line));
  return new MemorySink();
}

function collectPair(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new ValidationError(`--option expects key=value, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function formatTable(rows: Record<string, string>[]): string {
  if (rows.length === 0) return '';
  const columns = Object.keys(rows[0]);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map((c) => r[c] ?? '')))].join('\n');
}

function oneLine(result: TaskResult): string {
  const s = result.summary;
  const pick = (key: string) => (Array.isArray(s[key]) ? `${(s[key] as unknown[]).length} ${key}` : s[key] !== undefined ? `${key} ${JSON.stringify(s[key])}` : undefined);
  const keys = ['wouldRefresh', 'wouldVacuum', 'wouldAnalyze', 'wouldRebuild', 'wouldDropLeftovers', 'refreshed', 'partitionsCreated', 'rowsMoved', 'dropped', 'wouldDrop', 'vacuumed', 'rebuilt', 'droppedLeftovers', 'analyzed', 'maxDeadTuplePercent', 'longRunningQueries'];
  const parts = keys.map(pick).filter((p): p is string => p !== undefined);
  if (result.remaining.length) parts.push(`${result.remaining.length} remaining`);
  if (result.reason) parts.push(result.reason);
  return parts.join(', ');
}

async function runOne(task: TaskName, pairs: Record<string, string>, flags: { dryRun?: boolean; databaseUrl?: string; metrics: string }) {
  const options = coerceOptionStrings(task, optionSchemaOf(task), pairs);
  if (flags.dryRun) options.dryRun = true;
  // Bad options fail here, before a connection is even configured.
  parseTaskRequest({ task, ...options });
  const config = configFor(flags.databaseUrl);
  const executor = await createExecutor(config);
  const instances = TASKS[task].perInstance ? await openInstances(config, { warn: (m) => console.error(m) }) : undefined;
  try {
    return await runTask({ task, ...options }, { executor, sink: sinkFor(flags.metrics, config), settings: config, log: quietLog, instances: instances?.instances });
  } finally {
    await instances?.close();
    await executor.close();
  }
}

function quietLog(message: string, fields?: Record<string, unknown>): void {
  if (process.env.DBOPS_VERBOSE) console.error(fields ? `${message} ${JSON.stringify(fields)}` : message);
}

/** Tasks whose demo order matters (partitions before the views read them, ...); every other task follows in TASK_NAMES order. */
const DEMO_FIRST: readonly TaskName[] = ['create-partitions', 'refresh-materialized-views', 'update-statistics', 'vacuum-analyze', 'reindex', 'drop-old-partitions'];
const DEMO_ORDER: readonly TaskName[] = [...DEMO_FIRST, ...TASK_NAMES.filter((t) => !DEMO_FIRST.includes(t))];

/** `dbops run --help`: every task's options, read from the same specs the validator uses. */
export function taskOptionsHelp(): string {
  const list = (schema: OptionSchema) => Object.entries(schema).map(([name, spec]) => `    ${name} (${spec.type}): ${describeOption(spec)}`);
  const lines = ['', 'Task options (--option key=value):'];
  for (const task of TASK_NAMES) {
    const own = list(TASKS[task].options);
    lines.push(`  ${task}${own.length ? '' : ': none of its own'}`, ...own);
  }
  lines.push('  every task:', ...list(COMMON_OPTIONS));
  return lines.join('\n');
}

async function demo(options: { dataDir: string; scale: number; json?: boolean }): Promise<void> {
  const out = (line: string) => console.log(line);
  out(`Starting embedded PostgreSQL (data in ${options.dataDir})...`);
  const server = await startEmbeddedServer({ dataDir: options.dataDir, persistent: true });
  try {
    const admin = new Pool({ connectionString: server.url, max: 1 });
    const exists = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'dbops_demo'`);
    if (exists.rowCount === 0) await admin.query('CREATE DATABASE dbops_demo');
    await admin.end();
    const url = new URL(server.url);
    url.pathname = '/dbops_demo';
    const databaseUrl = url.toString();

    const migrated = await migrate({ databaseUrl });
    out(`Migrated: ${migrated.applied.length} applied, ${migrated.alreadyApplied.length} already applied.`);

    const pool = new Pool({ connectionString: databaseUrl, max: 1 });
    const steps = seedSteps({ scale: options.scale });
    const bar = new SingleBar({ format: 'Seeding demo data [{bar}] {value}/{total} {step}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 1000 }, Presets.shades_classic);
    bar.start(steps.length, 0, { step: '' });
    try {
      await seedDemo({ query: async (text: string) => (await pool.query(text)).rows }, { scale: options.scale, onStep: (i, step) => bar.update(i, { step: step.name }) });
    } finally {
      bar.stop();
      await pool.end();
    }

    const config = loadRuntimeConfig({ ...process.env, DATABASE_URL: databaseUrl, DBOPS_DRIVER: 'pg', DB_SECRET_ARN: undefined, DB_IAM_AUTH: undefined });
    const executor = await createExecutor(config);
    const sink = new MemorySink();
    const results: TaskResult[] = [];
    try {
      for (const task of DEMO_ORDER) results.push(await runTask({ task }, { executor, sink, settings: { ...config, environment: 'demo' }, log: quietLog }));
    } finally {
      await executor.close();
    }
    if (options.json) {
      out(JSON.stringify(results, null, 2));
    } else {
      out('');
      out(formatTable(results.map((r) => ({ task: r.task, status: r.status, ms: String(r.durationMs), result: oneLine(r) }))));
      out('');
      out(`${sink.data.length} metric data points collected (in-memory sink; CloudWatch in AWS).`);
    }
    const failed = results.filter((r) => r.status === 'failed');
    if (failed.length > 0) throw new CliFailure(`${failed.map((r) => r.task).join(', ')} failed: ${failed[0].reason}`);
  } finally {
    await server.stop();
  }
}

export function buildProgram(): Command {
  const program = new Command()
    .name('dbops')
    .description('Aurora PostgreSQL maintenance: migrations, scheduled tasks, health')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('migrate')
    .description('Apply sql/migrations in order')
    .option('--database-url <url>', 'connection string (default DATABASE_URL)')
    .option('--no-wait', 'stop at once if another runner holds the migration lock')
    .action(async (opts: { databaseUrl?: string; wait: boolean }) => {
      const result = await migrate({ databaseUrl: opts.databaseUrl, waitForLock: opts.wait, log: (m) => console.log(m) });
      console.log(`${result.applied.length} applied, ${result.alreadyApplied.length} already applied, ${result.durationMs} ms`);
      for (const gap of result.missingGrants) console.log(`missing grant: ${gap.grantedRole} to ${gap.member} (${gap.purpose}); see dbops.missing_grants`);
    });

  program
    .command('run')
    .description(`Run one maintenance task (${TASK_NAMES.join(', ')})`)
    .argument('<task>', 'task name')
    .option('--dry-run', 'report what would be done; change nothing')
    .option('--json', 'print the full result as JSON')
    .option('--option <key=value>', 'task option (repeatable)', collectPair, {} as Record<string, string>)
    .option('--database-url <url>', 'connection string (default DATABASE_URL)')
    .addOption(new Option('--metrics <sink>', 'where metrics go').choices(['console', 'cloudwatch', 'none']).default('console'))
    .addHelpText('after', taskOptionsHelp())
    .action(async (task: string, opts: { dryRun?: boolean; json?: boolean; option: Record<string, string>; databaseUrl?: string; metrics: string }) => {
      if (!isTaskName(task)) throw new ValidationError(`unknown task "${task}" (one of: ${TASK_NAMES.join(', ')})`);
      const result = await runOne(task, opts.option, opts);
      if (opts.json) console.log(JSON.stringify(result, null, 2));
      else console.log(`${result.task}: ${result.status} in ${result.durationMs} ms${oneLine(result) ? ` - ${oneLine(result)}` : ''}`);
      if (result.status === 'failed') throw new CliFailure(`${result.task} failed: ${result.reason}`);
    });

  program
    .command('health')
    .description('Print the health metrics as a table')
    .option('--json', 'print the raw report as JSON')
    .option('--database-url <url>', 'connection string (default DATABASE_URL)')
    .action(async (opts: { json?: boolean; databaseUrl?: string }) => {
      const config = configFor(opts.databaseUrl);
      const executor = await createExecutor(config);
      try {
        const report = await executor.withSession((session) => collectHealth(session), { applicationName: 'dbops:health' });
        console.log(opts.json ? JSON.stringify(report, null, 2) : formatTable(healthRows(report).map((r) => ({ ...r }))));
      } finally {
        await executor.close();
      }
    });

  program
    .command('demo')
    .description('Embedded PostgreSQL + migrations + demo data, then every task once')
    .option('--data-dir <dir>', 'where the demo cluster lives', path.join('.dbops', 'demo-pgdata'))
    .option('--scale <n>', 'demo data size (1 is about 100k rows)', (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0 || n > 20) throw new ValidationError(`--scale must be a number in (0, 20], got "${v}"`);
      return n;
    }, 1)
    .option('--json', 'print the task results as JSON')
    .action(async (opts: { dataDir: string; scale: number; json?: boolean }) => demo({ ...opts, dataDir: path.resolve(opts.dataDir) }));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    const e = error as Error & { code?: string; exitCode?: number };
    // commander already printed help/usage for its own errors.
    if (e.code?.startsWith('commander.')) return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : (e.exitCode ?? 1);
    console.error(`dbops: ${e.message.split('\n')[0]}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
