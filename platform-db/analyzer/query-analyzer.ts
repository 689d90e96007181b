import type { Pool } from 'pg';
import { duplicateIndexes, DuplicateIndex } from './checks/duplicate-indexes';
import { explainQuery, ExplainOptions, ExplainPlan } from './checks/explain';
import { getIndexStats, IndexStats } from './checks/index-stats';
import { invalidIndexes, InvalidIndex } from './checks/invalid-indexes';
import { missingIndexHints, MissingIndexHint, MissingIndexOptions } from './checks/missing-index-hints';
import { sequencesNearOverflow, SequenceNearOverflow } from './checks/sequence-overflow';
import { getSlowQueries, SlowQuery } from './checks/slow-queries';
import { getTableStats, TableStats } from './checks/table-stats';
import { transactionIdWraparound, WraparoundReport } from './checks/transaction-wraparound';
import { unusedIndexes, UnusedIndex } from './checks/unused-indexes';

/** PgHero-style diagnostics over one pool. Each method is a thin call to its check in ./checks. */
export class QueryAnalyzer {
  constructor(private readonly pool: Pool) {}

  getSlowQueries(thresholdMs = 1000, limit?: number): Promise<SlowQuery[]> {
    return getSlowQueries(this.pool, thresholdMs, limit);
  }

  getTableStats(table: string): Promise<TableStats> {
    return getTableStats(this.pool, table);
  }

  getIndexStats(table: string): Promise<IndexStats[]> {
    return getIndexStats(this.pool, table);
  }

  explainQuery(sql: string, options?: ExplainOptions): Promise<ExplainPlan> {
    return explainQuery(this.pool, sql, options);
  }

  unusedIndexes(): Promise<UnusedIndex[]> {
    return unusedIndexes(this.pool);
  }

  duplicateIndexes(): Promise<DuplicateIndex[]> {
    return duplicateIndexes(this.pool);
  }

  invalidIndexes(): Promise<InvalidIndex[]> {
    return invalidIndexes(this.pool);
  }

  missingIndexHints(options?: MissingIndexOptions): Promise<MissingIndexHint[]> {
    return missingIndexHints(this.pool, options);
  }

  sequencesNearOverflow(thresholdPercent?: number): Promise<SequenceNearOverflow[]> {
    return sequencesNearOverflow(this.pool, thresholdPercent);
  }

  transactionIdWraparound(): Promise<WraparoundReport> {
    return transactionIdWraparound(this.pool);
  }
}
