import { quoteQualified } from '../db/session-settings';
import { IndexBloat, indexBloat } from '../checks/index-bloat';
import { invalidIndexes } from '../checks/invalid-indexes';
import { eachWithinBudget, qualifiedNameOption, qualify } from './shared';
import { TaskContext, defineTask } from './types';

/** INVALID copies a failed REINDEX CONCURRENTLY of one index left behind (<name>_ccnew[N] / _ccold[N]). */
const LEFTOVERS_OF_SQL = `
  SELECT format('%I.%I', n.nspname, c.relname) AS index_name
    FROM pg_class base
    JOIN pg_index bi ON bi.indexrelid = base.oid
    JOIN pg_index i ON i.indrelid = bi.indrelid AND NOT i.indisvalid
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE base.oid = to_regclass($1)
     AND left(c.relname, length(base.relname)) = base.relname
     AND substr(c.relname, length(base.relname) + 1) ~ '^_cc(new|old)[0-9]*$'`;

const SIZE_SQL = `SELECT pg_relation_size(to_regclass($1))::bigint AS bytes`;

/** Don't start a concurrent build with less than this left: it cannot be cut short safely. */
const MIN_BUDGET_PER_INDEX_MS = 60_000;

async function dropIndexConcurrently(ctx: TaskContext, index: string): Promise<void> {
  await ctx.maintain(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteQualified(index)}`, [], { label: index, noTransaction: true, statementTimeoutMs: 0 });
}

export const reindex = defineTask({
  name: 'reindex',
  description: 'Drop INVALID _ccnew/_ccold leftovers, then REINDEX INDEX CONCURRENTLY bloated btree indexes',
  statementTimeoutMs: 5 * 60_000,
  dataApiUnsupported:
    'REINDEX/DROP INDEX CONCURRENTLY cannot run inside a transaction and routinely outlast the 45 s Data API call limit; ' +
    'a call cut off mid-build leaves INVALID _ccnew indexes. Run reindex with DBOPS_DRIVER=pg.',
  options: {
    index: qualifiedNameOption('Only this index (schema.index)', 'index'),
    all: { type: 'boolean', description: 'Rebuild every btree index, bloated or not' },
    minBloatPercent: { type: 'number', min: 0, max: 100, default: 30, description: 'Estimated bloat share that triggers a rebuild' },
    minBloatBytes: { type: 'integer', min: 0, max: 1e15, default: 10 * 1024 * 1024, description: 'Estimated wasted bytes that trigger a rebuild' },
  },
  async run(ctx, options) {
    const droppedLeftovers: string[] = [];
    ctx.progress.droppedLeftovers = droppedLeftovers;
    const leftovers = (await invalidIndexes(ctx.reader)).filter((i) => i.reindexLeftover);
    let leftoverFailures: { item: string; error: string }[] = [];
    if (!ctx.dryRun) {
      // A copy that another session's REINDEX is still building holds its table's lock, so the
      // drop times out (reported) instead of interfering.
      ({ failures: leftoverFailures } = await eachWithinBudget(ctx, leftovers, (l) => l.qualifiedName, async (leftover) => {
        await dropIndexConcurrently(ctx, leftover.qualifiedName);
        droppedLeftovers.push(leftover.qualifiedName);
      }));
    }

    const { method, indexes } = await indexBloat(ctx.reader);
    const wanted = options.index ? qualify(options.index) : undefined;
    const candidates = indexes.filter((i: IndexBloat) =>
      wanted ? i.index === wanted : options.all || (i.bloatPercent >= options.minBloatPercent && i.bloatBytes >= options.minBloatBytes),
    );
    if (wanted && candidates.length === 0) {
      ctx.log(`${wanted} is not a valid btree index with pages; nothing to rebuild`);
    }

    const rebuilt: { index: string; bytesBefore: number; bytesAfter: number; estimatedBloatPercent: number }[] = [];
    ctx.progress.rebuilt = rebuilt;
    if (ctx.dryRun) {
      return {
        summary: { method, wouldDropLeftovers: leftovers.map((l) => l.qualifiedName), wouldRebuild: candidates.map(brief) },
        metrics: [],
      };
    }
    const budgetPerIndex = Number.isFinite(ctx.budget.remainingMs()) ? MIN_BUDGET_PER_INDEX_MS : 0;
    const { remaining, failures } = await eachWithinBudget(
      ctx,
      candidates,
      (i) => i.index,
      async (i) => {
        const [before] = await ctx.read<{ bytes: string }>(SIZE_SQL, [i.index]);
        try {
          await ctx.maintain(`REINDEX INDEX CONCURRENTLY ${quoteQualified(i.index)}`, [], { label: i.index, noTransaction: true, statementTimeoutMs: 0 });
        } finally {
          // A build that failed (lock timeout while waiting for old snapshots, cancel, error)
          // leaves an INVALID copy; drop it now rather than next month.
          const left = await ctx.read<{ index_name: string }>(LEFTOVERS_OF_SQL, [i.index]).catch(() => []);
          for (const row of left) {
            await dropIndexConcurrently(ctx, row.index_name);
            droppedLeftovers.push(row.index_name);
          }
        }
        const [after] = await ctx.read<{ bytes: string }>(SIZE_SQL, [i.index]);
        rebuilt.push({ index: i.index, bytesBefore: Number(before.bytes), bytesAfter: Number(after.bytes), estimatedBloatPercent: round(i.bloatPercent) });
      },
      budgetPerIndex,
    );
    return {
      summary: { method, candidates: candidates.length, droppedLeftovers, rebuilt },
      metrics: [],
      remaining,
      failures: [...leftoverFailures, ...failures],
    };
  },
});

function brief(i: IndexBloat) {
  return { index: i.index, bytes: i.bytes, bloatBytes: i.bloatBytes, bloatPercent: round(i.bloatPercent) };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
