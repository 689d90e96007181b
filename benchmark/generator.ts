import { Client } from 'pg';
import { Progress, silentProgress } from './progress';
import { SqlRandom, intOf, pickUniform, pickZipf, weightedOf, zipfOf } from './random-sql';
import { CAMPAIGN_POST_SHARE, ScaleSpec, campaignsPerWorkspace, expectedRowCounts } from './scale';
import { AUDIT_ACTIONS, INFLUENCER_CATEGORIES, LANGUAGES, PLATFORMS, TAGS, WORDS } from './vocabulary';

/**
 * Loads a migrated (at least up to 020) database with the platform's data, set-based: every
 * table is INSERT ... SELECT FROM generate_series in chunks of CHUNK_ROWS ids, each value a hash
 * of its row id and the seed (random-sql.ts). Ids are given explicitly, so child rows find their
 * parents by arithmetic (workspace w owns accounts (w-1)*A+1 .. w*A) and two lanes load
 * independent tables at once, one per core. Times run monotonically with the id, as in an
 * append-mostly table, over `months` UTC months ending at the anchor.
 */
export interface GenerateOptions {
  databaseUrl: string;
  spec: ScaleSpec;
  seed: number;
  /** Everything is generated relative to this instant (the run's start, truncated to the hour). */
  anchor: Date;
  progress?: Progress;
  /**
   * Skip foreign-key triggers while loading (session_replication_role = replica; needs
   * superuser). The data is consistent by construction; the harness test loads with checks on
   * to prove it.
   */
  skipForeignKeyChecks?: boolean;
}

export interface GenerateResult {
  durationMs: number;
  rowCounts: Record<string, number>;
  spanStart: Date;
  anchor: Date;
  foreignKeyChecks: boolean;
}

const CHUNK_ROWS = 50_000;

interface TableLoad {
  table: string;
  /** Ids [1, total] are loaded in chunks; the chunk query gets $1 = first id, $2 = last id. */
  total: number;
  sql: string;
  /** The chunk loop runs over these ids when they are not [1, total] (derived tables, split loads). */
  idRange?: (client: Client) => Promise<[number, number]>;
  /** Set when the table is loaded in parts (rows are summed per table). */
  part?: string;
}

interface Ctx {
  spec: ScaleSpec;
  rnd: SqlRandom;
  anchor: Date;
}

/** `$3` = anchor, `$4` = start of the span; a monotonic time for id `g` of `n`. */
function timeOf(g: string, n: number, jitterDraw: string): string {
  return `($4::timestamptz + ((${g} - 1 + ${jitterDraw}) / ${n}::float8) * ($3::timestamptz - $4::timestamptz))`;
}

function series(ctx: Ctx, draws: number, saltBase: number, alias = 's'): string {
  return `(SELECT g, ${ctx.rnd.draws('g', draws, saltBase)} FROM generate_series($1::bigint, $2::bigint) AS g) AS ${alias}`;
}

function words(draws: string[]): string {
  return `concat_ws(' ', ${draws.map((d) => pickZipf(d, WORDS)).join(', ')})`;
}

const SENTIMENTS: [string, number][] = [
  [`'positive'`, 30],
  [`'neutral'`, 40],
  [`'negative'`, 20],
  [`'mixed'`, 5],
  ['NULL', 5],
];

function loads(ctx: Ctx): { prerequisites: TableLoad[]; laneA: TableLoad[]; laneB: TableLoad[] } {
  const { spec } = ctx;
  const W = spec.workspaces;
  const UPW = spec.usersPerWorkspace;
  const A = spec.socialAccountsPerWorkspace;
  const campaignCounts = campaignsPerWorkspace(spec);
  // Campaign k of workspace w (of n) covers the k-th of n equal slices of the history; its posts are
  // the ones created in that slice. `campaign_ranges` gives each workspace's first id and count.
  const campaignRanges = `(SELECT workspace_id, min(id) AS lo, count(*)::int AS n FROM public.campaigns GROUP BY workspace_id)`;
  const Q = spec.listeningQueriesPerWorkspace;
  const P = spec.posts;
  const T = spec.targetsPerPost;
  const dueStride = Math.floor(P / spec.duePosts);
  if (T > A) throw new Error(`targetsPerPost (${T}) must not exceed socialAccountsPerWorkspace (${A})`);
  const counts = expectedRowCounts(spec);

  const workspaces: TableLoad = {
    table: 'workspaces',
    total: W,
    sql: `
      INSERT INTO public.workspaces (id, name, slug, timezone, created_at, updated_at) OVERRIDING SYSTEM VALUE
      SELECT g, 'Workspace ' || g, 'ws-' || g,
             ${pickUniform('r1', ['UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Tokyo', 'Australia/Sydney'])},
             $4::timestamptz - interval '60 days' * r2, $4::timestamptz - interval '60 days' * r2
      FROM ${series(ctx, 2, 0)}`,
  };
  const users: TableLoad = {
    table: 'users',
    total: counts.users,
    sql: `
      INSERT INTO public.users (id, email, password_hash, display_name, is_active, last_login_at, created_at, updated_at) OVERRIDING SYSTEM VALUE
      SELECT g, 'user' || g || '@example.com', '$2b$10$' || md5(g::text) || md5((g + 1)::text), 'User ' || g,
             r1 < 0.97, $3::timestamptz - interval '30 days' * r2, $4::timestamptz - interval '30 days' * r3, $4::timestamptz
      FROM ${series(ctx, 3, 10)}`,
  };
  // User g belongs to workspace ((g-1) % W) + 1, so workspace w's users are w, w+W, w+2W, ...
  const members: TableLoad = {
    table: 'workspace_members',
    total: counts.workspace_members,
    sql: `
      INSERT INTO public.workspace_members (id, workspace_id, user_id, role, joined_at) OVERRIDING SYSTEM VALUE
      SELECT g, ((g - 1) % ${W}) + 1, g,
             (CASE WHEN g <= ${W} THEN 'owner' ELSE ${weightedOf('r1', [[`'admin'`, 10], [`'editor'`, 50], [`'viewer'`, 40]])} END)::public.workspace_role,
             $4::timestamptz
      FROM ${series(ctx, 1, 20)}`,
  };
  const socialAccounts: TableLoad = {
    table: 'social_accounts',
    total: counts.social_accounts,
    sql: `
      INSERT INTO public.social_accounts (id, workspace_id, platform, external_account_id, handle, display_name, status,
                                          token_expires_at, connected_by, created_at, updated_at) OVERRIDING SYSTEM VALUE
      SELECT g, (g - 1) / ${A} + 1,
             (ARRAY[${PLATFORMS.map((p) => `'${p}'`).join(',')}]::public.social_platform[])[((g - 1) / ${A} + (g - 1) % ${A}) % ${PLATFORMS.length} + 1],
             'acct-' || g, '@ws' || ((g - 1) / ${A} + 1) || '_' || ((g - 1) % ${A}), 'Account ' || g,
             ${weightedOf('r1', [[`'active'`, 90], [`'token_expired'`, 6], [`'disconnected'`, 3], [`'suspended'`, 1]])}::public.social_account_status,
             $3::timestamptz + interval '90 days' * (r2 - 0.2), (g - 1) / ${A} + 1, $4::timestamptz, $4::timestamptz
      FROM ${series(ctx, 2, 30)}`,
  };
  const campaigns: TableLoad = {
    table: 'campaigns',
    total: counts.campaigns,
    sql: `
      INSERT INTO public.campaigns (id, workspace_id, name, description, status, start_date, end_date, budget, tags, created_by,
                                    created_at, updated_at) OVERRIDING SYSTEM VALUE
      SELECT c.id, c.w, 'Campaign ' || c.id, 'Generated campaign ' || c.id,
             (CASE WHEN slice_end < $3::timestamptz
                   THEN ${weightedOf('r1', [[`'completed'`, 80], [`'archived'`, 15], [`'paused'`, 5]])}
                   ELSE ${weightedOf('r1', [[`'active'`, 70], [`'draft'`, 20], [`'paused'`, 10]])} END)::public.campaign_status,
             slice_start::date, slice_end::date + (floor(r3 * 14))::int,
             round((r4 * 50000)::numeric, 2), ARRAY[${pickZipf('r5', TAGS)}], c.w, slice_start - interval '7 days', slice_start - interval '7 days'
      FROM (
        SELECT x.*, ${ctx.rnd.draws('x.id', 5, 40)},
               $4::timestamptz + ($3::timestamptz - $4::timestamptz) * (x.k::float8 / x.n) AS slice_start,
               $4::timestamptz + ($3::timestamptz - $4::timestamptz) * ((x.k + 1)::float8 / x.n) AS slice_end
        FROM (
          SELECT row_number() OVER (ORDER BY w, k) AS id, w, k, n
            FROM (SELECT w, (ARRAY[${campaignCounts.join(',')}]::int[])[w] AS n FROM generate_series(1, ${W}) AS w) AS ws
            CROSS JOIN LATERAL generate_series(0, ws.n - 1) AS k
        ) AS x
      ) AS c
      WHERE c.id BETWEEN $1 AND $2`,
  };
  const slaPolicies: TableLoad = {
    table: 'sla_policies',
    total: counts.sla_policies,
    sql: `
      INSERT INTO public.sla_policies (id, workspace_id, name, priority, first_response_minutes, resolution_minutes, created_at, updated_at)
      OVERRIDING SYSTEM VALUE
      SELECT g, (g - 1) / 4 + 1, (ARRAY['low','normal','high','urgent'])[(g - 1) % 4 + 1] || ' priority',
             (ARRAY['low','normal','high','urgent']::public.priority_level[])[(g - 1) % 4 + 1],
             (ARRAY[1440, 240, 60, 15])[(g - 1) % 4 + 1], (ARRAY[1440, 240, 60, 15])[(g - 1) % 4 + 1] * 8,
             $4::timestamptz, $4::timestamptz
      FROM generate_series($1::bigint, $2::bigint) AS g`,
  };
  const listeningQueries: TableLoad = {
    table: 'listening_queries',
    total: counts.listening_queries,
    sql: `
      INSERT INTO public.listening_queries (id, workspace_id, name, keywords, is_active, created_by, created_at, updated_at)
      OVERRIDING SYSTEM VALUE
      SELECT g, (g - 1) / ${Q} + 1, 'Query ' || g, ARRAY[${pickZipf('r1', WORDS)}, ${pickZipf('r2', WORDS)}], r3 < 0.9,
             (g - 1) / ${Q} + 1, $4::timestamptz, $4::timestamptz
      FROM ${series(ctx, 3, 50)}`,
  };
  const influencers: TableLoad = {
    table: 'influencers',
    total: counts.influencers,
    sql: `
      INSERT INTO public.influencers (id, workspace_id, name, category, tags, created_at, updated_at) OVERRIDING SYSTEM VALUE
      SELECT g, ${zipfOf('r1', W)}, 'Influencer ' || g, ${pickUniform('r2', INFLUENCER_CATEGORIES)}, ARRAY[${pickZipf('r3', TAGS)}],
             $4::timestamptz, $4::timestamptz
      FROM ${series(ctx, 3, 60)}`,
  };
  const IA = spec.influencerAccountsPerInfluencer;
  const influencerAccounts: TableLoad = {
    table: 'influencer_accounts',
    total: counts.influencer_accounts,
    sql: `
      INSERT INTO public.influencer_accounts (id, influencer_id, platform, handle, followers, engagement_rate, updated_at) OVERRIDING SYSTEM VALUE
      SELECT g, (g - 1) / ${IA} + 1,
             (ARRAY[${PLATFORMS.map((p) => `'${p}'`).join(',')}]::public.social_platform[])[((g - 1) / ${IA} + (g - 1) % ${IA}) % ${PLATFORMS.length} + 1],
             '@inf' || ((g - 1) / ${IA} + 1) || '_' || ((g - 1) % ${IA}), floor(exp(r1 * 14))::bigint, round((r2 * 0.12)::numeric, 4),
             $3::timestamptz
      FROM ${series(ctx, 2, 70)}`,
  };

  // Posts: recent ids (the newest 8%) hold the upcoming schedule; older ones are mostly published.
  // Every dueStride-th id (duePosts of them) is SCHEDULED and due: the publishing queue's backlog.
  const recent = Math.floor(P * 0.92);
  const posts: TableLoad = {
    table: 'posts',
    total: P,
    sql: `
      INSERT INTO public.posts (id, workspace_id, author_id, campaign_id, status, title, content, scheduled_at, published_at, tags,
                                ai_generated, publish_attempts, last_error, created_at, updated_at) OVERRIDING SYSTEM VALUE
      SELECT g, w, w + ${W} * ${intOf('r2', UPW)},
             CASE WHEN r3 < ${CAMPAIGN_POST_SHARE} THEN cr.lo + least(cr.n - 1, floor((g - 1 + r5) / ${P}::float8 * cr.n)::int) END,
             status::public.post_status,
             CASE WHEN r25 < 0.7 THEN initcap(${words(['r22', 'r23', 'r24'])}) END,
             'Post ' || g || ': ' || ${words(['r13', 'r14', 'r15', 'r16', 'r17', 'r18', 'r19', 'r20', 'r21', 'r22', 'r23', 'r24'])},
             scheduled_at,
             CASE WHEN status = 'PUBLISHED' THEN least($3::timestamptz, coalesce(scheduled_at, created_at) + interval '1 minute' * (1 + r7 * 10)) END,
             ARRAY(SELECT DISTINCT t FROM unnest((ARRAY[${pickZipf('r8', TAGS)}, ${pickZipf('r9', TAGS)}, ${pickZipf('r10', TAGS)}])[1:${weightedOf('r11', [['0', 20], ['1', 40], ['2', 25], ['3', 15]])}]) AS t),
             r12 < 0.3,
             CASE status WHEN 'PUBLISHED' THEN 1 WHEN 'FAILED' THEN 3 ELSE 0 END,
             CASE WHEN status = 'FAILED' THEN 'platform rate limit exceeded' END,
             created_at, created_at
      FROM (
        SELECT s.*, sched.status, sched.created_at,
               CASE
                 WHEN sched.due THEN greatest(sched.created_at, $3::timestamptz - interval '6 hours' * r6)
                 WHEN sched.status IN ('SCHEDULED', 'APPROVED') THEN $3::timestamptz + interval '1 minute' + interval '30 days' * r6
                 WHEN sched.status IN ('PUBLISHED', 'FAILED') AND r7 < 0.6 THEN least($3::timestamptz, sched.created_at + interval '3 days' * r6)
               END AS scheduled_at
        FROM (
          SELECT s0.*, ${zipfOf('s0.r1', W)} AS w FROM ${series(ctx, 25, 100, 's0')}
        ) AS s
        CROSS JOIN LATERAL (
          SELECT g % ${dueStride} = 0 AND g / ${dueStride} <= ${spec.duePosts} AS due,
                 CASE
                   WHEN g % ${dueStride} = 0 AND g / ${dueStride} <= ${spec.duePosts} THEN 'SCHEDULED'
                   WHEN g > ${recent} THEN ${weightedOf('r4', [[`'SCHEDULED'`, 45], [`'DRAFT'`, 20], [`'PENDING_APPROVAL'`, 10], [`'APPROVED'`, 10], [`'PUBLISHED'`, 15]])}
                   ELSE ${weightedOf('r4', [[`'PUBLISHED'`, 78], [`'DRAFT'`, 6], [`'FAILED'`, 4], [`'ARCHIVED'`, 12]])}
                 END AS status,
                 ${timeOf('g', P, 'r5')} AS created_at
        ) AS sched
      ) AS p
      JOIN ${campaignRanges} AS cr ON cr.workspace_id = p.w`,
  };
  const postTargets: TableLoad = {
    table: 'post_targets',
    total: counts.post_targets,
    idRange: async () => [1, P],
    sql: `
      INSERT INTO public.post_targets (id, post_id, social_account_id, status, attempts, last_error, external_post_id, published_at,
                                       created_at, updated_at) OVERRIDING SYSTEM VALUE
      SELECT id, post_id, social_account_id, status::public.post_target_status,
             CASE WHEN status IN ('published', 'failed') THEN 1 ELSE 0 END,
             CASE WHEN status = 'failed' THEN 'token expired' END,
             CASE WHEN status = 'published' THEN 'ext-' || id END,
             CASE WHEN status = 'published' THEN published_at END,
             created_at, coalesce(published_at, created_at)
      FROM (
        SELECT (p.id - 1) * ${T} + k + 1 AS id, p.id AS post_id, (p.workspace_id - 1) * ${A} + 1 + (k + p.id) % ${A} AS social_account_id,
               CASE p.status
                 WHEN 'PUBLISHED' THEN CASE WHEN ${ctx.rnd.u(`(p.id - 1) * ${T} + k + 1`, 201)} < 0.96 THEN 'published' ELSE 'failed' END
                 WHEN 'FAILED' THEN 'failed'
                 WHEN 'ARCHIVED' THEN 'cancelled'
                 ELSE 'pending'
               END AS status,
               p.published_at + make_interval(secs => k * 7) AS published_at, p.created_at
        FROM public.posts p CROSS JOIN generate_series(0, ${T - 1}) AS k
        WHERE p.id BETWEEN $1 AND $2
      ) AS t`,
  };
  // The newest published targets (published at least D days before the anchor) get D daily rows.
  const D = spec.metricDaysPerTarget;
  const metricTargets = spec.postMetricsDaily / D;
  const postMetrics: TableLoad = {
    table: 'post_metrics_daily',
    total: spec.postMetricsDaily,
    sql: `
      INSERT INTO public.post_metrics_daily (post_target_id, metric_date, impressions, reach, likes, comments, shares, saves, clicks, collected_at)
      SELECT pt.id, (pt.published_at AT TIME ZONE 'UTC')::date + d, imp, floor(imp * (0.5 + 0.4 * r2))::bigint,
             floor(imp * 0.04 * r3)::bigint, floor(imp * 0.005 * r4)::bigint, floor(imp * 0.003 * r5)::bigint,
             floor(imp * 0.002 * r6)::bigint, floor(imp * 0.01 * r7)::bigint,
             ((pt.published_at AT TIME ZONE 'UTC')::date + d + 1)::timestamp AT TIME ZONE 'UTC'
      FROM public.post_targets pt
      CROSS JOIN generate_series(0, ${D - 1}) AS d
      CROSS JOIN LATERAL (SELECT ${ctx.rnd.draws(`pt.id * ${D} + d`, 7, 300)}) AS r
      CROSS JOIN LATERAL (SELECT floor(exp(r.r1 * 11) / (1 + d))::bigint AS imp) AS i
      WHERE pt.id BETWEEN $1 AND $2 AND pt.status = 'published' AND pt.published_at < $3::timestamptz - interval '${D} days'`,
    idRange: (client) => metricsWindow(client, metricTargets, D, ctx.anchor),
  };

  const Conv = spec.conversations;
  const conversations: TableLoad = {
    table: 'conversations',
    total: Conv,
    sql: `
      INSERT INTO public.conversations (id, workspace_id, social_account_id, external_thread_id, type, status, priority, sentiment,
                                        contact_handle, subject, assignee_id, tags, sla_policy_id, first_response_due_at,
                                        resolution_due_at, first_response_at, resolved_at, last_message_at, created_at, updated_at)
      OVERRIDING SYSTEM VALUE
      SELECT g, w, (w - 1) * ${A} + 1 + ${intOf('r2', A)}, 'thread-' || g, type::public.conversation_type, status::public.conversation_status,
             (ARRAY['low','normal','high','urgent']::public.priority_level[])[prio + 1], sentiment::public.sentiment,
             '@contact' || ${zipfOf('r14', 100000)}, CASE WHEN type IN ('direct_message', 'review') THEN initcap(${words(['r15', 'r16'])}) END,
             CASE WHEN r10 < 0.7 THEN w + ${W} * ${intOf('r10 / 0.7', UPW)} END,
             (ARRAY[${pickZipf('r12', TAGS)}, ${pickZipf('r13', TAGS)}])[1:${weightedOf('r11', [['0', 50], ['1', 35], ['2', 15]])}],
             (w - 1) * 4 + prio + 1,
             created_at + interval '1 minute' * fr_minutes, created_at + interval '1 minute' * fr_minutes * 8,
             first_response_at, resolved_at, greatest(created_at, first_response_at, resolved_at), created_at,
             greatest(created_at, first_response_at, resolved_at)
      FROM (
        SELECT x.*,
               CASE WHEN status IN ('resolved', 'closed')
                    THEN least($3::timestamptz, coalesce(first_response_at, created_at) + interval '1 minute' * fr_minutes * 12 * r9) END AS resolved_at
        FROM (
          SELECT b.*,
                 CASE WHEN status = 'open' AND r8 < 0.6 THEN NULL
                      ELSE least($3::timestamptz, created_at + interval '1 minute' * fr_minutes * 2 * r8 * r8) END AS first_response_at
          FROM (
            SELECT s.*, ${zipfOf('r1', W)} AS w,
                   ${weightedOf('r3', [[`'comment'`, 45], [`'direct_message'`, 30], [`'mention'`, 20], [`'review'`, 5]])} AS type,
                   CASE WHEN g > ${Math.floor(Conv * 0.98)}
                        THEN ${weightedOf('r4', [[`'open'`, 50], [`'pending'`, 30], [`'resolved'`, 20]])}
                        ELSE ${weightedOf('r4', [[`'open'`, 3], [`'pending'`, 2], [`'resolved'`, 55], [`'closed'`, 40]])} END AS status,
                   ${weightedOf('r5', [['0', 20], ['1', 55], ['2', 20], ['3', 5]])} AS prio,
                   (ARRAY[1440, 240, 60, 15])[${weightedOf('r5', [['0', 20], ['1', 55], ['2', 20], ['3', 5]])} + 1] AS fr_minutes,
                   ${weightedOf('r6', SENTIMENTS)} AS sentiment,
                   ${timeOf('g', Conv, 'r7')} AS created_at
            FROM ${series(ctx, 16, 400)}
          ) AS b
        ) AS x
      ) AS c`,
  };
  const messages: TableLoad = {
    table: 'messages',
    total: spec.messages,
    sql: `
      INSERT INTO public.messages (conversation_id, direction, author_user_id, author_handle, body, sentiment, external_message_id,
                                   sent_at, created_at)
      SELECT c.id, dir::public.message_direction,
             CASE WHEN dir = 'outbound' THEN c.assignee_id END,
             CASE WHEN dir = 'inbound' THEN c.contact_handle ELSE '@ws' || c.workspace_id END,
             ${words(['r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11'])},
             CASE WHEN dir = 'inbound' THEN ${weightedOf('r12', SENTIMENTS)}::public.sentiment END,
             'msg-' || g,
             c.created_at + (c.last_message_at - c.created_at) * r3, c.created_at + (c.last_message_at - c.created_at) * r3
      FROM (SELECT s.*, CASE WHEN r2 < 0.6 THEN 'inbound' ELSE 'outbound' END AS dir FROM ${series(ctx, 12, 500)}) AS m
      JOIN public.conversations c ON c.id = 1 + ${intOf('m.r1', Conv)}`,
  };
  const LM = spec.listeningMentions;
  const mentions: TableLoad = {
    table: 'listening_mentions',
    total: LM,
    sql: `
      INSERT INTO public.listening_mentions (id, workspace_id, listening_query_id, platform, external_id, author_handle, author_reach,
                                             is_influencer, content, url, language, sentiment, sentiment_score, engagement, keywords,
                                             published_at, collected_at) OVERRIDING SYSTEM VALUE
      SELECT g, w, (w - 1) * ${Q} + 1 + ${intOf('r2', Q)}, ${pickZipf('r3', PLATFORMS)}::public.social_platform, 'm' || g,
             '@author' || ${zipfOf('r4', 200000)}, reach, reach > 100000,
             ${words(['r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'r16', 'r17'])}, 'https://example.com/p/' || g,
             ${pickZipf('r20', LANGUAGES)}, sentiment::public.sentiment,
             round((CASE sentiment WHEN 'positive' THEN 0.2 + 0.8 * r7 WHEN 'neutral' THEN -0.2 + 0.4 * r7
                                   WHEN 'negative' THEN -1 + 0.8 * r7 WHEN 'mixed' THEN -0.3 + 0.6 * r7 END)::numeric, 3),
             floor(exp(r8 * 9))::bigint, ARRAY[${pickZipf('r9', WORDS)}],
             published_at, published_at + interval '1 minute' * (1 + 30 * r21)
      FROM (
        SELECT s.*, ${zipfOf('r1', W)} AS w, floor(exp(r5 * 14))::bigint AS reach,
               ${weightedOf('r6', [[`'positive'`, 30], [`'neutral'`, 45], [`'negative'`, 15], [`'mixed'`, 5], ['NULL', 5]])} AS sentiment,
               ${timeOf('g', LM, 'r22')} AS published_at
        FROM ${series(ctx, 22, 600)}
      ) AS m`,
  };
  const AL = spec.securityAuditLogs;
  const auditLogs: TableLoad = {
    table: 'security_audit_logs',
    total: AL,
    sql: `
      INSERT INTO public.security_audit_logs (id, workspace_id, user_id, action, resource_type, resource_id, ip_address, user_agent,
                                              metadata, occurred_at) OVERRIDING SYSTEM VALUE
      SELECT g, w, CASE WHEN w IS NOT NULL THEN w + ${W} * ${intOf('r2', UPW)} END, action, split_part(action, '.', 1),
             (1 + ${intOf('r6', 100000)})::text,
             ('10.' || ${intOf('r4', 256)} || '.' || ${intOf('r5', 256)} || '.' || (1 + ${intOf('r7', 254)}))::inet,
             ${pickZipf('r8', ['Mozilla/5.0 (Macintosh)', 'Mozilla/5.0 (Windows NT 10.0)', 'Mozilla/5.0 (iPhone)', 'okhttp/4.12', 'python-requests/2.32'])},
             jsonb_build_object('request_id', md5(g::text), 'success', action <> 'auth.failed_login'),
             ${timeOf('g', AL, 'r9')}
      FROM (
        SELECT s.*, CASE WHEN r1 < 0.05 THEN NULL ELSE ${zipfOf('r1', W)} END AS w, ${pickZipf('r3', AUDIT_ACTIONS)} AS action
        FROM ${series(ctx, 9, 700)}
      ) AS a`,
  };
  const I = spec.influencers;
  const collaborations: TableLoad = {
    table: 'influencer_collaborations',
    total: spec.influencerCollaborations,
    sql: `
      INSERT INTO public.influencer_collaborations (influencer_id, campaign_id, status, start_date, end_date, compensation,
                                                    attributed_revenue, conversions, engagements, created_at, updated_at)
      SELECT i.id, CASE WHEN r2 < 0.8 THEN cr.lo + least(cr.n - 1, floor(r2 / 0.8 * cr.n)::int) END,
             ${weightedOf('r3', [[`'proposed'`, 10], [`'negotiating'`, 10], [`'active'`, 25], [`'completed'`, 45], [`'cancelled'`, 10]])}::public.collaboration_status,
             start_date, start_date + (7 + floor(r5 * 60))::int, round((r6 * 20000)::numeric, 2), round((r6 * 20000 * (0.3 + 2.5 * r7))::numeric, 2),
             floor(r7 * 500)::bigint, floor(r8 * 50000)::bigint, $4::timestamptz, $4::timestamptz
      FROM (SELECT s.*, ($4::timestamptz + ($3::timestamptz - $4::timestamptz) * r4)::date AS start_date FROM ${series(ctx, 8, 800)}) AS c
      JOIN public.influencers i ON i.id = 1 + ${intOf('c.r1', I)}
      JOIN ${campaignRanges} AS cr ON cr.workspace_id = i.workspace_id`,
  };
  // Mentions are split between the lanes so both finish together (posts' tsvectors make lane A heavy).
  const split = Math.floor(LM * 0.35);
  const mentionsA: TableLoad = { ...mentions, part: '1/2', total: split, idRange: async () => [1, split] };
  const mentionsB: TableLoad = { ...mentions, part: '2/2', total: LM - split, idRange: async () => [split + 1, LM] };
  return {
    prerequisites: [workspaces, users, members, socialAccounts, campaigns, slaPolicies, listeningQueries, influencers, influencerAccounts],
    laneA: [posts, postTargets, postMetrics, collaborations, mentionsA],
    laneB: [conversations, messages, auditLogs, mentionsB],
  };
}

/** Start of the generated history: the first day of the UTC month `months - 1` before the anchor's. */
export function spanStartOf(anchor: Date, months: number): Date {
  return new Date(Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth() - (months - 1), 1));
}

/** The run's anchor: now, truncated to the hour, so reruns within an hour generate identical rows. */
export function anchorNow(now = new Date()): Date {
  return new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000);
}

async function connect(url: string, skipForeignKeyChecks: boolean): Promise<{ client: Client; fkChecks: boolean }> {
  const client = new Client({ connectionString: url, application_name: 'dbops:bench-generate' });
  await client.connect();
  // Loading is not what is measured; commits need not wait for the WAL flush, and JIT
  // compilation of every chunk's expressions costs more than it saves.
  await client.query(`SET synchronous_commit = off; SET jit = off; SET work_mem = '256MB'`);
  let fkChecks = true;
  if (skipForeignKeyChecks) {
    try {
      await client.query(`SET session_replication_role = replica`);
      fkChecks = false;
    } catch {
      fkChecks = true; // not a superuser: load with the checks on
    }
  }
  return { client, fkChecks };
}

async function runLoad(client: Client, load: TableLoad, params: [Date, Date], progress: Progress): Promise<number> {
  const [lo, hi] = load.idRange ? await load.idRange(client) : [1, load.total];
  const step = progress.step(load.part ? `${load.table} (${load.part})` : load.table, load.total);
  // The two instants are our own Dates: inlined as literals so every chunk query has just $1, $2.
  const sql = load.sql
    .replaceAll('$3::timestamptz', `'${params[0].toISOString()}'::timestamptz`)
    .replaceAll('$4::timestamptz', `'${params[1].toISOString()}'::timestamptz`);
  if (/\$[3-9]/.test(sql)) throw new Error(`generator SQL for ${load.table} uses an untyped $3/$4`);
  let rows = 0;
  // Derived tables (several rows per parent id) use proportionally smaller id chunks.
  const perId = Math.max(1, Math.round(load.total / Math.max(1, hi - lo + 1)));
  const chunk = Math.max(1, Math.floor(CHUNK_ROWS / perId));
  for (let first = lo; first <= hi; first += chunk) {
    const last = Math.min(hi, first + chunk - 1);
    const result = await client.query(sql, [first, last]);
    rows += result.rowCount ?? 0;
    step.advance(result.rowCount ?? 0);
  }
  step.done();
  return rows;
}

/** post_metrics_daily: the id window that holds the newest `metricTargets` eligible targets. */
async function metricsWindow(client: Client, metricTargets: number, days: number, anchor: Date): Promise<[number, number]> {
  const { rows } = await client.query<{ lo: string | null; hi: string | null; n: string }>(
    `SELECT min(id) AS lo, max(id) AS hi, count(*) AS n FROM (
       SELECT id FROM public.post_targets
        WHERE status = 'published' AND published_at < $1::timestamptz - make_interval(days => $2)
        ORDER BY id DESC LIMIT $3) AS t`,
    [anchor, days, metricTargets],
  );
  if (Number(rows[0].n) < metricTargets) {
    throw new Error(`only ${rows[0].n} published targets are old enough for ${metricTargets} targets with metrics; raise posts or lower postMetricsDaily`);
  }
  return [Number(rows[0].lo), Number(rows[0].hi)];
}

export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const progress = options.progress ?? silentProgress;
  const started = Date.now();
  const anchor = options.anchor;
  const ctx: Ctx = { spec: options.spec, rnd: new SqlRandom(options.seed), anchor };
  const spanStart = spanStartOf(anchor, options.spec.months);
  const params: [Date, Date] = [anchor, spanStart];
  const plan = loads(ctx);
  const rowCounts: Record<string, number> = {};

  const main = await connect(options.databaseUrl, options.skipForeignKeyChecks ?? false);
  const second = await connect(options.databaseUrl, options.skipForeignKeyChecks ?? false);
  try {
    await createHistoryPartitions(main.client, anchor, options.spec.months);
    const record = (table: string, rows: number) => (rowCounts[table] = (rowCounts[table] ?? 0) + rows);
    for (const load of plan.prerequisites) record(load.table, await runLoad(main.client, load, params, progress));

    const lane = async (client: Client, items: TableLoad[]) => {
      for (const load of items) record(load.table, await runLoad(client, load, params, progress));
    };
    await Promise.all([lane(main.client, plan.laneA), lane(second.client, plan.laneB)]);
    await main.client.query(RESET_IDENTITIES_SQL);
  } finally {
    await Promise.all([main.client.end(), second.client.end()]);
  }
  return { durationMs: Date.now() - started, rowCounts, spanStart, anchor, foreignKeyChecks: main.fkChecks };
}

/**
 * 020 creates the current month and the months ahead; history needs the past months too,
 * made with the same function (dbops.create_month_partition) so names and bounds match.
 */
async function createHistoryPartitions(client: Client, anchor: Date, months: number): Promise<void> {
  await client.query(
    `SELECT dbops.create_month_partition(t.table_name, dbops.utc_month_add(dbops.utc_month_start($1::timestamptz), -m))
       FROM dbops.partitioned_tables t CROSS JOIN generate_series(0, $2::int - 1) AS m
      ORDER BY t.table_name, m`,
    [anchor, months],
  );
}

/** Explicit ids leave identity sequences behind; later inserts (ingest, tests) must not collide. */
const RESET_IDENTITIES_SQL = `
DO $$
DECLARE
  r record;
  v_max bigint;
BEGIN
  FOR r IN
    SELECT c.oid::regclass AS tbl, a.attname, pg_get_serial_sequence(c.oid::regclass::text, a.attname) AS seq
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attidentity <> ''
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  LOOP
    EXECUTE format('SELECT max(%I) FROM %s', r.attname, r.tbl) INTO v_max;
    IF v_max IS NOT NULL THEN
      PERFORM setval(r.seq, v_max);
    END IF;
  END LOOP;
END;
$$`;

/** Exact row counts of the generated tables (count(*), for the harness test and the report). */
export async function countRows(client: Client, tables: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of tables) {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM public.${table.replace(/[^a-z_]/g, '')}`);
    out[table] = Number(rows[0].n);
  }
  return out;
}
