import { createHash, createHmac } from 'node:crypto';

/**
 * RDS IAM database authentication token: a SigV4 query-presigned `GET /?Action=connect&DBUser=...`
 * for service `rds-db`, valid 15 minutes, written without the scheme (`host:port/?Action=...`),
 * exactly what @aws-sdk/rds-signer returns (test/lambdas/db/iam-auth-token.test.ts compares the two).
 * rds-signer itself is not used: it pulls the SDK's whole credential chain and Smithy core into the
 * Lambda bundle (about 400 KB of the 540 KB it had), for one HMAC chain.
 */
export const TOKEN_EXPIRES_SECONDS = 900;
const SERVICE = 'rds-db';
const ALGORITHM = 'AWS4-HMAC-SHA256';
const EMPTY_PAYLOAD_SHA256 = createHash('sha256').update('').digest('hex');

export interface IamTokenRequest {
  hostname: string;
  port: number;
  username: string;
  region: string;
}

export interface IamTokenSigner {
  getAuthToken(): Promise<string>;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type CredentialsProvider = () => Promise<AwsCredentials>;

let chain: CredentialsProvider | undefined;

/**
 * Lambda puts the execution role's credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN, which the SDK's own chain reads first as well (unless AWS_PROFILE names a
 * profile). Anywhere else (the CLI) the SDK's whole chain applies; it is loaded only then, so a
 * Lambda never loads it and the bundle leaves it out.
 */
export async function defaultCredentials(): Promise<AwsCredentials> {
  const env = process.env;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY && !env.AWS_PROFILE) {
    return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined };
  }
  if (!chain) {
    // require, not import: loaded on first use only (CommonJS, as the bundle and the tests run).
    const { defaultProvider } = require('@aws-sdk/credential-provider-node') as typeof import('@aws-sdk/credential-provider-node');
    chain = defaultProvider();
  }
  return chain();
}

/** RFC 3986 escaping, as SigV4 canonicalization and the SDK's query-string builder do it. */
function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function queryString(params: Record<string, string>): string {
  return Object.keys(params)
    .sort()
    .map((key) => `${escapeUri(key)}=${escapeUri(params[key])}`)
    .join('&');
}

/** The token for one moment; `signedAt` is the SigV4 request time. */
export function presignConnect(request: IamTokenRequest, credentials: AwsCredentials, signedAt: Date): string {
  const amzDate = signedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, ''); // 20261201T090000Z
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${request.region}/${SERVICE}/aws4_request`;
  const host = `${request.hostname}:${request.port}`;
  const params: Record<string, string> = {
    Action: 'connect',
    DBUser: request.username,
    'X-Amz-Algorithm': ALGORITHM,
    'X-Amz-Credential': `${credentials.accessKeyId}/${scope}`,
    'X-Amz-Date': amzDate,
    'X-Amz-Expires': String(TOKEN_EXPIRES_SECONDS),
    'X-Amz-SignedHeaders': 'host',
  };
  if (credentials.sessionToken) params['X-Amz-Security-Token'] = credentials.sessionToken;
  const canonicalRequest = ['GET', '/', queryString(params), `host:${host}`, '', 'host', EMPTY_PAYLOAD_SHA256].join('\n');
  const stringToSign = [ALGORITHM, amzDate, scope, createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), request.region), SERVICE), 'aws4_request');
  const signature = hmac(signingKey, stringToSign).toString('hex');
  return `${host}/?${queryString({ ...params, 'X-Amz-Signature': signature })}`;
}

export function iamTokenSigner(
  request: IamTokenRequest,
  options: { credentials?: CredentialsProvider; clock?: () => Date } = {},
): IamTokenSigner {
  const credentials = options.credentials ?? defaultCredentials;
  const clock = options.clock ?? (() => new Date());
  return {
    // A fresh token for every new connection: pg calls this each time it connects.
    async getAuthToken() {
      return presignConnect(request, await credentials(), clock());
    },
  };
}
