import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { p95Chart } from './chart';
import type { BenchResult } from './run';
import { median, quotient } from './stats';
import { TARGETS } from './targets';
import type { GrowthSize, RefreshFigures } from './sections/history-growth';

/** bench-results/<scale>-<timestamp>.{json,md,svg}, plus latest-<scale>.* copies for links. */
export function writeResults(result: BenchResult, dir: string): { json: string; markdown: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = result.meta.startedAt.replace(/[:.]/g, '-');
  const base = path.join(dir, `${result.meta.scale.name}-${stamp}`);
  const files = { json: `${base}.json`, markdown: `${base}.md`, svg: `${base}.svg` };
  const svg = chartOf(result);
  const markdown = markdownReport(result, path.basename(files.svg));
  writeFileSync(files.json, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(files.markdown, markdown);
  writeFileSync(files.svg, svg);
  const latest = path.join(dir, `latest-${result.meta.scale.name}`);
  writeFileSync(`${latest}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${latest}.md`, markdownReport(result, `latest-${result.meta.scale.name}.svg`));
  writeFileSync(`${latest}.svg`, svg);
  return files;
}

export function chartOf(result: BenchResult): string {
  return p95Chart(
    result.queries.map((q) => ({
      label: q.name,
      baselineMs: q.baseline.p95Ms,
      optimizedMs: q.optimized.p95Ms,
      baselineLabel: q.baselineKind === 'live-aggregate' ? ' (live)' : q.baselineCapped ? ` (n=${q.baseline.count})` : '',
    })),
    { title: `p95 per query pattern, ${result.meta.scale.name} scale`, goalMs: TARGETS.queryP95.goal, specMs: TARGETS.queryP95.spec },
  );
}

const n = (v: number | null | undefined, digits = 2): string =>
  v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
const ms = (v: number) => n(v, v >= 100 ? 0 : v >= 10 ? 1 : 2);
const yes = (ok: boolean) => (ok ? 'yes' : '**NO**');
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

function table(header: string[], rows: (string | number)[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`),
  ].join('\n');
}

export function markdownReport(result: BenchResult, svgName?: string): string {
  const m = result.meta;
  const out: string[] = [];
  out.push(`# aurora-dbops benchmark: ${m.scale.name} scale`);
  out.push('');
  out.push(
    table(
      ['', ''],
      [
        ['Date', `${m.startedAt} (took ${(m.durationMs / 1000).toFixed(0)} s)`],
        ['Machine', `${m.machine.cpus} cores (${m.machine.cpuModel}), ${gib(m.machine.memoryBytes)} RAM, ${m.machine.platform}, Node ${m.machine.node}`],
        ['Load average (1 min)', `${m.loadAverage.start} at start, ${m.loadAverage.end} at the end (${m.machine.cpus} cores; above that, other work competed for the CPU)`],
        ['PostgreSQL', `${m.postgres.version} (${m.server})`],
        ['Settings', Object.entries(m.postgres.settings).map(([k, v]) => `${k}=${v}`).join(', ')],
        ['Durability', m.durabilityNote],
        ['Scale / seed', `${m.scale.name}, seed ${m.seed}, data anchored at ${m.anchor}`],
        ...(m.sectionsSkipped.length ? [['Skipped', m.sectionsSkipped.join(', ')]] : []),
      ],
    ),
  );
  out.push('');

  // Targets first: the reader's question is "did it meet them?".
  out.push('## Targets');
  out.push('');
  const misses = result.targets.filter((t) => !t.meetsGoal);
  out.push(
    table(
      ['Area', 'Item', 'Measured', 'Spec', 'Meets spec', 'Goal', 'Meets goal'],
      result.targets.map((t) => [t.area, t.item, `${n(t.value, 2)} ${t.unit}`, t.specText, yes(t.meetsSpec), t.goalText, yes(t.meetsGoal)]),
    ),
  );
  out.push('');
  out.push(
    misses.length === 0
      ? 'Every figure meets its goal.'
      : `**Goal missed by ${misses.length} figure(s):** ${misses.map((t) => `${t.item} (${n(t.value, 2)} ${t.unit}, goal ${t.goalText})`).join('; ')}.`,
  );
  if (m.scale.name !== 'medium') out.push('', `_The goals are judged at medium scale; this is a ${m.scale.name}-scale run._`);
  out.push('');

  out.push('## Data');
  out.push('');
  const d = result.data;
  out.push(
    table(
      ['Table', 'Expected rows', 'Baseline', 'Optimized'],
      Object.keys(d.expected).map((t) => [t, n(d.expected[t], 0), n(d.baseline[t], 0), n(d.optimized[t], 0)]),
    ),
  );
  out.push('');
  out.push(
    `Load: baseline migrations ${n(d.load.migrateBaselineMs / 1000, 1)} s, generation ${n(d.load.generateMs / 1000, 1)} s ` +
      `(foreign-key checks ${d.load.foreignKeyChecks ? 'on' : 'skipped by session_replication_role = replica; data is consistent by construction and the harness test loads with them on'}), ` +
      `VACUUM (ANALYZE) ${n(d.load.vacuumAnalyzeMs / 1000, 1)} s, copy to the optimized database ${n(d.load.cloneMs / 1000, 1)} s, ` +
      `migrations ${d.load.optimize.applied.join(', ') || '(none)'} ${n(d.load.optimize.durationMs / 1000, 1)} s + ANALYZE ${n(d.load.optimize.analyzeMs / 1000, 1)} s, ` +
      `first fill of the views ${n(d.load.initialViewFillMs / 1000, 1)} s.`,
  );
  out.push('');

  if (result.queries.length) {
    out.push('## 1. Query patterns (sql/queries)');
    out.push('');
    out.push(
      `${m.scale.queryExecutions} measured executions per pattern on the optimized database after a short warm-up, parameters drawn from the data ` +
        '(70% of requests from workspaces in proportion to their size, 30% from any workspace; 7/30/90-day periods; 20% deeper pages). ' +
        `Baseline = the same data migrated only below 030, same parameter list, stopped after ${n(m.scale.baselinePatternBudgetMs / 1000, 0)} s ` +
        '(n shows how many ran). View reads have no view on the baseline: their baseline is the view\'s defining query computed live. ' +
        'The claim pattern runs in a transaction that is rolled back. Client-side latency over TCP on localhost, each value kept as the text the server sent (no conversion to JS types).' +
        (result.patternsQuiet
          ? ` The patterns started after a CHECKPOINT and once no autovacuum worker ran: waited ${n(result.patternsQuiet.waitMs / 1000, 1)} s` +
            `${result.patternsQuiet.autovacuumWorkers ? ` (gave up with ${result.patternsQuiet.autovacuumWorkers} autovacuum workers still running)` : ''}, load average then ${n(result.patternsQuiet.loadAverage, 2)}.`
          : ''),
    );
    out.push('');
    out.push(
      table(
        ['Pattern', 'p50 ms', 'p95 ms', 'p99 ms', 'Baseline p50', 'Baseline p95', 'Baseline p99', 'n (base)', 'Speedup p95', 'Rows'],
        result.queries.map((q) => [
          q.name + (q.view ? ' (view)' : ''),
          ms(q.optimized.p50Ms),
          ms(q.optimized.p95Ms),
          ms(q.optimized.p99Ms),
          ms(q.baseline.p50Ms),
          ms(q.baseline.p95Ms),
          ms(q.baseline.p99Ms),
          `${q.baseline.count}${q.baselineKind === 'live-aggregate' ? ' live' : ''}`,
          `${n(q.speedupP95, 1)}x`,
          n(q.avgRows, 1),
        ]),
      ),
    );
    out.push('');
    if (svgName) out.push(`![p95 per pattern](${svgName})`, '');
  }

  if (result.views.length) {
    out.push('## 2. Materialized views');
    out.push('');
    out.push(
      table(
        ['View', 'Read p95 ms', 'Live aggregate p95 ms', 'n (live)', 'Speedup', 'PK point select p95 ms (floor)'],
        result.views.map((v) => [v.view, ms(v.viewP95Ms), ms(v.liveP95Ms), v.liveExecutions, `${n(v.speedupP95, 1)}x`, ms(v.pkPointSelectP95Ms)]),
      ),
    );
    out.push('');
  }

  if (result.ingest.results.length) {
    out.push('## 3. Listening mention ingest');
    out.push('');
    out.push(
      `${n(m.scale.ingestRows, 0)} rows per table in ${m.scale.ingestBatchRows}-row multi-row INSERTs (unnest of column arrays), one writer, each batch committed; ` +
        'published in the last 60 days (2-3 monthly partitions).',
    );
    out.push('');
    out.push(
      table(
        ['Table', 'Indexes', 'Rows/s', 'Batch p50 ms', 'Batch p95 ms', 'Duration s'],
        result.ingest.results.map((r) => [r.label, r.indexes, n(r.rowsPerSecond, 0), ms(r.batchLatency.p50Ms), ms(r.batchLatency.p95Ms), n(r.durationMs / 1000, 1)]),
      ),
    );
    out.push('');
    out.push(`Index write cost: the primary-key-only copy ingests ${n(result.ingest.indexWriteCost, 2)}x as fast as the fully indexed table.`);
    if (result.ingest.captureRatio !== null) {
      out.push(
        `Change capture cost: with the analytics capture trigger the fully indexed table ingests ${n(result.ingest.captureRatio, 3)}x the rows/s it does with the trigger disabled (two runs of each, alternated; goal >= 0.85).`,
      );
    }
    out.push('');
  }

  if (result.queue) {
    const queue = result.queue;
    out.push('## 4. Publishing queue');
    out.push('');
    const rows = [
      ['generated backlog, claims only (hand-out)', queue.handOut, queue.batchSize],
      ['generated backlog, whole lifecycle', queue.optimized, queue.batchSize],
      ['generated backlog, baseline (posts claim)', queue.baseline, queue.batchSize],
      ['burst at one instant, claims only (hand-out)', queue.burstHandOut, queue.burstBatchSize],
      ['burst at one instant, whole lifecycle', queue.burst, queue.burstBatchSize],
    ].filter((r): r is [string, NonNullable<typeof queue.baseline>, number] => r[1] !== null);
    out.push(
      table(
        ['Run', 'Workers', 'Batch', 'Due posts', 'Claimed', 'Claims/s', 'Claim p50 ms', 'Claim p95 ms', 'Double claims (memory)', 'Double claims (DB)', 'Lost posts'],
        rows.map(([label, q, batch]) => [
          label,
          q.workers,
          batch,
          n(q.duePosts, 0),
          n(q.claimed, 0),
          n(q.claimsPerSecond, 0),
          ms(q.claimLatency.p50Ms),
          ms(q.claimLatency.p95Ms),
          q.doubleClaims.length,
          q.doubleClaimedInDb.length,
          q.capped ? `n/a (stopped after ${n(q.durationMs / 1000, 1)} s)` : q.lostPosts.length,
        ]),
      ),
    );
    out.push('');
    out.push(
      'Claims only (hand-out): each worker leases batches with scheduled_post_claim (takes the oldest entries off publish_ready, the list of posts nobody holds with their pending targets, FOR UPDATE SKIP LOCKED, and leases their publish_queue rows with a HOT update, one transaction each) until none is due, and reports nothing: ' +
        'what the queue itself can hand out, as pg-boss\'s fetch; lost = a due post left unleased, DB double claims = a queue row whose claims rose by more than one. The workers then hand the leases back (publish_release) and the same posts are drained again: ' +
        'whole lifecycle = lease a batch, then report every target published in one publish_report call (targets, the post\'s final status, the outcome row: a second transaction); lost = a due post not PUBLISHED. ' +
        'Baseline: the claim before 080 (an update of posts) and an update of posts to PUBLISHED. Claims/s = posts claimed per second of wall time, every commit included.',
    );
    out.push('');
    const fo = queue.pgBossFetchOnly;
    const b = queue.pgBoss;
    const w = queue.pgBossWriteBack;
    out.push('Side by side with pg-boss on the same server and database, same jobs, workers and batch:');
    out.push('');
    const ours = (label: string, q: typeof queue.burst) => [label, n(q.duePosts, 0), q.workers, queue.burstBatchSize, n(q.claimsPerSecond, 0), ms(q.claimLatency.p50Ms), ms(q.claimLatency.p95Ms), 'n/a', q.doubleClaims.length];
    const boss = (label: string, r: typeof b) => [label, n(r.jobs, 0), r.workers, r.batchSize, n(r.claimsPerSecond, 0), ms(r.fetchLatency.p50Ms), ms(r.fetchLatency.p95Ms), r.fetchOnly ? 'n/a' : ms(r.completeLatency.p95Ms), r.doubleFetches];
    out.push(
      table(
        ['Queue', 'Jobs', 'Workers', 'Batch', 'Claims/s', 'Claim p50 ms', 'Claim p95 ms', 'Finish p95 ms', 'Double claims'],
        [
          ours('aurora-dbops, claims only (hand-out)', queue.burstHandOut),
          boss(`pg-boss ${fo.version}, fetch only`, fo),
          ours('aurora-dbops, whole lifecycle', queue.burst),
          boss(`pg-boss ${w.version}, fetch, write the posts back, complete`, w),
          boss(`pg-boss ${b.version}, fetch and complete (no posts written)`, b),
        ],
      ),
    );
    out.push('');
    out.push(
      `Ratios: the hand-out ${n(quotient(queue.burstHandOut.claimsPerSecond, fo.claimsPerSecond), 2)}x pg-boss's fetch; the whole lifecycle ${n(median(queue.lifecyclePairs.map((p) => p.ratio)), 2)}x pg-boss writing the posts back (the median of the pairs below) ` +
        `and ${n(quotient(queue.burst.claimsPerSecond, b.claimsPerSecond), 2)}x pg-boss completing jobs that write nothing. ` +
        'pg-boss completes a job by updating its own job row; the lifecycle\'s report also writes the post\'s targets, the post\'s final status and the outcome. ' +
        `In the write-back run each worker, before completing a batch, publishes its posts' targets and marks the posts PUBLISHED in one statement (no fence, outcome or retry bookkeeping): the least a publisher on pg-boss writes. Its posts are not in publish_queue (the queue triggers of posts are off for that run), as on a platform whose queue is pg-boss. Posts left unpublished by it: ${w.unpublishedPosts ?? 'n/a'}.`,
    );
    out.push('');
    const perPost = (seconds: number | undefined, posts: number) => (seconds !== undefined && posts > 0 ? n((1000 * seconds) / posts, 3) : 'n/a');
    out.push(
      `The whole lifecycle and pg-boss writing the posts back, in turns, each drain over its own burst of ${n(queue.burst.duePosts, 0)} posts (the first pair: the burst above, then pg-boss after its fetch-only and fetch-and-complete runs; after it the order swaps every other pair, so a drift of the machine during the run favours neither). ` +
        'One drain of each moves with whatever else the machine does; the goal is checked on the median of the pairs\' ratios.',
    );
    out.push('');
    out.push(
      table(
        ['Pair', 'First', 'Lifecycle posts/s', 'Lifecycle server CPU ms/post', 'pg-boss posts/s', 'pg-boss server CPU ms/post', 'Ratio'],
        queue.lifecyclePairs.map((p, i) => [
          i + 1,
          p.first,
          n(p.lifecycle.claimsPerSecond, 0),
          perPost(p.lifecycle.cpu?.serverSeconds, p.lifecycle.claimed),
          n(p.pgBossWriteBack.claimsPerSecond, 0),
          perPost(p.pgBossWriteBack.cpu?.serverSeconds, p.pgBossWriteBack.fetched),
          `${n(p.ratio, 3)}x`,
        ]),
      ),
    );
    out.push('');
    const split = [
      ['aurora-dbops burst, claims only', queue.burstHandOut.claimed, queue.burstHandOut.cpu, queue.burstHandOut.quiet],
      ['aurora-dbops burst, whole lifecycle', queue.burst.claimed, queue.burst.cpu, queue.burst.quiet],
      [`aurora-dbops backlog (batch ${queue.batchSize}), claims only`, queue.handOut.claimed, queue.handOut.cpu, queue.handOut.quiet],
      [`aurora-dbops backlog (batch ${queue.batchSize}), whole lifecycle`, queue.optimized.claimed, queue.optimized.cpu, queue.optimized.quiet],
      [`pg-boss ${fo.version}, fetch only`, fo.fetched, fo.cpu, fo.quiet],
      [`pg-boss ${w.version}, writing the posts back`, w.fetched, w.cpu, w.quiet],
      [`pg-boss ${b.version}, fetch and complete`, b.fetched, b.cpu, b.quiet],
    ] as const;
    if (split.some(([, , cpu]) => cpu)) {
      out.push(
        'Where the CPU went, over each drain\'s workers alone: server = every process of the embedded PostgreSQL (sessions, WAL writer, autovacuum); client = the process running the workers; box = busy CPU of every core of the machine, whoever used it. ' +
          'Here both share the box\'s cores; in production the publishers run elsewhere, so the server CPU per post is what sizes the database instance for a rate. ' +
          'Each drain starts after a CHECKPOINT and once no autovacuum worker runs (quiet wait), so that a checkpoint or a vacuum left by the drain before does not fall on the one after.',
      );
      out.push('');
      out.push(
        table(
          ['Run', 'Posts', 'Quiet wait s', 'Wall s', 'Server CPU s', 'Client CPU s', 'Box busy CPU s', 'Server CPU ms/post', 'Client CPU ms/post', 'Posts/s per server core'],
          split.map(([label, posts, cpu, quiet]) => [
            label,
            n(posts, 0),
            quiet ? `${n(quiet.waitMs / 1000, 1)}${quiet.autovacuumWorkers ? ` (${quiet.autovacuumWorkers} autovacuum still running)` : ''}` : 'n/a',
            cpu ? n(cpu.wallSeconds, 1) : 'n/a',
            cpu ? n(cpu.serverSeconds, 1) : 'n/a',
            cpu ? n(cpu.clientSeconds, 1) : 'n/a',
            cpu ? n(cpu.machineSeconds, 1) : 'n/a',
            perPost(cpu?.serverSeconds, posts),
            perPost(cpu?.clientSeconds, posts),
            cpu && cpu.serverSeconds > 0 ? n(posts / cpu.serverSeconds, 0) : 'n/a',
          ]),
        ),
      );
      out.push('');
    }
    const f = queue.faults;
    out.push('### Under faults');
    out.push('');
    out.push(
      `${n(f.posts, 0)} posts (${n(f.targets, 0)} targets) due at one instant; ${f.workers} workers, batch ${f.batchSize}; 2% of batches crash mid-batch (the rest of the batch keeps its lease, ${f.crashes > 0 ? '2 s here' : 'unused'}); ` +
        'the simulated platform fails 3% of calls transiently and 0.2% permanently; up to 5 attempts per target with jittered backoff; release-stuck-claims every second.',
    );
    out.push('');
    out.push(
      table(
        ['', ''],
        [
          ['Wall time', `${n(f.durationMs / 1000, 1)} s (${n(f.postsPerSecond, 0)} posts finished/s; ${n(f.claimsPerSecond, 0)} claims/s, claim p95 ${ms(f.claimLatency.p95Ms)} ms, report p95 ${ms(f.reportLatency.p95Ms)} ms)`],
          ['Batches / crashes', `${n(f.batches, 0)} / ${f.crashes} (${n(f.crashedLeases, 0)} leases left behind; ${f.requeueRuns} requeue runs released ${n(f.requeued, 0)}; StuckClaims summed ${n(f.metric.stuckClaimsTotal, 0)})`],
          ['Platform calls', `${n(f.platformCalls, 0)}: ${n(f.injected.transient, 0)} transient failures, ${n(f.injected.permanent, 0)} permanent, ${n(f.injected.exhausted, 0)} targets out of attempts`],
          ['Final posts', `${n(f.final.published, 0)} PUBLISHED, ${n(f.final.failed, 0)} FAILED, ${f.final.other} other, ${f.final.stillQueued} still queued`],
          ['Final targets', `${n(f.final.targetsPublished, 0)} published, ${n(f.final.targetsFailed, 0)} failed, ${f.final.targetsPending} pending`],
          ['Published twice on the platform', `${f.publishedTwice} (external id mismatches: ${f.externalIdMismatches}; superseded reports ignored: ${f.staleReports})`],
          ['Success rate, posts', `${n(f.measured.successPercent, 4)}% measured; ${n(f.expected.successPercent, 4)}% implied by the injected failures; PublishSuccessRate ${n(f.metric.publishSuccessRate, 4)}%`],
          ['Success rate, targets', `${n(f.measured.targetSuccessPercent, 4)}% measured; ${n(f.expected.targetSuccessPercent, 4)}% implied; PublishTargetSuccessRate ${n(f.metric.publishTargetSuccessRate, 4)}%`],
          ['All finished', yes(!f.capped)],
        ],
      ),
    );
    out.push('');
  }

  if (result.maintenance) {
    out.push('## 5. Maintenance');
    out.push('');
    const r = result.maintenance.refreshUnderRead;
    if (r) {
      out.push(
        table(
          ['View', 'Refresh mode', 'Duration s'],
          r.views.map((v) => [v.view, v.mode, n(v.durationMs / 1000, 2)]),
        ),
      );
      out.push('');
      out.push(
        `Refresh of all views: ${n(r.refresh.durationMs / 1000, 1)} s (${r.refresh.status}). While it ran, a reader issued ${r.readerExecutions} view reads: ` +
          `p95 ${ms(r.readerLatency.p95Ms)} ms, max ${ms(r.readerLatency.maxMs)} ms (idle: p95 ${ms(r.idleLatency.p95Ms)} ms, max ${ms(r.idleLatency.maxMs)} ms).`,
      );
      out.push('');
    }
    out.push(
      table(
        ['Task', 'Options', 'Status', 'Duration s', 'Note'],
        result.maintenance.tasks.map((t) => [t.task, JSON.stringify(t.options), t.status + (t.reason ? `: ${t.reason}` : ''), n(t.durationMs / 1000, 2), t.note]),
      ),
    );
    out.push('');
  }

  if (result.bundles) {
    out.push('## 6. Lambda bundles');
    out.push('');
    const bundles = result.bundles;
    out.push(
      `The assets of stack ${bundles.stack} as \`cdk synth\` bundles them (the constructs' own esbuild options, runtime ${bundles.runtime}). ` +
        `Code = index.js, goal <= ${n(bundles.goalBytes, 0)} bytes; the source map ships beside it and is counted apart. ` +
        `Init = require() of the bundle in a fresh node process with the function's NODE_OPTIONS, median of 5 (wall time, and the CPU time it took, steadier on a busy machine), on this machine's Node ${bundles.nodeVersion}; ` +
        "external modules resolved from this repository's node_modules (the Lambda runtime provides its own).",
    );
    out.push('');
    out.push(
      table(
        ['Handler', 'Functions', 'Code bytes', 'Goal', 'Source map bytes', 'Other files bytes', 'Left to the runtime', 'Init ms (median)', 'Init CPU ms (median)', 'Runs ms'],
        bundles.bundles.map((b) => [
          b.handler,
          String(b.functions.length),
          n(b.bytes, 0),
          b.meetsGoal ? 'met' : 'missed',
          n(b.sourceMapBytes, 0),
          n(b.otherBytes, 0),
          b.externalRequires.join(', ') || 'none',
          b.error ? `error: ${b.error}` : ms(b.initMs),
          b.error ? '' : ms(b.initCpuMs),
          b.initRunsMs.join(', '),
        ]),
      ),
    );
    out.push('');
  }

  if (result.growth) {
    const g = result.growth;
    const h = g.hour;
    out.push('## 7. History growth');
    out.push('');
    out.push(
      `The same hour of writes on top of ${g.multipliers.join('x, ')}x of the ${g.scale} history (each size generated from its own seed, ` +
        `same volume per month over k times the months): ${n(h.posts, 0)} posts with ${h.targetsPerPost} targets each, ${n(h.metricRows, 0)} metric rows of recent posts, ` +
        `${n(h.mentions, 0)} mentions, ${n(h.conversations, 0)} conversations, ${n(h.responses, 0)} first responses, ${n(h.resolutions, 0)} resolutions, ` +
        'in statements of at most 1,000 rows. Then the hourly task (incremental), every pattern, and a full rebuild (full=true) of the same data.',
    );
    out.push('');
    out.push(
      table(
        ['History', 'Posts', 'Mentions', 'Months', 'Database GB', 'Hourly refresh ms', 'Buckets', 'Rows changed', 'Full rebuild ms'],
        g.sizes.map((z) => [`${z.multiplier}x`, n(z.posts, 0), n(z.mentions, 0), z.months, n(z.databaseBytes / 1e9, 1), n(z.refresh.ms, 0), n(z.refresh.buckets, 0), n(z.refresh.rowsChanged, 0), n(z.fullRebuild.ms, 0)]),
      ),
    );
    out.push('');
    out.push(
      table(
        ['Relation', ...g.sizes.map((z) => `Hourly ms ${z.multiplier}x (buckets)`), ...g.sizes.map((z) => `Full rebuild ms ${z.multiplier}x`)],
        g.sizes[0].refresh.relations.map((r) => {
          const of = (f: RefreshFigures) => f.relations.find((x) => x.view === r.view);
          return [
            r.view,
            ...g.sizes.map((z) => (of(z.refresh) ? `${n(of(z.refresh)!.ms, 0)} (${n(of(z.refresh)!.buckets, 0)})` : '')),
            ...g.sizes.map((z) => (of(z.fullRebuild) ? n(of(z.fullRebuild)!.ms, 0) : '')),
          ];
        }),
      ),
    );
    out.push('');
    if (g.dayHours > 0) {
      // A daily bucket is recomputed whole: the refresh late in a day pays for the day so far.
      const daily = g.sizes[0].refresh.relations.map((r) => r.view);
      const short = (v: string) => v.replace(/^(public|dbops)\./, '');
      out.push(
        `The day so far: ${g.dayHours} earlier hours of the same load came first, each followed by its own refresh; the last row of each size is the measured hour. ` +
          "Day volume: the hour's UTC day in post_targets published, post_metrics_daily rows and mentions when the refresh ran.",
      );
      out.push('');
      out.push(
        table(
          ['History', 'Hour ending', 'Targets published that day', 'Metric rows that day', 'Mentions that day', 'Refresh ms', ...daily.map((v) => `${short(v)} ms`)],
          g.sizes.flatMap((z) =>
            [...z.earlierHours, { hourEnd: `${g.anchor} (measured)`, refresh: z.refresh, day: z.day }].map((h) => [
              `${z.multiplier}x`,
              h.hourEnd,
              n(h.day.targetsPublished, 0),
              n(h.day.metricRows, 0),
              n(h.day.mentions, 0),
              n(h.refresh.ms, 0),
              ...daily.map((v) => n(h.refresh.relations.find((r) => r.view === v)?.ms ?? Number.NaN, 0)),
            ]),
          ),
        ),
      );
      out.push('');
    }
    out.push(`Ratio ${g.sizes[g.sizes.length - 1].multiplier}x / 1x: hourly refresh ${n(g.ratios.refresh, 2)} (goal <= 1.3), full rebuild ${n(g.ratios.fullRebuild, 2)}.`);
    out.push('');
    const of = (z: GrowthSize, name: string) => z.patterns.find((q) => q.name === name);
    out.push(
      table(
        ['Pattern', ...g.sizes.map((z) => `p95 ms ${z.multiplier}x`), 'Ratio', ...g.sizes.map((z) => `first pass ${z.multiplier}x`)],
        g.sizes[0].patterns.map((p) => [
          p.name,
          ...g.sizes.map((z) => ms(of(z, p.name)?.p95Ms ?? Number.NaN)),
          n(g.ratios.patterns[p.name], 2),
          ...g.sizes.map((z) => ms(of(z, p.name)?.coldP95Ms ?? Number.NaN)),
        ]),
      ),
    );
    out.push('');
    out.push(
      'Each pattern runs its sample twice with the same parameters; the p95 and its ratio are the second pass (what those requests read is in the cache, as in a running platform). ' +
        'The first pass follows the load, the hour of writes and a VACUUM of the whole database, which leave other pages in the cache: where the database is larger than memory, it measures disk reads. ' +
        'Both passes start after a VACUUM (ANALYZE), a CHECKPOINT and once no autovacuum worker runs: ' +
        g.sizes
          .map((z) => `${z.multiplier}x waited ${n(z.quiet.waitMs / 1000, 1)} s${z.quiet.autovacuumWorkers ? ` (${z.quiet.autovacuumWorkers} autovacuum workers still running)` : ''}, load average ${n(z.quiet.loadAverage, 2)}`)
          .join('; ') +
        '.',
    );
    out.push('');
    const largest = g.sizes[g.sizes.length - 1];
    for (const p of largest.patterns.filter((q) => q.plan)) {
      out.push(`Plan of ${p.name} at ${largest.multiplier}x (p95 ${ms(p.p95Ms)} ms), EXPLAIN (ANALYZE, BUFFERS) with the p95 execution's parameters:`);
      out.push('');
      out.push('```', p.plan!, '```', '');
    }
  }

  const slow = result.queries.filter((q) => !result.targets.find((t) => t.item === q.name)?.meetsGoal);
  if (slow.length) {
    out.push('## Plans of patterns that miss the goal');
    out.push('');
    out.push('EXPLAIN (ANALYZE, BUFFERS) on the optimized database, re-run with the parameters of the execution that set the p95.');
    out.push('');
    for (const q of slow) {
      out.push(`### ${q.name}`, '', `Parameters: \`${JSON.stringify(q.plans.params)}\``, '', '```', q.plans.optimized, '```', '');
    }
  }
  return `${out.join('\n')}\n`;
}
