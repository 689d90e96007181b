#!/usr/bin/env -S npx tsx
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { MAX_SECONDS, MIN_SECONDS } from '../soak/plan';
import { goalLines, writeSoakResults } from '../soak/report';
import { runSoak } from '../soak/run';

function secondsOf(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < MIN_SECONDS || n > MAX_SECONDS) throw new InvalidArgumentError(`--seconds must be a whole number from ${MIN_SECONDS} to ${MAX_SECONDS}, got "${value}"`);
  return n;
}

function scaleOf(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.05 || n > 10) throw new InvalidArgumentError(`--scale must be a number from 0.05 to 10, got "${value}"`);
  return n;
}

const program = new Command()
  .name('soak')
  .description(
    'Reliability soak on loopback: a primary and a real streaming replica from the embedded binaries, an application workload through ' +
      'the platform-db pools, every maintenance task on a compressed schedule, and six injected faults. Results go to soak-results/.',
  )
  .option('--seconds <n>', `length of the run (${MIN_SECONDS}-${MAX_SECONDS}); the fault windows scale with it`, secondsOf, 60)
  .option('--scale <n>', 'demo seed scale (1 is about 100k rows)', scaleOf, 0.1)
  .option('--out <dir>', 'results folder', 'soak-results')
  .action(async (options: { seconds: number; scale: number; out: string }) => {
    const started = Date.now();
    const result = await runSoak({ seconds: options.seconds, scale: options.scale, progress: (m) => console.log(`[soak] ${m}`) });
    const files = writeSoakResults(result, path.resolve(options.out));
    console.log(`\nsoak (${options.seconds} s) finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    for (const line of goalLines(result.analysis)) console.log(`  ${line}`);
    const misses = result.analysis.goals.filter((g) => !g.ok);
    console.log(`\n${misses.length === 0 ? 'all goals met' : `${misses.length} goal(s) missed`}`);
    console.log(`report: ${files.markdown}\njson:   ${files.json}\nchart:  ${files.svg}`);
    if (misses.some((g) => g.kind === 'correctness')) process.exitCode = 1;
  });

program.parseAsync().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
