import { collectHealth, healthMetrics, healthSummary } from '../checks/health';
import { defineTask } from './types';

export const healthCheck = defineTask({
  name: 'health-check',
  schedule: 'rate(5 minutes)',
  description: 'Publish the health metrics: connections, cache hit, dead tuples, bloat, indexes, MV staleness, partitions, replica lag, xid age',
  statementTimeoutMs: 30_000,
  options: {
    deadTupleMinRows: { type: 'integer', min: 0, max: 1e12, description: 'Ignore tables with fewer live+dead rows (default 1000)' },
    longQuerySeconds: { type: 'number', min: 1, max: 86_400, description: 'Long-running query threshold (default 30)' },
  },
  async run(ctx, options) {
    const report = await collectHealth(ctx.reader, options);
    return { summary: healthSummary(report), metrics: healthMetrics(report) };
  },
});
