#!/usr/bin/env -S npx tsx
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { consoleProgress } from '../benchmark/progress';
import { writeResults } from '../benchmark/report';
import { Section, defaultRepoRoot, runBenchmark } from '../benchmark/run';
import { SCALE_NAMES, scaleSpec } from '../benchmark/scale';

const SECTIONS: Section[] = ['queries', 'ingest', 'queue', 'maintenance', 'bundles', 'growth'];

function seedOf(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError(`--seed must be a whole number below 1e9, got "${value}"`);
  return Number(value);
}

function multipliersOf(value: string): number[] {
  const list = value.split(',').map((s) => s.trim());
  if (!list.length || list.some((s) => !/^[1-9]\d?$/.test(s)) || Number(list[0]) !== 1) {
    throw new InvalidArgumentError(`--growth-multipliers must be whole numbers 1-99 starting with 1, e.g. 1,2,4; got "${value}"`);
  }
  return list.map(Number);
}

function dayHoursOf(value: string): number {
  if (!/^\d{1,2}$/.test(value) || Number(value) > 23) throw new InvalidArgumentError(`--growth-day-hours must be a whole number 0-23, got "${value}"`);
  return Number(value);
}

function sectionsOf(value: string): Section[] {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = list.filter((s) => !(SECTIONS as string[]).includes(s));
  if (unknown.length) throw new InvalidArgumentError(`unknown section(s) ${unknown.join(', ')} (known: ${SECTIONS.join(', ')})`);
  return list as Section[];
}

const program = new Command()
  .name('bench')
  .description(
    'Generate deterministic platform data and measure query patterns (optimized vs baseline), view reads, mention ingest, ' +
      'the publishing queue, maintenance tasks and Lambda bundles. Results go to bench-results/.',
  )
  .addOption(new Option('--scale <scale>', 'data volume').choices([...SCALE_NAMES]).default('small'))
  .option('--database-url <url>', 'run on this server (needs CREATE DATABASE) instead of a fresh embedded PostgreSQL')
  .option('--seed <n>', 'seed of the data and parameter generators', seedOf, 42)
  .option('--skip <sections>', `comma-separated sections to leave out (${SECTIONS.join(', ')})`, sectionsOf, [] as Section[])
  .option('--out <dir>', 'results folder', 'bench-results')
  .option('--with-fk-checks', 'load with foreign-key triggers on (slower; default skips them as superuser)')
  .option('--keep-databases', 'leave the bench_* databases on an external server')
  .addOption(new Option('--growth-scale <scale>', 'history-growth section: the scale whose history is multiplied (default: --scale)').choices([...SCALE_NAMES]))
  .option('--growth-multipliers <list>', 'history-growth section: history sizes, e.g. 1,2,4', multipliersOf, [1, 2, 4])
  .option('--growth-day-hours <n>', 'history-growth section: earlier hours of the same load (each refreshed) before the measured hour, 0-23', dayHoursOf, 0)
  .action(async (options: {
    scale: string; databaseUrl?: string; seed: number; skip: Section[]; out: string; withFkChecks?: boolean; keepDatabases?: boolean;
    growthScale?: string; growthMultipliers: number[]; growthDayHours: number;
  }) => {
    const spec = scaleSpec(options.scale);
    const progress = consoleProgress();
    const started = Date.now();
    const result = await runBenchmark({
      spec,
      seed: options.seed,
      repoRoot: defaultRepoRoot(),
      databaseUrl: options.databaseUrl,
      skip: options.skip,
      progress,
      skipForeignKeyChecks: !options.withFkChecks,
      keepDatabases: options.keepDatabases,
      growth: { spec: scaleSpec(options.growthScale ?? options.scale), multipliers: options.growthMultipliers, dayHours: options.growthDayHours },
    });
    progress.stop();
    const files = writeResults(result, path.resolve(options.out));
    const misses = result.targets.filter((t) => !t.meetsGoal);
    console.log(`\nbenchmark (${spec.name}) finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    for (const t of result.targets) {
      console.log(`  ${t.meetsGoal ? 'ok  ' : 'MISS'} ${t.area}: ${t.item} = ${t.value.toLocaleString('en-US', { maximumFractionDigits: 2 })} ${t.unit} (goal ${t.goalText}, spec ${t.specText})`);
    }
    console.log(`\n${misses.length === 0 ? 'all goals met' : `${misses.length} goal(s) missed`}`);
    console.log(`report: ${files.markdown}\njson:   ${files.json}\nchart:  ${files.svg}`);
  });

program.parseAsync().catch((error: Error) => {
  console.error(`bench: ${error.stack ?? error.message}`);
  process.exit(1);
});
