#!/usr/bin/env -S npx tsx
import { Command } from 'commander';
import { migrate } from '../lambdas/migrate/migrator';

const program = new Command()
  .name('migrate')
  .description('Apply sql/migrations in order, recording each file and its checksum in dbops.schema_migrations')
  .option('--database-url <url>', 'PostgreSQL connection string (default: DATABASE_URL)')
  .option('--no-wait', 'stop at once if another runner holds the migration lock')
  .action(async (options: { databaseUrl?: string; wait: boolean }) => {
    const result = await migrate({ databaseUrl: options.databaseUrl, waitForLock: options.wait, log: (m) => console.log(m) });
    console.log(`${result.applied.length} applied, ${result.alreadyApplied.length} already applied, ${result.durationMs} ms`);
      for (const gap of result.missingGrants) console.log(`missing grant: ${gap.grantedRole} to ${gap.member} (${gap.purpose}); see dbops.missing_grants`);
  });

program.parseAsync().catch((error: Error) => {
  console.error(`migrate: ${error.message}`);
  process.exit(1);
});
