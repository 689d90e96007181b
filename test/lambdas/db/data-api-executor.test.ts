import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  ExecuteStatementCommandInput,
  RDSDataClient,
  RollbackTransactionCommand,
} from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { DataApiExecutor, toNamedParameters } from '../../../lambdas/db/data-api-executor';
import { UnsupportedByDriverError } from '../../../lambdas/db/executor';
import { MemorySink } from '../../../lambdas/metrics/sink';
import { runTask } from '../../../lambdas/tasks/runner';

const rds = mockClient(RDSDataClient);
const target = {
  resourceArn: 'arn:aws:rds:eu-west-1:123456789012:cluster:platform',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf',
  database: 'platform',
};

/** Answers like the real service: formattedRecords is a JSON array string when formatRecordsAs=JSON. */
function answer(input: ExecuteStatementCommandInput): { formattedRecords?: string; numberOfRecordsUpdated?: number } {
  const sql = input.sql ?? '';
  if (/pg_try_advisory/.test(sql)) return { formattedRecords: JSON.stringify([{ locked: lockFree }]) };
  if (/FROM pg_stat_user_tables/.test(sql)) return { formattedRecords: JSON.stringify([{ table_name: 'public.posts', live: 100, modified: 5000, dead: 50, dead_percent: 33.3 }]) };
  if (/^SELECT/.test(sql.trim())) return { formattedRecords: '[]' };
  return { numberOfRecordsUpdated: 0 };
}
let lockFree = true;

function statements(): { sql: string; transactionId?: string; parameters?: unknown }[] {
  return rds.commandCalls(ExecuteStatementCommand).map((c) => ({ sql: c.args[0].input.sql ?? '', transactionId: c.args[0].input.transactionId, parameters: c.args[0].input.parameters }));
}

const settings = { environment: 'test', lockTimeoutMs: 2500 };

describe('DataApiExecutor', () => {
  beforeEach(() => {
    rds.reset();
    lockFree = true;
    let tx = 0;
    rds.on(BeginTransactionCommand).callsFake(async () => ({ transactionId: `tx-${++tx}` }));
    rds.on(CommitTransactionCommand).resolves({ transactionStatus: 'Transaction Committed' });
    rds.on(RollbackTransactionCommand).resolves({ transactionStatus: 'Rollback Complete' });
    rds.on(ExecuteStatementCommand).callsFake(async (input: ExecuteStatementCommandInput) => answer(input));
  });

  const executor = () => new DataApiExecutor(new RDSDataClient({}), target);

  it('turns $n into named parameters', () => {
    expect(toNamedParameters('SELECT $1, $2, $10')).toBe('SELECT :p1, :p2, :p10');
  });

  it('ANALYZE runs inside one transaction with SET LOCAL timeouts and the xact advisory lock', async () => {
    const result = await runTask({ task: 'update-statistics' }, { executor: executor(), sink: new MemorySink(), settings });
    expect(result.status).toBe('succeeded');
    const calls = statements();
    const analyze = calls.find((c) => c.sql.startsWith('ANALYZE'));
    expect(analyze?.sql).toBe('ANALYZE "public"."posts"');
    expect(analyze?.transactionId).toBeDefined();
    const sameTx = calls.filter((c) => c.transactionId === analyze?.transactionId).map((c) => c.sql);
    expect(sameTx[0]).toMatch(/set_config\('lock_timeout', :p1, true\), set_config\('statement_timeout', :p2, true\)/);
    expect(sameTx[1]).toMatch(/pg_try_advisory_xact_lock\(hashtext\(:p1\)\)/);
    expect(sameTx[2]).toBe(analyze?.sql);
    const setCall = calls.find((c) => c.transactionId === analyze?.transactionId && /set_config/.test(c.sql));
    expect(setCall?.parameters).toEqual([
      { name: 'p1', value: { stringValue: '2500' } },
      { name: 'p2', value: { stringValue: '120000' } },
    ]);
    expect(rds.commandCalls(CommitTransactionCommand).map((c) => c.args[0].input.transactionId)).toContain(analyze?.transactionId);
    // Never a session-level SET or a session advisory lock: they would not survive the call.
    expect(calls.some((c) => /pg_try_advisory_lock\(/.test(c.sql))).toBe(false);
    expect(calls.some((c) => /set_config\([^)]*false\)/.test(c.sql))).toBe(false);
  });

  it('VACUUM runs outside any transaction', async () => {
    const result = await runTask({ task: 'vacuum-analyze' }, { executor: executor(), sink: new MemorySink(), settings });
    expect(result.status).toBe('succeeded');
    const vacuum = statements().find((c) => c.sql.startsWith('VACUUM'));
    expect(vacuum?.sql).toBe('VACUUM (ANALYZE) "public"."posts"');
    expect(vacuum?.transactionId).toBeUndefined();
    expect(result.warnings.join(' ')).toMatch(/45 s/);
  });

  it('an overlapping run (advisory lock busy) is a skip', async () => {
    lockFree = false;
    const result = await runTask({ task: 'update-statistics' }, { executor: executor(), sink: new MemorySink(), settings });
    expect(result.status).toBe('skipped');
    expect(statements().some((c) => c.sql.startsWith('ANALYZE'))).toBe(false);
  });

  it('rolls back when a statement in the transaction fails', async () => {
    rds.on(ExecuteStatementCommand).callsFake(async (input: ExecuteStatementCommandInput) => {
      if ((input.sql ?? '').startsWith('ANALYZE')) throw Object.assign(new Error('ERROR: canceling statement due to lock timeout'), { name: 'DatabaseErrorException' });
      return answer(input);
    });
    const result = await runTask({ task: 'update-statistics' }, { executor: executor(), sink: new MemorySink(), settings });
    expect(result.status).toBe('failed');
    expect(rds.commandCalls(RollbackTransactionCommand).length).toBeGreaterThanOrEqual(1);
  });

  it('a lock timeout (SQLSTATE only in the Data API message) is retried like on node-postgres', async () => {
    let analyzeCalls = 0;
    rds.on(ExecuteStatementCommand).callsFake(async (input: ExecuteStatementCommandInput) => {
      if ((input.sql ?? '').startsWith('ANALYZE') && ++analyzeCalls === 1) {
        // The shape the service uses: DatabaseErrorException, SQLSTATE appended to the message.
        throw Object.assign(new Error('ERROR: canceling statement due to lock timeout; SQLState: 55P03'), { name: 'DatabaseErrorException' });
      }
      return answer(input);
    });
    const result = await runTask(
      { task: 'update-statistics' },
      { executor: executor(), sink: new MemorySink(), settings, lockRetry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } },
    );
    expect(result.status).toBe('succeeded');
    expect(result.failures).toEqual([]);
    // Every ANALYZE the run reports, plus the one attempt that hit the lock timeout.
    const analyzed = result.summary.analyzed as { table: string }[];
    expect(analyzed.length).toBeGreaterThan(0);
    expect(analyzeCalls).toBe(analyzed.length + 1);
  });

  it('another invocation taking the xact lock mid-run makes it a skip, not a failure', async () => {
    let listings = 0;
    rds.on(ExecuteStatementCommand).callsFake(async (input: ExecuteStatementCommandInput) => {
      const sql = input.sql ?? '';
      if (/FROM pg_stat_user_tables/.test(sql)) listings += 1;
      // Free for the probe and both listings; busy once the run gets to its ANALYZE.
      if (/pg_try_advisory_xact_lock/.test(sql)) return { formattedRecords: JSON.stringify([{ locked: listings < 2 }]) };
      return answer(input);
    });
    const result = await runTask({ task: 'update-statistics' }, { executor: executor(), sink: new MemorySink(), settings });
    expect(listings).toBe(2);
    expect(result.status).toBe('skipped');
    expect(result.failures).toEqual([]);
    expect(statements().some((c) => c.sql.startsWith('ANALYZE'))).toBe(false);
  });

  it('reindex is refused under the Data API before any call', async () => {
    await expect(runTask({ task: 'reindex' }, { executor: executor(), sink: new MemorySink(), settings })).rejects.toThrow(UnsupportedByDriverError);
    await expect(runTask({ task: 'reindex' }, { executor: executor(), sink: new MemorySink(), settings })).rejects.toThrow(/45 s Data API call limit/);
    expect(rds.calls()).toHaveLength(0);
  });
});
