import type { Pool } from 'pg';
import { fromPg, Queryable } from '../../lambdas/checks/queryable';
import { duplicateIndexes, DuplicateIndex } from '../../lambdas/checks/duplicate-indexes';
import { explainQuery, ExplainOptions, ExplainPlan } from '../../lambdas/checks/explain';
import { getIndexStats, IndexStats } from '../../lambdas/checks/index-stats';
import { invalidIndexes, InvalidIndex } from '../../lambdas/checks/invalid-indexes';
import { missingIndexHints, MissingIndexHint, MissingIndexOptions } from '../../lambdas/checks/missing-index-hints';
import { sequencesNearOverflow, SequenceNearOverflow } from '../../lambdas/checks/sequence-overflow';
import { getSlowQueries, SlowQuery } from '../../lambdas/checks/slow-queries';
import { getTableStats, TableStats } from '../../lambdas/checks/table-stats';
import { transactionIdWraparound, WraparoundReport } from '../../lambdas/checks/transaction-id-age';
import { unusedIndexes, UnusedIndex } from '../../lambdas/checks/unused-indexes';

/**
 * PgHero-style diagnostics over one pool. Each method is a thin call to its check in lambdas/checks,
 * the library the health-check task and `dbops health` use too.
 */
export class QueryAnalyzer {
  private readonly db: Queryable;

  constructor(private readonly pool: Pool) {
    this.db = fromPg(pool);
  }

  getSlowQueries(thresholdMs = 1000, limit?: number): Promise<SlowQuery[]> {
    return getSlowQueries(this.db, thresholdMs, limit);
  }

  getTableStats(table: string): Promise<TableStats> {
    return getTableStats(this.db, table);
  }

  getIndexStats(table: string): Promise<IndexStats[]> {
    return getIndexStats(this.db, table);
  }

  explainQuery(sql: string, options?: ExplainOptions): Promise<ExplainPlan> {
    return explainQuery(this.pool, sql, options);
  }

  unusedIndexes(): Promise<UnusedIndex[]> {
    return unusedIndexes(this.db);
  }

  duplicateIndexes(): Promise<DuplicateIndex[]> {
    return duplicateIndexes(this.db);
  }

  invalidIndexes(): Promise<InvalidIndex[]> {
    return invalidIndexes(this.db);
  }

  missingIndexHints(options?: MissingIndexOptions): Promise<MissingIndexHint[]> {
    return missingIndexHints(this.db, options);
  }

  sequencesNearOverflow(thresholdPercent?: number): Promise<SequenceNearOverflow[]> {
    return sequencesNearOverflow(this.db, thresholdPercent);
  }

  transactionIdWraparound(): Promise<WraparoundReport> {
    return transactionIdWraparound(this.db);
  }
}
