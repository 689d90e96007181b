import { Signer } from '@aws-sdk/rds-signer';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultCredentials, iamTokenSigner, TOKEN_EXPIRES_SECONDS } from '../../../lambdas/db/iam-auth-token';

// Fixed credentials and clock, so the token is a pure function of its inputs.
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session/token+with=chars' };
const PROVIDE = async () => CREDENTIALS;
const NOW = new Date('2026-12-01T09:00:00Z');
const REQUEST = { hostname: 'dbops-dev-proxy.proxy-abc123.eu-west-1.rds.amazonaws.com', port: 5432, username: 'dbops_maintenance', region: 'eu-west-1' };

/** Only Date is faked: the SDK's promises and timers run as usual. */
function atFixedTime(): void {
  jest.useFakeTimers({
    now: NOW,
    doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
  });
}

describe('RDS IAM auth token', () => {
  afterEach(() => jest.useRealTimers());

  it('is the token @aws-sdk/rds-signer produces for the same credentials and clock', async () => {
    atFixedTime();
    const cases = [
      { request: REQUEST, credentials: CREDENTIALS },
      { request: { ...REQUEST, username: "user+with/odd=chars (and 'quotes')*!" }, credentials: CREDENTIALS },
      { request: { ...REQUEST, hostname: 'writer.cluster-abc.us-east-1.rds.amazonaws.com', port: 6432, region: 'us-east-1' }, credentials: { accessKeyId: 'AKIDLONGTERM', secretAccessKey: 'long-term-secret' } },
    ];
    for (const { request, credentials } of cases) {
      const ours = await iamTokenSigner(request, { credentials: async () => credentials }).getAuthToken();
      const reference = await new Signer({ ...request, credentials }).getAuthToken();
      expect(ours).toBe(reference);
    }
  });

  it('is a presigned connect URL for rds-db, valid 900 s, signed over the host header only', async () => {
    const token = await iamTokenSigner(REQUEST, { credentials: PROVIDE, clock: () => NOW }).getAuthToken();
    expect(TOKEN_EXPIRES_SECONDS).toBe(900);
    const [hostPort, query] = token.split('/?');
    expect(hostPort).toBe(`${REQUEST.hostname}:5432`);
    const params = new URLSearchParams(query);
    expect([...params.keys()]).toEqual([
      'Action',
      'DBUser',
      'X-Amz-Algorithm',
      'X-Amz-Credential',
      'X-Amz-Date',
      'X-Amz-Expires',
      'X-Amz-Security-Token',
      'X-Amz-Signature',
      'X-Amz-SignedHeaders',
    ]);
    expect(Object.fromEntries(params)).toMatchObject({
      Action: 'connect',
      DBUser: 'dbops_maintenance',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKIDEXAMPLE/20261201/eu-west-1/rds-db/aws4_request',
      'X-Amz-Date': '20261201T090000Z',
      'X-Amz-Expires': '900',
      'X-Amz-Security-Token': CREDENTIALS.sessionToken,
      'X-Amz-SignedHeaders': 'host',
    });
    expect(params.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    // RFC 3986 escaping in the token itself: the session token's "/", "+" and "=" are percent-encoded.
    expect(token).toContain('X-Amz-Security-Token=session%2Ftoken%2Bwith%3Dchars');
  });

  it('signs a new token per call, with the time of the call', async () => {
    let now = NOW;
    const signer = iamTokenSigner(REQUEST, { credentials: PROVIDE, clock: () => now });
    const first = await signer.getAuthToken();
    now = new Date(NOW.getTime() + 60_000);
    const second = await signer.getAuthToken();
    expect(new URLSearchParams(second.split('/?')[1]).get('X-Amz-Date')).toBe('20261201T090100Z');
    expect(second).not.toBe(first);
  });

  describe('default credentials', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    it("come from the environment, as Lambda sets them for the function's role", async () => {
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDFROMENV', AWS_SECRET_ACCESS_KEY: 'secret-from-env', AWS_SESSION_TOKEN: 'token-from-env' });
      delete process.env.AWS_PROFILE;
      const token = await iamTokenSigner(REQUEST, { clock: () => NOW }).getAuthToken();
      const params = new URLSearchParams(token.split('/?')[1]);
      expect(params.get('X-Amz-Credential')).toBe('AKIDFROMENV/20261201/eu-west-1/rds-db/aws4_request');
      expect(params.get('X-Amz-Security-Token')).toBe('token-from-env');
    });

    it("otherwise from the SDK's provider chain, e.g. a named profile (which wins over the environment, as in the SDK)", async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'dbops-aws-'));
      try {
        const credentialsFile = path.join(dir, 'credentials');
        await writeFile(credentialsFile, '[dbops-test]\naws_access_key_id = AKIDFROMPROFILE\naws_secret_access_key = secret-from-profile\n');
        Object.assign(process.env, {
          AWS_PROFILE: 'dbops-test',
          AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
          AWS_CONFIG_FILE: path.join(dir, 'config-absent'),
          AWS_ACCESS_KEY_ID: 'AKIDFROMENV',
          AWS_SECRET_ACCESS_KEY: 'secret-from-env',
        });
        expect(await defaultCredentials()).toMatchObject({ accessKeyId: 'AKIDFROMPROFILE', secretAccessKey: 'secret-from-profile' });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
