import { MetricDatum, datumProblem } from './datum';

export interface PublishReport {
  sink: string;
  /** Data handed to the sink. */
  attempted: number;
  /** Data the destination accepted. */
  published: number;
  /** Data refused before sending (not in the catalog, wrong dimensions, bad value). */
  rejected: string[];
  /** Why sending failed, when it did; the task's own result stands regardless. */
  error?: string;
}

/** Where metrics go: CloudWatch in AWS, the console or memory locally and in tests. */
export interface MetricSink {
  readonly name: string;
  publish(data: readonly MetricDatum[]): Promise<PublishReport>;
}

export function partitionValid(data: readonly MetricDatum[]): { valid: MetricDatum[]; rejected: string[] } {
  const valid: MetricDatum[] = [];
  const rejected: string[] = [];
  for (const d of data) {
    const problem = datumProblem(d);
    if (problem) rejected.push(problem);
    else valid.push(d);
  }
  return { valid, rejected };
}

export class MemorySink implements MetricSink {
  readonly name = 'memory';
  readonly data: MetricDatum[] = [];

  async publish(data: readonly MetricDatum[]): Promise<PublishReport> {
    const { valid, rejected } = partitionValid(data);
    this.data.push(...valid);
    return { sink: this.name, attempted: data.length, published: valid.length, rejected };
  }

  values(metricName: string, dimensions: Record<string, string> = {}): number[] {
    return this.data
      .filter((d) => d.metric.name === metricName)
      .filter((d) => Object.entries(dimensions).every(([k, v]) => (d.dimensions as Record<string, string>)[k] === v))
      .map((d) => d.value);
  }
}

export class ConsoleSink implements MetricSink {
  readonly name = 'console';

  constructor(private readonly write: (line: string) => void = (line) => console.log(line)) {}

  async publish(data: readonly MetricDatum[]): Promise<PublishReport> {
    const { valid, rejected } = partitionValid(data);
    for (const d of valid) {
      const dims = Object.entries(d.dimensions)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      this.write(`metric ${d.metric.name} ${formatValue(d.value)} ${d.metric.unit} ${dims}`);
    }
    for (const problem of rejected) this.write(`metric rejected: ${problem}`);
    return { sink: this.name, attempted: data.length, published: valid.length, rejected };
  }
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}
