import { DescribeDBClustersCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { Pool } from 'pg';
import { fromPg, Queryable } from '../checks/queryable';
import { ConfigError, ConnectionConfig, DbopsConfig } from './env-config';
import { poolConfigFor, ConnectionDeps } from './pool-from-env';

/**
 * pg_stat_activity, pg_stat_statements, index scans and the buffer counters are per server, and
 * every Aurora reader is its own server: the proxy endpoint shows only the writer. The per-server
 * checks therefore run on each instance, found at run time (auto-scaled readers included).
 */
export interface InstanceEndpoint {
  id: string;
  host: string;
  port: number;
  writer: boolean;
}

export interface Instance {
  id: string;
  reader: Queryable;
}

/** Writer and readers of the cluster that are available now, writer first. */
export async function discoverAuroraInstances(rds: RDSClient, clusterIdentifier: string): Promise<InstanceEndpoint[]> {
  const clusters = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: clusterIdentifier }));
  const members = clusters.DBClusters?.[0]?.DBClusterMembers ?? [];
  const writerIds = new Set(members.filter((m) => m.IsClusterWriter).map((m) => m.DBInstanceIdentifier));
  const found: InstanceEndpoint[] = [];
  let marker: string | undefined;
  do {
    const page = await rds.send(new DescribeDBInstancesCommand({ Filters: [{ Name: 'db-cluster-id', Values: [clusterIdentifier] }], Marker: marker }));
    for (const i of page.DBInstances ?? []) {
      // A reader being created or deleted has no endpoint to reach yet (or any more).
      if (i.DBInstanceStatus !== 'available' || !i.DBInstanceIdentifier || !i.Endpoint?.Address) continue;
      found.push({ id: i.DBInstanceIdentifier, host: i.Endpoint.Address, port: i.Endpoint.Port ?? 5432, writer: writerIds.has(i.DBInstanceIdentifier) });
    }
    marker = page.Marker;
  } while (marker);
  return found.sort((a, b) => Number(b.writer) - Number(a.writer) || a.id.localeCompare(b.id));
}

/** DBOPS_INSTANCE_URLS off Aurora (local, tests): "id=postgres://...,id2=postgres://...". */
export function parseInstanceUrls(raw: string): { id: string; url: string }[] {
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const at = part.indexOf('=');
      const id = at > 0 ? part.slice(0, at).trim() : '';
      const url = at > 0 ? part.slice(at + 1).trim() : '';
      if (!/^[A-Za-z0-9_.:-]{1,63}$/.test(id) || !/^postgres(ql)?:\/\//.test(url)) {
        throw new ConfigError('DBOPS_INSTANCE_URLS', `entries must be id=postgres://..., got "${part.replace(/:[^:@/]*@/, ':***@')}"`);
      }
      return { id, url };
    });
}

/** Opened instance sessions; close() ends their pools. */
export interface InstanceSet {
  instances: Instance[];
  close(): Promise<void>;
}

function open(entries: { id: string; pool: Pool }[]): InstanceSet {
  for (const e of entries) e.pool.on('error', () => undefined);
  return {
    instances: entries.map((e) => ({ id: e.id, reader: fromPg(e.pool) })),
    close: async () => {
      await Promise.all(entries.map((e) => e.pool.end().catch(() => undefined)));
    },
  };
}

export function openInstanceUrls(urls: { id: string; url: string }[]): InstanceSet {
  return open(urls.map(({ id, url }) => ({ id, pool: new Pool({ connectionString: url, max: 1, application_name: 'dbops:instances' }) })));
}

/** Each instance endpoint with the runtime's credentials (secret or IAM token signed for that host). */
export async function openAuroraInstances(
  connection: Exclude<ConnectionConfig, { kind: 'data-api' | 'url' }>,
  endpoints: InstanceEndpoint[],
  deps: ConnectionDeps = {},
): Promise<InstanceSet> {
  const entries = await Promise.all(
    endpoints.map(async (e) => ({ id: e.id, pool: new Pool({ ...(await poolConfigFor({ ...connection, host: e.host, port: e.port }, deps)), max: 1, application_name: 'dbops:instances' }) })),
  );
  return open(entries);
}

export interface InstanceDeps extends ConnectionDeps {
  rds?: RDSClient;
  warn?: (message: string) => void;
}

/**
 * Opens every instance the configuration names, or undefined when none is configured. The Data API
 * reaches the cluster's writer only, so with it the per-server checks stay on the writer (warned).
 */
export async function openInstances(config: DbopsConfig, deps: InstanceDeps = {}): Promise<InstanceSet | undefined> {
  const discovery = config.instances;
  if (discovery === undefined) return undefined;
  if (discovery.kind === 'urls') return openInstanceUrls(parseInstanceUrls(discovery.raw));
  const connection = config.connection;
  if (connection.kind === 'data-api' || connection.kind === 'url') {
    deps.warn?.(`DB_CLUSTER_IDENTIFIER is set but the ${connection.kind === 'data-api' ? 'Data API' : 'DATABASE_URL'} connection cannot reach single instances: per-server checks see the writer only`);
    return undefined;
  }
  const endpoints = await discoverAuroraInstances(deps.rds ?? new RDSClient({}), discovery.clusterIdentifier);
  return openAuroraInstances(connection, endpoints, deps);
}
