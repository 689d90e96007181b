import type { Queryable } from '../lambdas/db/executor';

/**
 * A realistic, small demo dataset, set-based (generate_series), columns as in
 * sql/migrations/010_platform_schema.sql. Listening mentions and audit logs reach back four
 * months, before the partitions 020 makes, so they land in the default partitions and the
 * create-partitions task has rows to move. A share of posts is rewritten at the end so
 * vacuum-analyze has dead tuples to clear.
 */
export interface SeedStep {
  name: string;
  sql: string;
}

export interface SeedOptions {
  /** Scales the bulk tables; 1 is about 100k rows in all. */
  scale?: number;
}

const WORKSPACES = 20;

export function seedSteps(options: SeedOptions = {}): SeedStep[] {
  const scale = Math.max(0.05, options.scale ?? 1);
  const posts = Math.round(20_000 * scale);
  const conversations = Math.round(5_000 * scale);
  const mentions = Math.round(30_000 * scale);
  const auditLogs = Math.round(10_000 * scale);
  return [
    {
      name: 'reset',
      sql: `TRUNCATE public.workspaces, public.users, public.listening_mentions, public.security_audit_logs RESTART IDENTITY CASCADE`,
    },
    {
      name: 'workspaces and users',
      sql: `
        INSERT INTO public.workspaces (name, slug, timezone)
        SELECT 'Workspace ' || g, 'workspace-' || g, (ARRAY['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Tokyo'])[g % 4 + 1]
          FROM generate_series(1, ${WORKSPACES}) g;
        INSERT INTO public.users (email, password_hash, display_name, last_login_at)
        SELECT 'user' || g || '@demo.example', repeat('x', 60), 'User ' || g, now() - (g % 30) * interval '1 day'
          FROM generate_series(1, ${WORKSPACES * 20}) g;
        INSERT INTO public.workspace_members (workspace_id, user_id, role)
        SELECT (g - 1) % ${WORKSPACES} + 1, g, (enum_range(NULL::public.workspace_role))[g % 4 + 1]
          FROM generate_series(1, ${WORKSPACES * 20}) g;`,
    },
    {
      name: 'social accounts and campaigns',
      sql: `
        INSERT INTO public.social_accounts (workspace_id, platform, external_account_id, handle, display_name, connected_by)
        SELECT (g - 1) / 3 + 1, (enum_range(NULL::public.social_platform))[(g - 1) % 3 + 1], 'acct-' || g, '@brand' || g, 'Brand ' || g, (g - 1) / 3 + 1
          FROM generate_series(1, ${WORKSPACES * 3}) g;
        INSERT INTO public.campaigns (workspace_id, name, status, start_date, end_date, budget, tags, created_by)
        SELECT (g - 1) / 5 + 1, 'Campaign ' || g, (enum_range(NULL::public.campaign_status))[g % 5 + 1],
               current_date - (g % 60), current_date - (g % 60) + 30, (g % 50) * 100, ARRAY['tag' || g % 7], (g - 1) / 5 + 1
          FROM generate_series(1, ${WORKSPACES * 5}) g;`,
    },
    {
      name: 'posts',
      sql: `
        INSERT INTO public.posts (workspace_id, author_id, campaign_id, status, title, content, scheduled_at, published_at, tags, ai_generated, created_at)
        SELECT w, w + ${WORKSPACES} * (g % 20), CASE WHEN g % 4 = 0 THEN NULL ELSE (w - 1) * 5 + 1 + g % 5 END,
               s::public.post_status, 'Post ' || g, 'Content of post ' || g || ' about product ' || g % 37,
               CASE s WHEN 'SCHEDULED' THEN now() + (g % 1440) * interval '1 minute' END,
               CASE s WHEN 'PUBLISHED' THEN now() - (g % 90) * interval '1 day' END,
               ARRAY['tag' || g % 7, 'topic' || g % 11], g % 5 = 0,
               now() - ((g % 90) + 1) * interval '1 day'
          FROM generate_series(1, ${posts}) g
          CROSS JOIN LATERAL (SELECT (g - 1) % ${WORKSPACES} + 1 AS w,
                                     (ARRAY['DRAFT','SCHEDULED','PUBLISHED','PUBLISHED','PUBLISHED','FAILED','APPROVED','ARCHIVED'])[g % 8 + 1] AS s) x;`,
    },
    {
      name: 'post targets and daily metrics',
      sql: `
        INSERT INTO public.post_targets (post_id, social_account_id, status, published_at, external_post_id)
        SELECT p.id, (p.workspace_id - 1) * 3 + 1 + (p.id + k) % 3,
               CASE WHEN p.status = 'PUBLISHED' THEN 'published' ELSE 'pending' END::public.post_target_status,
               p.published_at, CASE WHEN p.status = 'PUBLISHED' THEN 'ext-' || p.id || '-' || k END
          FROM public.posts p
          CROSS JOIN generate_series(0, 1) k
         WHERE k = 0 OR p.id % 4 = 0;
        INSERT INTO public.post_metrics_daily (post_target_id, metric_date, impressions, reach, likes, comments, shares, saves, clicks)
        SELECT t.id, t.published_at::date + d, 1000 + (t.id * 37 + d * 11) % 5000, 800 + (t.id * 13) % 4000,
               (t.id * 7 + d) % 300, (t.id + d) % 40, (t.id * 3) % 25, t.id % 15, (t.id * 5 + d) % 120
          FROM public.post_targets t
          CROSS JOIN generate_series(0, 2) d
         WHERE t.status = 'published';`,
    },
    {
      name: 'inbox',
      sql: `
        INSERT INTO public.sla_policies (workspace_id, name, priority, first_response_minutes, resolution_minutes)
        SELECT w, 'SLA ' || p, p, 30 * i, 240 * i
          FROM generate_series(1, ${WORKSPACES}) w
          CROSS JOIN LATERAL unnest(enum_range(NULL::public.priority_level)) WITH ORDINALITY AS e(p, i);
        INSERT INTO public.conversations (workspace_id, social_account_id, external_thread_id, type, status, priority, sentiment,
                                          contact_handle, subject, assignee_id, tags, sla_policy_id,
                                          first_response_due_at, resolution_due_at, first_response_at, resolved_at, last_message_at, created_at)
        SELECT w, (w - 1) * 3 + 1 + g % 3, 'thread-' || g, (enum_range(NULL::public.conversation_type))[g % 4 + 1], st,
               (enum_range(NULL::public.priority_level))[g % 4 + 1],
               CASE WHEN g % 5 = 0 THEN NULL ELSE (enum_range(NULL::public.sentiment))[g % 4 + 1] END,
               '@fan' || g, 'Question ' || g, w + ${WORKSPACES} * (g % 20), ARRAY['inbox' || g % 5],
               (w - 1) * 4 + g % 4 + 1,
               c + interval '1 hour', c + interval '1 day',
               CASE WHEN g % 3 <> 0 THEN c + (g % 120) * interval '1 minute' END,
               CASE WHEN st IN ('resolved', 'closed') THEN c + (g % 48 + 1) * interval '1 hour' END,
               c + interval '3 minutes', c
          FROM generate_series(1, ${conversations}) g
          CROSS JOIN LATERAL (SELECT (g - 1) % ${WORKSPACES} + 1 AS w,
                                     (enum_range(NULL::public.conversation_status))[g % 4 + 1] AS st,
                                     now() - (g % 60) * interval '1 day' - (g % 24) * interval '1 hour' AS c) x;
        INSERT INTO public.messages (conversation_id, direction, author_user_id, author_handle, body, sentiment, external_message_id, sent_at)
        SELECT c.id, CASE WHEN k = 2 THEN 'outbound' ELSE 'inbound' END::public.message_direction,
               CASE WHEN k = 2 THEN c.assignee_id END, CASE WHEN k = 2 THEN '@brand' ELSE c.contact_handle END,
               'Message ' || k || ' in thread ' || c.id, c.sentiment, 'msg-' || c.id || '-' || k, c.created_at + k * interval '1 minute'
          FROM public.conversations c
          CROSS JOIN generate_series(1, 3) k;`,
    },
    {
      name: 'social listening',
      sql: `
        INSERT INTO public.listening_queries (workspace_id, name, keywords, created_by)
        SELECT w, 'Brand watch ' || k, ARRAY['brand' || w, 'product' || k], w
          FROM generate_series(1, ${WORKSPACES}) w CROSS JOIN generate_series(1, 2) k;
        INSERT INTO public.listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, author_reach,
                                               is_influencer, content, url, language, sentiment, sentiment_score, engagement, keywords, published_at)
        SELECT w, (w - 1) * 2 + 1 + g % 2, (enum_range(NULL::public.social_platform))[g % 9 + 1], 'mention-' || g, '@author' || g % 5000,
               (g * 97) % 250000, g % 50 = 0, 'Talking about brand' || w || (CASE WHEN g % 3 = 0 THEN ' - love it' ELSE ' - not great' END),
               'https://social.example/p/' || g, (ARRAY['en', 'fr', 'de', 'ja'])[g % 4 + 1],
               CASE WHEN g % 6 = 0 THEN NULL ELSE (enum_range(NULL::public.sentiment))[g % 4 + 1] END,
               CASE WHEN g % 6 = 0 THEN NULL ELSE round(((g % 200) - 100) / 100.0, 3) END,
               (g * 31) % 2000, ARRAY['brand' || w],
               -- Four months back: older months have no partition yet, so those rows sit in the default partition.
               now() - (g % (120 * 24)) * interval '1 hour'
          FROM generate_series(1, ${mentions}) g
          CROSS JOIN LATERAL (SELECT (g - 1) % ${WORKSPACES} + 1 AS w) x;`,
    },
    {
      name: 'influencers',
      sql: `
        INSERT INTO public.influencers (workspace_id, name, category, tags)
        SELECT (g - 1) % ${WORKSPACES} + 1, 'Influencer ' || g, (ARRAY['tech', 'food', 'travel', 'fashion'])[g % 4 + 1], ARRAY['niche' || g % 6]
          FROM generate_series(1, 100) g;
        INSERT INTO public.influencer_accounts (influencer_id, platform, handle, followers, engagement_rate)
        SELECT (g - 1) / 2 + 1, (enum_range(NULL::public.social_platform))[(g - 1) % 2 + 1], '@creator' || g, (g * 7919) % 2000000, ((g % 90) + 10) / 10.0
          FROM generate_series(1, 200) g;
        INSERT INTO public.influencer_collaborations (influencer_id, campaign_id, status, start_date, end_date, compensation, attributed_revenue, conversions, engagements)
        SELECT i.id, (i.workspace_id - 1) * 5 + 1 + g % 5, (enum_range(NULL::public.collaboration_status))[g % 5 + 1],
               current_date - g % 90, current_date - g % 90 + 14, 500 + g * 10, 1000 + g * 37, g % 80, g * 13
          FROM generate_series(1, 150) g
          JOIN public.influencers i ON i.id = g % 100 + 1;`,
    },
    {
      name: 'security audit logs',
      sql: `
        INSERT INTO public.security_audit_logs (workspace_id, user_id, action, resource_type, resource_id, ip_address, user_agent, metadata, occurred_at)
        SELECT (g - 1) % ${WORKSPACES} + 1, (g - 1) % ${WORKSPACES * 20} + 1,
               (ARRAY['user.login', 'post.create', 'post.publish', 'account.connect', 'member.invite'])[g % 5 + 1],
               'post', (g % 1000)::text, ('10.0.' || g % 255 || '.' || g % 250)::inet, 'demo-agent/1.0',
               jsonb_build_object('seq', g), now() - (g % (120 * 24)) * interval '1 hour'
          FROM generate_series(1, ${auditLogs}) g;`,
    },
    {
      name: 'day-to-day churn',
      sql: `
        UPDATE public.posts SET content = content || ' (edited)' WHERE id % 3 = 0;
        DELETE FROM public.messages WHERE id % 10 = 0;`,
    },
  ];
}

export async function seedDemo(db: Queryable, options: SeedOptions & { onStep?: (index: number, step: SeedStep) => void } = {}): Promise<void> {
  const steps = seedSteps(options);
  for (const [index, step] of steps.entries()) {
    await db.query(step.sql);
    options.onStep?.(index + 1, step);
  }
}
