import { CloudWatchClient, MetricDatum as CwDatum, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { sleep } from '../db/lock-retry';
import { MetricDatum } from './datum';
import { MetricSink, PublishReport, partitionValid } from './sink';

/**
 * PutMetricData limits (API reference, checked 2026): at most 1000 metric data items per request
 * and 1 MB per HTTP POST body. The size is estimated from the JSON form plus a margin for the
 * wire protocol's field names, staying well under the cap.
 */
export const MAX_DATA_PER_REQUEST = 1000;
export const MAX_REQUEST_BYTES = 1_000_000;
const SIZE_BUDGET_BYTES = Math.floor(MAX_REQUEST_BYTES * 0.8);
const REQUEST_OVERHEAD_BYTES = 512;

const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException']);

export interface CloudWatchSinkOptions {
  namespace: string;
  client?: CloudWatchClient;
  /** Our own retries on throttling, on top of the SDK's (which give up after 3 attempts). */
  throttleRetries?: number;
  baseDelayMs?: number;
}

export function toCloudWatch(d: MetricDatum, now: Date): CwDatum {
  return {
    MetricName: d.metric.name,
    Unit: d.metric.unit,
    Value: d.value,
    Timestamp: d.timestamp ?? now,
    // The catalog fixes the order; CloudWatch treats a dimension set as a set, dashboards read it in order.
    Dimensions: d.metric.dimensions.map((name) => ({ Name: name, Value: d.dimensions[name] as string })),
  };
}

export function estimatedBytes(d: CwDatum): number {
  // Query-protocol bodies repeat the member path for every field ("MetricData.member.12.Dimensions.member.2.Value="),
  // roughly tripling the JSON size of names; 3x plus a constant is a safe upper bound.
  return JSON.stringify(d).length * 3 + 64;
}

/** Splits data into requests that respect both the item cap and the byte cap. */
export function batchForPutMetricData(data: readonly CwDatum[]): CwDatum[][] {
  const batches: CwDatum[][] = [];
  let current: CwDatum[] = [];
  let bytes = REQUEST_OVERHEAD_BYTES;
  for (const d of data) {
    const size = estimatedBytes(d);
    if (current.length > 0 && (current.length >= MAX_DATA_PER_REQUEST || bytes + size > SIZE_BUDGET_BYTES)) {
      batches.push(current);
      current = [];
      bytes = REQUEST_OVERHEAD_BYTES;
    }
    current.push(d);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export class CloudWatchSink implements MetricSink {
  readonly name = 'cloudwatch';
  private readonly client: CloudWatchClient;

  constructor(private readonly options: CloudWatchSinkOptions) {
    this.client = options.client ?? new CloudWatchClient({});
  }

  async publish(data: readonly MetricDatum[]): Promise<PublishReport> {
    const { valid, rejected } = partitionValid(data);
    const now = new Date();
    const report: PublishReport = { sink: this.name, attempted: data.length, published: 0, rejected };
    const errors: string[] = [];
    for (const batch of batchForPutMetricData(valid.map((d) => toCloudWatch(d, now)))) {
      try {
        await this.send(batch);
        report.published += batch.length;
      } catch (error) {
        // Keep going: one refused batch should not drop the others.
        errors.push(`${(error as Error).name}: ${(error as Error).message}`);
      }
    }
    if (errors.length > 0) report.error = `PutMetricData failed for ${valid.length - report.published} of ${valid.length} data: ${[...new Set(errors)].join('; ')}`;
    return report;
  }

  private async send(batch: CwDatum[]): Promise<void> {
    const retries = this.options.throttleRetries ?? 3;
    const base = this.options.baseDelayMs ?? 250;
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.client.send(new PutMetricDataCommand({ Namespace: this.options.namespace, MetricData: batch }));
        return;
      } catch (error) {
        if (!THROTTLING.has((error as Error).name) || attempt >= retries) throw error;
        const delay = base * 2 ** attempt;
        await sleep(delay / 2 + Math.random() * (delay / 2));
      }
    }
  }
}
