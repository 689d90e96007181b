import { DEFAULT_HEALTH_OPTIONS, collectHealth, healthMetrics, healthSummary, toData } from '../checks/health';
import { InstanceHealth, instanceHealth, mergeInstances } from '../checks/per-instance';
import { defineTask } from './types';

export const healthCheck = defineTask({
  name: 'health-check',
  description: 'Publish the health metrics: connections, cache hit, dead tuples, bloat, indexes, MV staleness, partitions, replica lag, xid age',
  perInstance: true,
  statementTimeoutMs: 30_000,
  options: {
    deadTupleMinRows: { type: 'integer', min: 0, max: 1e12, default: DEFAULT_HEALTH_OPTIONS.deadTupleMinRows, description: 'Ignore tables with fewer live+dead rows' },
    longQuerySeconds: { type: 'number', min: 1, max: 86_400, default: DEFAULT_HEALTH_OPTIONS.longQuerySeconds, description: 'Long-running query threshold' },
  },
  async run(ctx, options) {
    const report = await collectHealth(ctx.reader, options);
    // One instance after another: a health check should cost the cluster next to nothing.
    const per: InstanceHealth[] = [];
    for (const instance of ctx.instances) per.push(await instanceHealth(instance));
    const byInstance = mergeInstances(report, per, options.longQuerySeconds);
    const instances = per.map((p) => ({ id: p.id, unusedIndexCount: p.unusedIndexes.length, connectionUtilizationPercent: p.connections.percent }));
    return {
      summary: { ...healthSummary(report), ...(per.length > 0 ? { instances } : {}) },
      metrics: [...healthMetrics(report), ...toData(byInstance)],
    };
  },
});
