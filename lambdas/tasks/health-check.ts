import { DEFAULT_HEALTH_OPTIONS, collectHealth, healthMetrics, healthSummary } from '../checks/health';
import { defineTask } from './types';

export const healthCheck = defineTask({
  name: 'health-check',
  description: 'Publish the health metrics: connections, cache hit, dead tuples, bloat, indexes, MV staleness, partitions, replica lag, xid age',
  statementTimeoutMs: 30_000,
  options: {
    deadTupleMinRows: { type: 'integer', min: 0, max: 1e12, default: DEFAULT_HEALTH_OPTIONS.deadTupleMinRows, description: 'Ignore tables with fewer live+dead rows' },
    longQuerySeconds: { type: 'number', min: 1, max: 86_400, default: DEFAULT_HEALTH_OPTIONS.longQuerySeconds, description: 'Long-running query threshold' },
  },
  async run(ctx, options) {
    const report = await collectHealth(ctx.reader, options);
    return { summary: healthSummary(report), metrics: healthMetrics(report) };
  },
});
