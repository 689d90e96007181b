import { DescribeDBClustersCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { loadRuntimeConfig } from '../../../lambdas/db/env-config';
import { discoverAuroraInstances, openInstances, parseInstanceUrls } from '../../../lambdas/db/instances';

const rds = mockClient(RDSClient);

function instance(id: string, status = 'available', address: string | undefined = `${id}.abc123xyz.eu-west-1.rds.amazonaws.com`) {
  return {
    DBInstanceIdentifier: id,
    DBInstanceClass: 'db.r6g.large',
    Engine: 'aurora-postgresql',
    DBInstanceStatus: status,
    DBClusterIdentifier: 'dbops-prod',
    ...(address ? { Endpoint: { Address: address, Port: 5432, HostedZoneId: 'Z29XKXDKYMONMX' } } : {}),
  };
}

describe('instance discovery', () => {
  beforeEach(() => rds.reset());

  it('lists the writer and every available reader from DescribeDBClusters and DescribeDBInstances, over pages', async () => {
    rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: 'dbops-prod' }).resolves({
      DBClusters: [
        {
          DBClusterIdentifier: 'dbops-prod',
          DBClusterMembers: [
            { DBInstanceIdentifier: 'dbops-prod-reader-1', IsClusterWriter: false, DBClusterParameterGroupStatus: 'in-sync', PromotionTier: 1 },
            { DBInstanceIdentifier: 'dbops-prod-writer', IsClusterWriter: true, DBClusterParameterGroupStatus: 'in-sync', PromotionTier: 1 },
            { DBInstanceIdentifier: 'application-autoscaling-1a2b3c', IsClusterWriter: false, DBClusterParameterGroupStatus: 'in-sync', PromotionTier: 15 },
            { DBInstanceIdentifier: 'application-autoscaling-4d5e6f', IsClusterWriter: false, DBClusterParameterGroupStatus: 'in-sync', PromotionTier: 15 },
          ],
        },
      ],
    });
    rds
      .on(DescribeDBInstancesCommand)
      .resolvesOnce({ DBInstances: [instance('dbops-prod-reader-1'), instance('dbops-prod-writer')], Marker: 'page-2' })
      .resolvesOnce({ DBInstances: [instance('application-autoscaling-1a2b3c'), instance('application-autoscaling-4d5e6f', 'creating', undefined)] });

    const found = await discoverAuroraInstances(new RDSClient({ region: 'eu-west-1' }), 'dbops-prod');
    expect(found).toEqual([
      { id: 'dbops-prod-writer', host: 'dbops-prod-writer.abc123xyz.eu-west-1.rds.amazonaws.com', port: 5432, writer: true },
      { id: 'application-autoscaling-1a2b3c', host: 'application-autoscaling-1a2b3c.abc123xyz.eu-west-1.rds.amazonaws.com', port: 5432, writer: false },
      { id: 'dbops-prod-reader-1', host: 'dbops-prod-reader-1.abc123xyz.eu-west-1.rds.amazonaws.com', port: 5432, writer: false },
    ]);
    const calls = rds.commandCalls(DescribeDBInstancesCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { Filters: [{ Name: 'db-cluster-id', Values: ['dbops-prod'] }], Marker: undefined },
      { Filters: [{ Name: 'db-cluster-id', Values: ['dbops-prod'] }], Marker: 'page-2' },
    ]);
  });

  it('reads DBOPS_INSTANCE_URLS as id=url pairs and refuses anything else by name, without echoing a password', () => {
    expect(parseInstanceUrls('w=postgres://u:p@h1:5432/db, r1=postgresql://h2/db')).toEqual([
      { id: 'w', url: 'postgres://u:p@h1:5432/db' },
      { id: 'r1', url: 'postgresql://h2/db' },
    ]);
    expect(() => parseInstanceUrls('postgres://u:secret@h1/db')).toThrow(/DBOPS_INSTANCE_URLS entries must be id=postgres:\/\//);
    expect(() => parseInstanceUrls('postgres://u:secret@h1/db')).not.toThrow(/secret/);
    expect(() => parseInstanceUrls('r=mysql://h/db')).toThrow(/DBOPS_INSTANCE_URLS/);
  });

  it('configures discovery from DB_CLUSTER_IDENTIFIER, rejects a malformed one, and keeps the Data API on the writer with a warning', async () => {
    const base = { DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf' };
    expect(loadRuntimeConfig({ ...base, DB_CLUSTER_IDENTIFIER: 'dbops-prod' }).instances).toEqual({ kind: 'aurora', clusterIdentifier: 'dbops-prod' });
    expect(loadRuntimeConfig(base).instances).toBeUndefined();
    expect(() => loadRuntimeConfig({ ...base, DB_CLUSTER_IDENTIFIER: 'bad_id!' })).toThrow(/DB_CLUSTER_IDENTIFIER is not a DB cluster identifier/);

    const dataApi = loadRuntimeConfig({
      DBOPS_DRIVER: 'data-api',
      DB_CLUSTER_ARN: 'arn:aws:rds:eu-west-1:123456789012:cluster:dbops-prod',
      DB_SECRET_ARN: base.DB_SECRET_ARN,
      DB_NAME: 'platform',
      DB_CLUSTER_IDENTIFIER: 'dbops-prod',
    });
    const warnings: string[] = [];
    expect(await openInstances(dataApi, { rds: new RDSClient({ region: 'eu-west-1' }), warn: (m) => warnings.push(m) })).toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/Data API connection cannot reach single instances/)]);
    expect(rds.calls()).toHaveLength(0);
  });
});
