import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { Pool, PoolConfig } from 'pg';
import { DataApiExecutor } from './data-api-executor';
import type { ConnectionConfig, DbopsConfig } from './env-config';
import type { Executor } from './executor';
import { IamTokenRequest, IamTokenSigner, iamTokenSigner } from './iam-auth-token';
import { PgExecutor } from './pg-executor';

/**
 * TLS to RDS/Aurora verifies the server certificate. Node does not trust the RDS CAs by itself: the
 * functions point NODE_EXTRA_CA_CERTS at the runtime's bundle (lib/constructs/bundling.ts); elsewhere
 * point it at global-bundle.pem (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem).
 */
const VERIFIED_TLS = { rejectUnauthorized: true } as const;

/** A maintenance run needs one session plus one beside it (the long-query check's cancel, the refresh's second lane). */
const POOL_MAX = 2;

export interface ConnectionDeps {
  secretsManager?: SecretsManagerClient;
  /** Builds the IAM token signer; tests stub getAuthToken. */
  signer?: (request: IamTokenRequest) => IamTokenSigner;
  rdsData?: RDSDataClient;
}

interface DatabaseSecret {
  username: string;
  password: string;
  host?: string;
  port?: number;
  dbname?: string;
}

export async function readDatabaseSecret(client: SecretsManagerClient, secretArn: string): Promise<DatabaseSecret> {
  const response = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (!response.SecretString) throw new Error(`secret ${secretArn} has no SecretString`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.SecretString);
  } catch {
    throw new Error(`secret ${secretArn} is not JSON`);
  }
  const secret = parsed as Partial<DatabaseSecret>;
  if (typeof secret.username !== 'string' || typeof secret.password !== 'string') {
    throw new Error(`secret ${secretArn} lacks a username or password`);
  }
  return secret as DatabaseSecret;
}

export async function poolConfigFor(connection: Exclude<ConnectionConfig, { kind: 'data-api' }>, deps: ConnectionDeps = {}): Promise<PoolConfig> {
  const base: PoolConfig = { max: POOL_MAX, idleTimeoutMillis: 60_000, connectionTimeoutMillis: 10_000, application_name: 'dbops' };
  switch (connection.kind) {
    case 'url':
      // sslmode in the URL decides TLS, so a local URL works without certificates.
      return { ...base, connectionString: connection.url };
    case 'secret': {
      const secret = await readDatabaseSecret(deps.secretsManager ?? new SecretsManagerClient({}), connection.secretArn);
      const host = connection.host ?? secret.host;
      const database = connection.database ?? secret.dbname;
      if (!host) throw new Error('DB_HOST is not set and the secret has no host');
      if (!database) throw new Error('DB_NAME is not set and the secret has no dbname');
      return {
        ...base,
        host,
        port: connection.port ?? secret.port ?? 5432,
        database,
        user: connection.user ?? secret.username,
        password: secret.password,
        ssl: VERIFIED_TLS,
      };
    }
    case 'iam': {
      // Lambda always sets AWS_REGION; elsewhere it must be set, the token is signed for that region.
      const region = connection.region;
      if (!region) throw new Error('DB_IAM_AUTH=true needs AWS_REGION (the region of the database) to sign the token');
      const signer = (deps.signer ?? iamTokenSigner)({ hostname: connection.host, port: connection.port, username: connection.user, region });
      return {
        ...base,
        host: connection.host,
        port: connection.port,
        database: connection.database,
        user: connection.user,
        // A token lives 15 minutes; pg calls this for every new connection.
        password: () => signer.getAuthToken(),
        ssl: VERIFIED_TLS,
      };
    }
  }
}

export async function createExecutor(config: DbopsConfig, deps: ConnectionDeps = {}): Promise<Executor> {
  const connection = config.connection;
  if (connection.kind === 'data-api') {
    return new DataApiExecutor(deps.rdsData ?? new RDSDataClient({}), {
      resourceArn: connection.clusterArn,
      secretArn: connection.secretArn,
      database: connection.database,
    });
  }
  const pool = new Pool(await poolConfigFor(connection, deps));
  // An idle client whose backend dies must not crash the process.
  pool.on('error', () => undefined);
  return new PgExecutor(pool);
}
