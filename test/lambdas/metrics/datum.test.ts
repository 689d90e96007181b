import { METRICS } from '../../../lambdas/metrics/catalog';
import { datum, datumProblem, withEnvironment } from '../../../lambdas/metrics/datum';
import { ConsoleSink, MemorySink } from '../../../lambdas/metrics/sink';

describe('metric data are checked against the catalog', () => {
  const env = (d: ReturnType<typeof datum>) => withEnvironment([d], 'test')[0];

  it('accepts a datum with exactly the catalogued dimensions', () => {
    expect(datumProblem(env(datum('deadTuplePercent', 12.5, { Table: 'public.posts' })))).toBeUndefined();
    expect(datumProblem(env(datum('cacheHitRatio', 99)))).toBeUndefined();
  });

  it('knows a name catalogued twice, cluster-wide and per instance, by its dimensions', () => {
    expect(datumProblem(env(datum('unusedIndexCountByInstance', 3, { DBInstanceIdentifier: 'dbops-prod-reader-1' })))).toBeUndefined();
    expect(datumProblem(env(datum('unusedIndexCount', 3)))).toBeUndefined();
    expect(datumProblem(env(datum('unusedIndexCountByInstance', 3)))).toMatch(/UnusedIndexCount needs dimensions \[DBInstanceIdentifier, Environment\], got \[Environment\]/);
  });

  it.each([
    ['a missing dimension', env(datum('deadTuplePercent', 1)), /needs dimensions \[Environment, Table\]/],
    ['an extra dimension', env(datum('cacheHitRatio', 1, { Table: 'x' })), /needs dimensions \[Environment\]/],
    ['no Environment', datum('cacheHitRatio', 1), /needs dimensions/],
    ['NaN', env(datum('cacheHitRatio', Number.NaN)), /not a finite number/],
    ['Infinity', env(datum('cacheHitRatio', Number.POSITIVE_INFINITY)), /not a finite number/],
    ['a value beyond 2^360', env(datum('cacheHitRatio', 2 ** 361)), /outside/],
    ['an empty dimension value', env(datum('deadTuplePercent', 1, { Table: '' })), /dimension Table/],
    ['an unknown metric', { metric: { ...METRICS.cacheHitRatio, name: 'Bogus' }, value: 1, dimensions: { Environment: 'x' } }, /not in the catalog/],
    ['a wrong unit', { metric: { ...METRICS.cacheHitRatio, unit: 'Count' as const }, value: 1, dimensions: { Environment: 'x' } }, /unit/],
  ])('rejects %s', (_what, d, message) => {
    expect(datumProblem(d)).toMatch(message);
  });

  it('sinks publish the valid data and report the rejected ones', async () => {
    const data = [env(datum('cacheHitRatio', 99)), env(datum('deadTuplePercent', 1))];
    const memory = new MemorySink();
    const report = await memory.publish(data);
    expect(report).toMatchObject({ attempted: 2, published: 1 });
    expect(report.rejected[0]).toMatch(/DeadTuplePercent/);
    expect(memory.values('CacheHitRatio')).toEqual([99]);

    const lines: string[] = [];
    const consoleReport = await new ConsoleSink((l) => lines.push(l)).publish(data);
    expect(consoleReport.published).toBe(1);
    expect(lines[0]).toBe('metric CacheHitRatio 99 Percent Environment=test');
    expect(lines[1]).toMatch(/^metric rejected: /);
  });
});
