import { Client, Pool } from 'pg';
import type { QueryFile } from '../../sql/query-files';
import { applyOptimizations, createDatabase, dropDatabase, loadBaseline } from '../databases';
import { ParamSampler, readDataShape } from '../params';
import { Progress, silentProgress } from '../progress';
import { Rng } from '../rng';
import { ScaleSpec } from '../scale';
import { summarize } from '../stats';
import { runMaintenanceTask } from './maintenance';
import { explainAnalyze, measure } from './query-patterns';
import { TARGETS } from '../targets';
import { Quiet, waitForQuietServer } from '../quiet';

/**
 * Section 7: does the cost follow new data or history? The same hour of writes at the spec's
 * rates is applied on top of 1x, 2x and 4x of a scale's history (each size generated once from
 * its own seed, the same volume per month over k times the months, loaded before the indexes are
 * built), and at each size the hourly incremental refresh, a full rebuild of the same data and
 * the p95 of every query pattern are measured. The figures that matter are the ratios of the
 * largest size to 1x.
 *
 * A bucket of a daily relation is recomputed whole, so one hour's refresh also pays for what the
 * day held before it. With dayHours, that many earlier hours of the same load (each with its own
 * refresh, recorded) come before the measured hour, so the measured hour is late in its day.
 */

/** One hour of the spec's load (1 M posts a day, 100,000 mentions an hour), scaled like the dataset. */
export interface GrowthHour {
  posts: number;
  targetsPerPost: number;
  metricRows: number;
  mentions: number;
  conversations: number;
  responses: number;
  resolutions: number;
}

/** medium is one day of production (shared/NOTES.md), so its hour is the spec's; smaller scales shrink it alike. */
export function hourAt(spec: ScaleSpec): GrowthHour {
  const f = spec.posts / 1_000_000;
  const n = (x: number) => Math.max(10, Math.round(x * f));
  return {
    posts: n(41_700),
    targetsPerPost: spec.targetsPerPost,
    // The day's metric collection for recent posts: one row per published target, about an hour's share.
    metricRows: n(41_700 * spec.targetsPerPost),
    mentions: n(100_000),
    // Inbox: the medium history's own rate (500,000 conversations in 24 months is ~30 an hour) is
    // far below a spec day; take a busy hour of a large inbox instead.
    conversations: n(2_000),
    responses: n(1_500),
    resolutions: n(1_000),
  };
}

export function historySpec(base: ScaleSpec, multiplier: number): ScaleSpec {
  return {
    ...base,
    posts: base.posts * multiplier,
    postMetricsDaily: base.postMetricsDaily * multiplier,
    conversations: base.conversations * multiplier,
    messages: base.messages * multiplier,
    listeningMentions: base.listeningMentions * multiplier,
    securityAuditLogs: base.securityAuditLogs * multiplier,
    months: base.months * multiplier,
  };
}

export interface RefreshFigures {
  ms: number;
  buckets: number;
  rowsChanged: number;
  status: string;
  /** Per relation, in refresh order: where the time went. */
  relations: { view: string; ms: number; buckets: number }[];
}

/** What the measured hour's UTC day held when its refresh ran: the volume a daily bucket recomputes. */
export interface DayVolume {
  targetsPublished: number;
  metricRows: number;
  mentions: number;
}

/** One earlier hour of the day (dayHours): the end of its window, its refresh, the day's volume after it. */
export interface EarlierHour {
  hourEnd: string;
  refresh: RefreshFigures;
  day: DayVolume;
}

export interface GrowthSize {
  multiplier: number;
  /** The earlier hours of the measured hour's day, oldest first (empty without dayHours). */
  earlierHours: EarlierHour[];
  /** The measured hour's UTC day when its refresh ran. */
  day: DayVolume;
  posts: number;
  mentions: number;
  months: number;
  loadMs: number;
  hourWriteMs: number;
  /** pg_database_size after the hour and the refresh: whether the size still fits in memory. */
  databaseBytes: number;
  /** The hourly task after the hour of writes (incremental). */
  refresh: RefreshFigures;
  /** refresh-materialized-views full=true on the same data: what an hourly full refresh would cost. */
  fullRebuild: RefreshFigures;
  /**
   * Each pattern's sample runs twice with the same parameters. p95Ms is the second pass, with what
   * those requests read in the cache, as a running platform keeps it; coldP95Ms the first, right
   * after the load, the hour of writes and a VACUUM of everything filled the cache with other pages.
   * plan: EXPLAIN (ANALYZE, BUFFERS) with the p95 execution's parameters, when the p95 misses the query goal.
   */
  patterns: { name: string; p95Ms: number; p50Ms: number; coldP95Ms: number; executions: number; plan?: string }[];
  /** How quiet the server was when the patterns started (waitForQuietServer). */
  quiet: Quiet;
}

export interface GrowthResult {
  scale: string;
  multipliers: number[];
  hour: GrowthHour;
  /** Earlier hours of the same load applied (and refreshed) before the measured hour. */
  dayHours: number;
  /** The end of the measured hour. */
  anchor: string;
  sizes: GrowthSize[];
  /** Largest size over 1x. */
  ratios: { refresh: number; fullRebuild: number; patterns: Record<string, number> };
}

const HOUR_MS = 3_600_000;

/** The hour of writes, in statements of at most 1,000 rows as the application and crawler send them. */
export async function applyHour(client: Client, hour: GrowthHour, anchor: Date, seed: number): Promise<void> {
  const rng = new Rng(seed);
  await client.query(`SELECT setseed($1)`, [(rng.next() * 2 - 1) * 0.99]);
  const start = new Date(anchor.getTime() - HOUR_MS);
  const chunks = (total: number) => Array.from({ length: Math.ceil(total / 1000) }, (_, i) => Math.min(1000, total - i * 1000));
  // Workspaces skewed toward a few big tenants, each with its first member as author.
  const members = `(SELECT array_agg(workspace_id ORDER BY workspace_id) AS ws, array_agg(user_id ORDER BY workspace_id) AS users
                      FROM (SELECT DISTINCT ON (workspace_id) workspace_id, user_id FROM public.workspace_members ORDER BY workspace_id, user_id) m)`;
  for (const [i, n] of chunks(hour.posts).entries()) {
    await client.query(
      `WITH k AS ${members},
       p AS (
         INSERT INTO public.posts (workspace_id, author_id, status, title, content, scheduled_at, published_at, tags, created_at)
         SELECT k.ws[w], k.users[w], CASE WHEN g % 2 = 0 THEN 'PUBLISHED' ELSE 'SCHEDULED' END::public.post_status,
                'Hour post ' || $3 || '-' || g, 'launch update for the hour ' || g,
                $1::timestamptz + random() * interval '1 hour' + CASE WHEN g % 2 = 0 THEN interval '0' ELSE interval '1 day' END,
                CASE WHEN g % 2 = 0 THEN $1::timestamptz + random() * interval '1 hour' END,
                ARRAY['hour'], $1::timestamptz + random() * interval '1 hour'
           FROM k, generate_series(1, $2::int) g,
                LATERAL (SELECT 1 + floor(power(random(), 3) * cardinality(k.ws))::int AS w) x
         RETURNING id, workspace_id, status, published_at
       )
       INSERT INTO public.post_targets (post_id, social_account_id, status, published_at, external_post_id)
       SELECT p.id, sa.id, CASE WHEN p.status = 'PUBLISHED' THEN 'published' ELSE 'pending' END::public.post_target_status,
              p.published_at, CASE WHEN p.status = 'PUBLISHED' THEN 'hour-' || p.id || '-' || sa.id END
         FROM p CROSS JOIN LATERAL (SELECT id FROM public.social_accounts WHERE workspace_id = p.workspace_id ORDER BY id LIMIT $4::int) sa`,
      [start, n, `${seed}-${i}`, hour.targetsPerPost],
    );
  }
  // Metrics collected this hour for the most recently published targets (today's row, upserted).
  const { rows: targets } = await client.query<{ id: string }>(
    `SELECT id FROM public.post_targets WHERE status = 'published' AND published_at >= $1::timestamptz - interval '3 days'
      ORDER BY published_at DESC LIMIT $2`,
    [anchor, hour.metricRows],
  );
  for (let i = 0; i < targets.length; i += 1000) {
    await client.query(
      `INSERT INTO public.post_metrics_daily (post_target_id, metric_date, impressions, reach, likes, comments, shares, saves, clicks)
       SELECT t, ($2::timestamptz AT TIME ZONE 'UTC')::date, 1000 + floor(random() * 5000), 500 + floor(random() * 2000),
              floor(random() * 300), floor(random() * 40), floor(random() * 30), floor(random() * 20), floor(random() * 80)
         FROM unnest($1::bigint[]) t
       ON CONFLICT (post_target_id, metric_date) DO UPDATE
         SET impressions = excluded.impressions, likes = excluded.likes, clicks = excluded.clicks, collected_at = now()`,
      [targets.slice(i, i + 1000).map((t) => t.id), anchor],
    );
  }
  for (const [i, n] of chunks(hour.mentions).entries()) {
    await client.query(
      `WITH q AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(workspace_id ORDER BY id) AS ws FROM public.listening_queries)
       INSERT INTO public.listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, author_reach, is_influencer,
                                              content, sentiment, sentiment_score, engagement, published_at)
       SELECT q.ws[x.k], q.ids[x.k], 'twitter', 'hour-' || $3 || '-' || g, '@a' || floor(random() * 50000), r, r > 100000,
              'hour mention ' || g, 'neutral', 0, floor(random() * 500),
              -- Mostly the last few hours; 5% arrive late, up to a month old.
              $1::timestamptz - CASE WHEN random() < 0.05 THEN random() * interval '30 days' ELSE random() * interval '6 hours' END
         FROM q, generate_series(1, $2::int) g,
              LATERAL (SELECT 1 + floor(power(random(), 3) * cardinality(q.ids))::int AS k, floor(exp(random() * 13))::bigint AS r) x`,
      [anchor, n, `${seed}-${i}`],
    );
  }
  for (const [i, n] of chunks(hour.conversations).entries()) {
    await client.query(
      `WITH a AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(workspace_id ORDER BY id) AS ws FROM public.social_accounts),
       c AS (
         INSERT INTO public.conversations (workspace_id, social_account_id, external_thread_id, type, status, priority,
                                           first_response_due_at, resolution_due_at, created_at, last_message_at)
         SELECT a.ws[x.k], a.ids[x.k], 'hour-' || $3 || '-' || g, 'comment', 'open', 'normal',
                t + interval '1 hour', t + interval '1 day', t, t
           FROM a, generate_series(1, $2::int) g,
                LATERAL (SELECT 1 + floor(power(random(), 3) * cardinality(a.ids))::int AS k, $1::timestamptz + random() * interval '1 hour' AS t) x
         RETURNING id, created_at
       )
       INSERT INTO public.messages (conversation_id, direction, author_handle, body, sent_at)
       SELECT id, 'inbound', '@customer', 'hello', created_at FROM c`,
      [start, n, `${seed}-${i}`],
    );
  }
  // Answers and resolutions: the message, then the conversation's own timestamps.
  for (const [column, count, extra] of [
    ['first_response_at', hour.responses, `, status = 'pending'`],
    ['resolved_at', hour.resolutions, `, status = 'resolved'`],
  ] as const) {
    for (const n of chunks(count)) {
      await client.query(
        `WITH c AS (
           UPDATE public.conversations c SET ${column} = greatest(c.created_at, $1::timestamptz - random() * interval '50 minutes'),
                  last_message_at = $1::timestamptz${extra}
            WHERE c.id IN (SELECT id FROM public.conversations WHERE ${column} IS NULL AND created_at >= $1::timestamptz - interval '2 days'
                            ORDER BY created_at DESC LIMIT $2)
           RETURNING c.id, c.last_message_at
         )
         INSERT INTO public.messages (conversation_id, direction, body, sent_at) SELECT id, 'outbound', 'on it', last_message_at FROM c`,
        [anchor, n],
      );
    }
  }
}

async function patternP95s(client: Client, queries: QueryFile[], sampler: ParamSampler, executions: number): Promise<GrowthSize['patterns']> {
  const out: GrowthSize['patterns'] = [];
  const warmup = Math.min(5, Math.max(1, Math.floor(executions / 20)));
  for (const query of queries) {
    const sets = sampler.sampleMany(query, executions + warmup);
    const cold = await measure(client, query.sql, sets, query.writes, warmup);
    const { samples, p95Params } = await measure(client, query.sql, sets, query.writes, warmup);
    const s = summarize(samples);
    // Why a pattern misses its goal at this size: the plan of the execution that set the p95.
    const plan = s.p95Ms > TARGETS.queryP95.goal ? await explainAnalyze(client, query.sql, p95Params) : undefined;
    out.push({ name: query.name, p95Ms: s.p95Ms, p50Ms: s.p50Ms, coldP95Ms: summarize(cold.samples).p95Ms, executions: samples.length, plan });
  }
  return out;
}

function refreshFigures(run: { durationMs: number; status: string; summary: Record<string, unknown> }): RefreshFigures {
  const refreshed = (run.summary.refreshed ?? []) as { view: string; durationMs: number; buckets: number }[];
  return {
    ms: run.durationMs,
    buckets: Number(run.summary.bucketsRecomputed ?? 0),
    rowsChanged: Number(run.summary.rowsChanged ?? 0),
    status: run.status,
    relations: refreshed.map((r) => ({ view: r.view, ms: r.durationMs, buckets: r.buckets })),
  };
}

/** The rows the anchor's UTC day holds in the sources whose day buckets are recomputed whole. */
async function dayVolume(client: Client, anchor: Date): Promise<DayVolume> {
  const { rows } = await client.query<{ targets: string; metrics: string; mentions: string }>(
    `WITH d AS (SELECT date_trunc('day', $1::timestamptz - interval '1 microsecond', 'UTC') AS day_start)
     SELECT (SELECT count(*) FROM public.post_targets, d WHERE status = 'published' AND published_at >= d.day_start AND published_at < d.day_start + interval '1 day') AS targets,
            (SELECT count(*) FROM public.post_metrics_daily, d WHERE metric_date = (d.day_start AT TIME ZONE 'UTC')::date) AS metrics,
            (SELECT count(*) FROM public.listening_mentions, d WHERE published_at >= d.day_start AND published_at < d.day_start + interval '1 day') AS mentions`,
    [anchor],
  );
  return { targetsPublished: Number(rows[0].targets), metricRows: Number(rows[0].metrics), mentions: Number(rows[0].mentions) };
}

const ratioOf = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : Number.NaN);

export async function runHistoryGrowth(options: {
  adminUrl: string;
  spec: ScaleSpec;
  multipliers: number[];
  seed: number;
  anchor: Date;
  queries: QueryFile[];
  /** Earlier hours of the same load before the measured hour, each refreshed (0-23; default 0). */
  dayHours?: number;
  progress?: Progress;
  skipForeignKeyChecks?: boolean;
  /** Make the databases through this (jest's harness) instead of CREATE DATABASE on adminUrl. */
  makeDatabase?: (name: string) => Promise<{ url: string; drop: () => Promise<void> }>;
}): Promise<GrowthResult> {
  const progress = options.progress ?? silentProgress;
  const hour = hourAt(options.spec);
  const dayHours = options.dayHours ?? 0;
  if (!Number.isInteger(dayHours) || dayHours < 0 || dayHours > 23) throw new Error(`dayHours must be a whole number 0-23, got ${dayHours}`);
  const sizes: GrowthSize[] = [];
  for (const multiplier of options.multipliers) {
    const spec = historySpec(options.spec, multiplier);
    const name = `bench_growth_${options.spec.name}_${multiplier}x_${process.pid}`;
    progress.log(`history growth ${multiplier}x: ${spec.posts} posts, ${spec.listeningMentions} mentions over ${spec.months} months`);
    const db = options.makeDatabase
      ? await options.makeDatabase(name)
      : { url: await createDatabase(options.adminUrl, name), drop: () => dropDatabase(options.adminUrl, name) };
    try {
      const t0 = Date.now();
      // Its own seed per size: a bigger history is generated once, not copied.
      await loadBaseline({ url: db.url, spec, seed: options.seed + multiplier, anchor: options.anchor, skipForeignKeyChecks: options.skipForeignKeyChecks });
      await applyOptimizations(db.url);
      const pool = new Pool({ connectionString: db.url, max: 2 });
      // pool.end() resolves before its clients have closed; the DROP DATABASE ... WITH (FORCE) that
      // follows may terminate one of them, which must not bring the run down.
      pool.on('error', () => undefined);
      const client = new Client({ connectionString: db.url, application_name: 'dbops:bench-growth' });
      await client.connect();
      try {
        const fill = await runMaintenanceTask(pool, { task: 'refresh-materialized-views', options: {}, note: 'initial fill' });
        if (fill.status !== 'succeeded') throw new Error(`history ${multiplier}x: initial fill ${fill.status}: ${fill.reason}`);
        await client.query('VACUUM (ANALYZE)');
        const loadMs = Date.now() - t0;
        const earlierHours: EarlierHour[] = [];
        for (let k = dayHours; k >= 1; k--) {
          const hourEnd = new Date(options.anchor.getTime() - k * HOUR_MS);
          await applyHour(client, hour, hourEnd, options.seed + 1000 * k);
          const run = await runMaintenanceTask(pool, { task: 'refresh-materialized-views', options: {}, note: `earlier hour to ${hourEnd.toISOString()}` });
          if (run.status !== 'succeeded') throw new Error(`history ${multiplier}x: refresh after the hour to ${hourEnd.toISOString()} ${run.status}: ${run.reason}`);
          earlierHours.push({ hourEnd: hourEnd.toISOString(), refresh: refreshFigures(run), day: await dayVolume(client, hourEnd) });
          progress.log(`  ${multiplier}x: hour to ${hourEnd.toISOString()}: refresh ${run.durationMs} ms`);
        }
        const t1 = Date.now();
        await applyHour(client, hour, options.anchor, options.seed);
        const hourWriteMs = Date.now() - t1;
        const day = await dayVolume(client, options.anchor);
        const refresh = await runMaintenanceTask(pool, { task: 'refresh-materialized-views', options: {}, note: 'the hour, incremental' });
        // The hour left its tables past autovacuum's thresholds; a worker started by that would
        // vacuum a 4x table's indexes beside the patterns (waitForQuietServer only waits for one
        // already running). Vacuumed here, the way autovacuum keeps a running platform.
        await client.query('VACUUM (ANALYZE)');
        const [{ bytes }] = (await client.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes')).rows;
        const sampler = new ParamSampler(await readDataShape(client, options.anchor), new Rng(options.seed));
        const quiet = await waitForQuietServer(client);
        const patterns = await patternP95s(client, options.queries, sampler, options.spec.queryExecutions);
        const full = await runMaintenanceTask(pool, { task: 'refresh-materialized-views', options: { full: true }, note: 'full rebuild, same data' });
        sizes.push({
          multiplier,
          earlierHours,
          day,
          posts: spec.posts,
          mentions: spec.listeningMentions,
          months: spec.months,
          loadMs,
          hourWriteMs,
          databaseBytes: Number(bytes),
          refresh: refreshFigures(refresh),
          fullRebuild: refreshFigures(full),
          patterns,
          quiet,
        });
        progress.log(`  ${multiplier}x: hourly refresh ${refresh.durationMs} ms (${sizes.at(-1)!.refresh.buckets} buckets), full rebuild ${full.durationMs} ms`);
      } finally {
        await client.end();
        await pool.end();
      }
    } finally {
      await db.drop().catch(() => undefined);
    }
  }
  const first = sizes[0];
  const last = sizes[sizes.length - 1];
  return {
    scale: options.spec.name,
    multipliers: options.multipliers,
    hour,
    dayHours,
    anchor: options.anchor.toISOString(),
    sizes,
    ratios: {
      refresh: ratioOf(last.refresh.ms, first.refresh.ms),
      fullRebuild: ratioOf(last.fullRebuild.ms, first.fullRebuild.ms),
      patterns: Object.fromEntries(last.patterns.map((p) => [p.name, ratioOf(p.p95Ms, first.patterns.find((q) => q.name === p.name)?.p95Ms ?? 0)])),
    },
  };
}
