import { CloudWatchClient, PutMetricDataCommand, PutMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudWatchSink, MAX_DATA_PER_REQUEST } from '../../../lambdas/metrics/cloudwatch-sink';
import { MetricDatum, datum, withEnvironment } from '../../../lambdas/metrics/datum';

let cw = mockClient(CloudWatchClient);

function many(count: number, tableNameLength = 20): MetricDatum[] {
  const data: MetricDatum[] = [];
  for (let i = 0; i < count; i += 1) {
    data.push(datum('deadTuplePercent', i % 100, { Table: `public.t${String(i).padStart(tableNameLength, '0')}` }));
  }
  return withEnvironment(data, 'test');
}

function inputs(): PutMetricDataCommandInput[] {
  return cw.commandCalls(PutMetricDataCommand).map((call) => call.args[0].input);
}

/** The real wire size: the SDK's serialized request body (the mock is lifted for this). */
async function bodyBytes(input: PutMetricDataCommandInput): Promise<number> {
  cw.restore();
  // Uncompressed: the SDK gzips large bodies, the cap is checked on the raw payload to be safe.
  const real = new CloudWatchClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, disableRequestCompression: true });
  let size = 0;
  real.middlewareStack.add(
    () => async (args) => {
      const body = (args.request as { body?: unknown }).body;
      size = typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.byteLength : 0;
      return { output: { $metadata: {} }, response: {} } as never;
    },
    { step: 'finalizeRequest', name: 'captureBody' },
  );
  await real.send(new PutMetricDataCommand(input)).catch(() => undefined);
  expect(size).toBeGreaterThan(0);
  return size;
}

describe('CloudWatchSink', () => {
  beforeEach(() => {
    cw.restore();
    cw = mockClient(CloudWatchClient);
  });
  afterAll(() => cw.restore());

  it('splits thousands of data into requests within the PutMetricData limits, losing none', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    const data = many(4321);
    const report = await new CloudWatchSink({ namespace: 'AuroraDbops', client: new CloudWatchClient({}) }).publish(data);
    expect(report).toMatchObject({ attempted: 4321, published: 4321, rejected: [] });
    expect(report.error).toBeUndefined();
    const calls = inputs();
    expect(calls.length).toBeGreaterThanOrEqual(5);
    let total = 0;
    for (const input of calls) {
      expect(input.Namespace).toBe('AuroraDbops');
      expect(input.MetricData!.length).toBeLessThanOrEqual(MAX_DATA_PER_REQUEST);
      for (const d of input.MetricData!) {
        expect(d.Dimensions!.length).toBeLessThanOrEqual(30);
        expect(d.Dimensions!.map((x) => x.Name)).toEqual(['Environment', 'Table']);
        expect(d.Unit).toBe('Percent');
      }
      total += input.MetricData!.length;
    }
    expect(total).toBe(4321);
    const sizes: number[] = [];
    for (const input of calls) sizes.push(await bodyBytes(input));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1_000_000);
  });

  it('keeps every request body under 1 MB even when dimension values are long', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    const data = many(3000, 1000);
    await new CloudWatchSink({ namespace: 'AuroraDbops', client: new CloudWatchClient({}) }).publish(data);
    const calls = inputs();
    expect(calls.reduce((n, c) => n + c.MetricData!.length, 0)).toBe(3000);
    for (const input of calls) expect(input.MetricData!.length).toBeLessThan(MAX_DATA_PER_REQUEST);
    const sizes: number[] = [];
    for (const input of calls) sizes.push(await bodyBytes(input));
    // The byte cap, not the item cap, split these: more requests than 1000 per request would need.
    expect(calls.length).toBeGreaterThan(3);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1_000_000);
  });

  it('retries throttling with backoff and then succeeds', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: {} });
    cw.on(PutMetricDataCommand).rejectsOnce(throttled).rejectsOnce(throttled).resolves({});
    const sink = new CloudWatchSink({ namespace: 'AuroraDbops', client: new CloudWatchClient({ maxAttempts: 1 }), baseDelayMs: 1 });
    const report = await sink.publish(many(10));
    expect(report.published).toBe(10);
    expect(report.error).toBeUndefined();
    expect(inputs()).toHaveLength(3);
  });

  it('gives up after a bounded number of throttling retries and reports it without throwing', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} });
    cw.on(PutMetricDataCommand).rejects(throttled);
    const sink = new CloudWatchSink({ namespace: 'AuroraDbops', client: new CloudWatchClient({ maxAttempts: 1 }), baseDelayMs: 1, throttleRetries: 2 });
    const report = await sink.publish(many(10));
    expect(report.published).toBe(0);
    expect(report.error).toMatch(/ThrottlingException/);
    expect(inputs()).toHaveLength(3);
  });

  it('does not retry other errors, and reports them', async () => {
    cw.on(PutMetricDataCommand).rejects(Object.assign(new Error('bad'), { name: 'InvalidParameterValue', $metadata: {} }));
    const sink = new CloudWatchSink({ namespace: 'AuroraDbops', client: new CloudWatchClient({ maxAttempts: 1 }), baseDelayMs: 1 });
    const report = await sink.publish(many(5));
    expect(report.error).toMatch(/InvalidParameterValue/);
    expect(inputs()).toHaveLength(1);
  });
});
