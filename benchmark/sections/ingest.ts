import { Client } from 'pg';
import { Rng } from '../rng';
import { LatencySummary, summarize, timed } from '../stats';
import { LANGUAGES, PLATFORMS, WORDS } from '../vocabulary';

/**
 * Section 3: listening mentions written the way the crawler writes them: batches of rows in one
 * multi-row INSERT (unnest of column arrays), each batch its own committed transaction. Run on
 * tables that differ only in their indexes, so rows/s(PK only) / rows/s(all indexes) is the
 * write cost of the indexes.
 */
export interface IngestTarget {
  label: string;
  url: string;
  /** Schema-qualified partitioned table with listening_mentions' columns. */
  table: string;
  indexes: number;
  /**
   * Run with the analytics change capture (071's statement trigger on INSERT) disabled, so
   * rows/s(capture on) / rows/s(capture off) is the cost of capture on the hot path.
   */
  captureOff?: boolean;
}

/** The statement-level trigger that logs the (workspace, day) buckets a mention insert touches. */
export const MENTION_CAPTURE_TRIGGER = 'listening_mentions_analytics_insert';

export interface IngestResult {
  label: string;
  captureOff: boolean;
  table: string;
  indexes: number;
  rows: number;
  batchRows: number;
  durationMs: number;
  rowsPerSecond: number;
  batchLatency: LatencySummary;
}

const COLUMNS = `workspace_id, listening_query_id, platform, external_id, author_handle, author_reach, is_influencer, content, url,
                 language, sentiment, sentiment_score, engagement, keywords, published_at`;

const INSERT_FROM_ARRAYS = (table: string) => `
  INSERT INTO ${table} (${COLUMNS})
  SELECT w, q, p::public.social_platform, e, a, r, r > 100000, c, u, l, s::public.sentiment, sc, en, string_to_array(k, ','), t
    FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[],
                $10::text[], $11::numeric[], $12::bigint[], $13::text[], $14::timestamptz[])
         AS x(w, q, p, e, a, r, c, u, l, s, sc, en, k, t)`;

interface Shape {
  workspaceQueries: { workspaceId: number; queryId: number }[];
}

async function shapeOf(client: Client): Promise<Shape> {
  const { rows } = await client.query<{ workspace_id: string; id: string }>(`SELECT workspace_id, id FROM public.listening_queries ORDER BY id`);
  return { workspaceQueries: rows.map((r) => ({ workspaceId: Number(r.workspace_id), queryId: Number(r.id) })) };
}

/** One batch of column arrays; published in the last 60 days, so it spans two or three monthly partitions. */
function batch(rng: Rng, shape: Shape, runId: string, first: number, size: number, anchor: Date): unknown[] {
  const cols: unknown[][] = Array.from({ length: 14 }, () => []);
  for (let i = 0; i < size; i++) {
    const wq = shape.workspaceQueries[rng.zipfIndex(shape.workspaceQueries.length)];
    const reach = Math.floor(Math.exp(rng.next() * 14));
    const sentiment = rng.weighted([['positive', 30], ['neutral', 45], ['negative', 15], ['mixed', 5], [null, 5]] as const);
    const score = sentiment === null ? null : ((sentiment === 'negative' ? -1 : sentiment === 'positive' ? 0.2 : -0.2) + rng.next() * 0.8).toFixed(3);
    const words = Array.from({ length: 10 }, () => WORDS[rng.zipfIndex(WORDS.length)]);
    const values = [
      wq.workspaceId,
      wq.queryId,
      PLATFORMS[rng.zipfIndex(PLATFORMS.length)],
      `ingest-${runId}-${first + i}`,
      `@author${1 + rng.zipfIndex(200_000)}`,
      reach,
      words.join(' '),
      `https://example.com/i/${runId}/${first + i}`,
      LANGUAGES[rng.zipfIndex(LANGUAGES.length)],
      sentiment,
      score,
      Math.floor(Math.exp(rng.next() * 9)),
      words[0],
      new Date(anchor.getTime() - rng.next() * 60 * 86_400_000),
    ];
    values.forEach((v, c) => cols[c].push(v));
  }
  return cols;
}

export async function runIngest(target: IngestTarget, options: { rows: number; batchRows: number; seed: number; anchor: Date }): Promise<IngestResult> {
  const client = new Client({ connectionString: target.url, application_name: 'dbops:bench-ingest' });
  await client.connect();
  if (target.captureOff) await client.query(`ALTER TABLE ${target.table} DISABLE TRIGGER ${MENTION_CAPTURE_TRIGGER}`);
  try {
    const shape = await shapeOf(client);
    const rng = new Rng(options.seed);
    const runId = `${options.seed}-${target.label.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`;
    const sql = INSERT_FROM_ARRAYS(target.table);
    // Build every batch first so the clock only sees the database.
    const batches: unknown[][] = [];
    for (let first = 0; first < options.rows; first += options.batchRows) {
      batches.push(batch(rng, shape, runId, first, Math.min(options.batchRows, options.rows - first), options.anchor));
    }
    const latencies: number[] = [];
    let rows = 0;
    const started = process.hrtime.bigint();
    for (const values of batches) {
      const { value, ms } = await timed(() => client.query(sql, values));
      rows += value.rowCount ?? 0;
      latencies.push(ms);
    }
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    return {
      label: target.label,
      captureOff: Boolean(target.captureOff),
      table: target.table,
      indexes: target.indexes,
      rows,
      batchRows: options.batchRows,
      durationMs: Math.round(durationMs),
      rowsPerSecond: Math.round((rows / durationMs) * 1000),
      batchLatency: summarize(latencies),
    };
  } finally {
    if (target.captureOff) await client.query(`ALTER TABLE ${target.table} ENABLE TRIGGER ${MENTION_CAPTURE_TRIGGER}`).catch(() => undefined);
    await client.end();
  }
}

/** Indexes on a partitioned parent (each partition carries a copy of every one of them). */
export async function indexCount(client: Client, table: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM pg_index WHERE indrelid = to_regclass($1)`, [table]);
  return Number(rows[0].n);
}

/**
 * A copy of listening_mentions with the same columns, checks, foreign keys and partitions, but
 * only the primary key: the floor the index write cost is measured against.
 */
export async function createPkOnlyCopy(client: Client, name: string): Promise<string> {
  const table = `public.${name}`;
  await client.query(`DROP TABLE IF EXISTS ${table}`);
  await client.query(
    `CREATE TABLE ${table} (LIKE public.listening_mentions INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS)
       PARTITION BY RANGE (published_at)`,
  );
  await client.query(`ALTER TABLE ${table} ADD PRIMARY KEY (id, published_at)`);
  await client.query(`ALTER TABLE ${table} ADD FOREIGN KEY (workspace_id) REFERENCES public.workspaces (id) ON DELETE CASCADE`);
  await client.query(`ALTER TABLE ${table} ADD FOREIGN KEY (listening_query_id) REFERENCES public.listening_queries (id) ON DELETE CASCADE`);
  const { rows } = await client.query<{ start: Date; end: Date; suffix: string }>(
    `SELECT b.range_start AS start, b.range_end AS end, substring(b.partition_name from '_p[0-9]{6}$') AS suffix
       FROM dbops.partition_bounds('public.listening_mentions'::regclass) b WHERE NOT b.is_default`,
  );
  for (const r of rows) {
    await client.query(`CREATE TABLE ${table}${r.suffix} PARTITION OF ${table} FOR VALUES FROM ('${r.start.toISOString()}') TO ('${r.end.toISOString()}')`);
  }
  await client.query(`CREATE TABLE ${table}_default PARTITION OF ${table} DEFAULT`);
  return table;
}
