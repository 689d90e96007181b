-- The platform's tables as the application writes them, before any optimization.
-- Only the keys the domain needs live here (primary, unique, foreign): each makes its own index.
-- Performance indexes belong to 030/031, so a database migrated below 030 is the benchmark's baseline.
-- Ids are bigint identities (compact keys, cheap joins); enums are Postgres enum types so a bad
-- label fails at the edge with the allowed values in the error.

-- ---------------------------------------------------------------------------------------------
-- Enum types
-- ---------------------------------------------------------------------------------------------
CREATE TYPE public.social_platform AS ENUM
  ('twitter', 'facebook', 'instagram', 'linkedin', 'tiktok', 'youtube', 'pinterest', 'threads', 'reddit');
CREATE TYPE public.workspace_role AS ENUM ('owner', 'admin', 'editor', 'viewer');
CREATE TYPE public.social_account_status AS ENUM ('active', 'token_expired', 'disconnected', 'suspended');
CREATE TYPE public.campaign_status AS ENUM ('draft', 'active', 'paused', 'completed', 'archived');
-- Upper case because the application's status constants are upper case.
CREATE TYPE public.post_status AS ENUM
  ('DRAFT', 'PENDING_APPROVAL', 'APPROVED', 'SCHEDULED', 'PUBLISHING', 'PUBLISHED', 'FAILED', 'ARCHIVED');
CREATE TYPE public.post_target_status AS ENUM ('pending', 'publishing', 'published', 'failed', 'cancelled');
CREATE TYPE public.conversation_type AS ENUM ('comment', 'direct_message', 'mention', 'review');
CREATE TYPE public.conversation_status AS ENUM ('open', 'pending', 'resolved', 'closed');
CREATE TYPE public.priority_level AS ENUM ('low', 'normal', 'high', 'urgent');
CREATE TYPE public.sentiment AS ENUM ('positive', 'neutral', 'negative', 'mixed');
CREATE TYPE public.message_direction AS ENUM ('inbound', 'outbound');
CREATE TYPE public.collaboration_status AS ENUM ('proposed', 'negotiating', 'active', 'completed', 'cancelled');

-- Keeps updated_at honest whoever writes the row.
CREATE FUNCTION public.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- Tenancy and people
-- ---------------------------------------------------------------------------------------------
CREATE TABLE public.workspaces (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text NOT NULL CHECK (btrim(name) <> '' AND char_length(name) <= 200),
  slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  timezone    text NOT NULL DEFAULT 'UTC',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.users (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email          text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' AND char_length(email) <= 320),
  password_hash  text NOT NULL CHECK (char_length(password_hash) >= 20),
  display_name   text CHECK (char_length(display_name) <= 200),
  is_active      boolean NOT NULL DEFAULT true,
  last_login_at  timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
-- Case-insensitive uniqueness without the citext extension; sign-in looks users up by lower(email).
CREATE UNIQUE INDEX users_email_lower_key ON public.users (lower(email));

CREATE TABLE public.workspace_members (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  bigint NOT NULL REFERENCES public.workspaces (id) ON DELETE CASCADE,
  user_id       bigint NOT NULL REFERENCES public.users (id) ON DELETE CASCADE,
  role          public.workspace_role NOT NULL DEFAULT 'viewer',
  joined_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT workspace_members_workspace_user_key UNIQUE (workspace_id, user_id)
);

CREATE TABLE public.social_accounts (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id         bigint NOT NULL REFERENCES public.workspaces (id) ON DELETE CASCADE,
  platform             public.social_platform NOT NULL,
  external_account_id  text NOT NULL CHECK (btrim(external_account_id) <> ''),
  handle               text NOT NULL CHECK (btrim(handle) <> ''),
  display_name         text,
  status               public.social_account_status NOT NULL DEFAULT 'active',
  token_expires_at     timestamptz,
  connected_by         bigint REFERENCES public.users (id) ON DELETE SET NULL,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  -- One platform account is connected to one workspace; a second connect must fail, not duplicate.
  CONSTRAINT social_accounts_platform_external_key UNIQUE (platform, external_account_id)
);

-- ---------------------------------------------------------------------------------------------
-- Publishing
-- ---------------------------------------------------------------------------------------------
CREATE TABLE public.campaigns (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  bigint NOT NULL REFERENCES public.workspaces (id) ON DELETE CASCADE,
  name          text NOT NULL CHECK (btrim(name) <> '' AND char_length(name) <= 200),
  description   text,
  status        public.campaign_status NOT NULL DEFAULT 'draft',
  start_date    date,
  end_date      date,
  budget        numeric(14, 2) NOT NULL DEFAULT 0 CHECK (budget >= 0),
  tags          text[] NOT NULL DEFAULT '{}',
  created_by    bigint REFERENCES public.users (id) ON DELETE SET NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT campaigns_dates_ordered CHECK (end_date >= start_date),
  CONSTRAINT campaigns_tags_no_nulls CHECK (array_position(tags, NULL) IS NULL)
);

CREATE TABLE public.posts (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id      bigint NOT NULL REFERENCES public.workspaces (id) ON DELETE CASCADE,
  author_id         bigint NOT NULL REFERENCES public.users (id),
  campaign_id       bigint REFERENCES public.campaigns (id) ON DELETE SET NULL,
  status            public.post_status NOT NULL DEFAULT 'DRAFT',
  title             text CHECK (char_length(title) <= 500),
  content           text NOT NULL DEFAULT '',
  scheduled_at      timestamptz,
  published_at      timestamptz,
  tags              text[] NOT NULL DEFAULT '{}',
  ai_generated      boolean NOT NULL DEFAULT false,
  -- The publishing queue: a worker claims a SCHEDULED post (FOR UPDATE SKIP LOCKED), moves it to
  -- PUBLISHING and stamps itself here, so a stuck claim can be found and released.
  claimed_at        timestamptz,
  claimed_by        text,
  publish_attempts  integer NOT NULL DEFAULT 0 CHECK (publish_attempts >= 0),
  last_error        text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  search_vector     tsvector GENERATED ALWAYS AS (
                      setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
                      setweight(to_tsvector('english', coalesce(content, '')), 'B')
                    ) STORED,
  CONSTRAINT posts_scheduled_has_time CHECK (status <> 'SCHEDULED' OR scheduled_at IS NOT NULL),
  CONSTRAINT posts_published_has_time CHECK (status <> 'PUBLISHED' OR published_at IS NOT NULL),
  CONSTRAINT posts_publishing_is_claimed CHECK (status <> 'PUBLISHING' OR (claimed_at IS NOT NULL AND claimed_by IS NOT NULL)),
  CONSTRAINT posts_tags_no_nulls CHECK (array_position(tags, NULL) IS NULL)
);

CREATE TABLE public.post_targets (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  post_id            bigint NOT NULL REFERENCES public.posts (id) ON DELETE CASCADE,
  social_account_id  bigint NOT NULL REFERENCES public.social_accounts (id) ON DELETE CASCADE,
  status             public.post_target_status NOT NULL DEFAULT 'pending',
  attempts           integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error         text,
  external_post_id   text,
  published_at       timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT post_targets_post_account_key UNIQUE (post_id, social_account_id),
  CONSTRAINT post_targets_published_has_time CHECK (status <> 'published' OR published_at IS NOT NULL)
);

CREATE TABLE public.post_metrics_daily (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  post_target_id  bigint NOT NULL REFERENCES public.post_targets (id) ON DELETE CASCADE,
  metric_date     date NOT NULL,
  impressions     bigint NOT NULL DEFAULT 0 CHECK (impressions >= 0),
  reach           bigint NOT NULL DEFAULT 0 CHECK (reach >= 0),
  likes           bigint NOT NULL DEFAULT 0 CHECK (likes >= 0),
  comments        bigint NOT NULL DEFAULT 0 CHECK (comments >= 0),
  shares          bigint NOT NULL DEFAULT 0 CHECK (shares >= 0),
  saves           bigint NOT NULL DEFAULT 0 CHECK (saves >= 0),
  clicks          bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
  collected_at    timestamptz NOT NULL DEFAULT now(),
  -- The collector upserts one row per target and day.
  CONSTRAINT post_metrics_daily_target_date_key UNIQUE (post_target_id, metric_date)
);

-- ---------------------------------------------------------------------------------------------
-- Inbox
-- ---------------------------------------------------------------------------------------------
CREATE TABLE public.sla_policies (
  id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id            bigint NOT NULL REFERENCES public.workspaces (id) ON DELETE CASCADE,
  name                    text NOT NULL CHECK (btrim(name) <> ''),
  priority                public.priority_level NOT NULL,
  first_response_minutes  integer NOT NULL CHECK (first_response_minutes > 0),
  resolution_minutes      integer NOT NULL CHECK (resolution_minutes > 0),
  is_active               boolean NOT NULL DEFAULT true,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT sla_policies_workspace_name_key UNIQUE (workspace_id, name),
  CONSTRAINT sla_policies_resolution_after_response CHECK (resolution_minutes >= first_response_minutes)
);

CREATE TABLE public.conversations (
  id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id           bigint NOT NULL REFERENCES public.workspaces (id) ON DELETE CASCADE,
  social_account_id      bigint NOT NULL REFERENCES public.social_accounts (id) ON DELETE CASCADE,
  external_thread_id     text NOT NULL CHECK (btrim(external_thread_id) <> ''),
  type                   public.conversation_type NOT NULL,
  status                 public.conversation_status NOT NULL DEFAULT 'open',
  priority               public.priority_level NOT NULL DEFAULT 'normal',
  sentiment              public.sentiment,
  contact_handle         text,
  subject                text,
  assignee_id            bigint REFERENCES public.users (id) ON DELETE SET NULL,
  tags                   text[] NOT NULL DEFAULT '{}',
  sla_policy_id          bigint REFERENCES public.sla_policies (id) ON DELETE SET NULL,
  first_response_due_at  timestamptz,
  resolution_due_at      timestamptz,
  first_response_at      timestamptz,
  resolved_at            timestamptz,
  last_message_at        timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  -- Webhooks redeliver; the thread id from the platform makes ingestion idempotent.
  CONSTRAINT conversations_account_thread_key UNIQUE (social_account_id, external_thread_id),
  CONSTRAINT conversations_closed_has_resolution CHECK (status NOT IN ('resolved', 'closed') OR resolved_at IS NOT NULL),
  CONSTRAINT conversations_response_after_creation CHECK (first_response_at >= created_at),
  CONSTRAINT conversations_resolution_after_creation CHECK (resolved_at >= created_at),
  CONSTRAINT conversations_due_after_creation CHECK (first_response_due_at >= created_at AND resolution_due_at >= created_at),
  CONSTRAINT conversations_tags_no_nulls CHECK (array_position(tags, NULL) IS NULL)
);

CREATE TABLE public.messages (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  conversation_id      bigint NOT NULL REFERENCES public.conversations (id) ON DELETE CASCADE,
  direction            public.message_direction NOT NULL,
  author_user_id       bigint REFERENCES public.users (id) ON DELETE SET NULL,
  author_handle        text,
  body                 text NOT NULL,
  sentiment            public.sentiment,
  external_message_id  text,
  sent_at              timestamptz NOT NULL,
  created_at           timestamptz NOT NULL DEFAULT now(),
  -- Inbound messages come from outside; only outbound ones can carry a team member.
  CONSTRAINT messages_inbound_has_no_user CHECK (direction = 'outbound' OR author_user_id IS NULL),
  CONSTRAINT messages_has_author CHECK (direction = 'outbound' OR author_handle IS NOT NULL),
  CONSTRAINT messages_conversation_external_key UNIQUE (conversation_id, external_message_id)
);

-- ---------------------------------------------------------------------------------------------
-- Social listening
-- ---------------------------------------------------------------------------------------------
CREATE TABLE public.listening_queries (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id       bigint NOT NULL REFERENCES public.workspaces (id) ON DELETE CASCADE,
  name               text NOT NULL CHECK (btrim(name) <> ''),
  keywords           text[] NOT NULL CHECK (cardinality(keywords) > 0 AND array_position(keywords, NULL) IS NULL),
  excluded_keywords  text[] NOT NULL DEFAULT '{}',
  is_active          boolean NOT NULL DEFAULT true,
  created_by         bigint REFERENCES public.users (id) ON DELETE SET NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT listening_queries_workspace_name_key UNIQUE (workspace_id, name)
);

-- Monthly range partitions by published_at, managed by dbops.create_monthly_partitions (020).
-- Every unique key includes published_at because Postgres enforces uniqueness per partition.
CREATE TABLE public.listening_mentions (
  id                  bigint GENERATED ALWAYS AS IDENTITY,
  workspace_id        bigint NOT NULL REFERENCES public.workspaces (id) ON DELETE CASCADE,
  listening_query_id  bigint NOT NULL REFERENCES public.listening_queries (id) ON DELETE CASCADE,
  platform            public.social_platform NOT NULL,
  external_id         text NOT NULL CHECK (btrim(external_id) <> ''),
  author_handle       text NOT NULL,
  author_reach        bigint NOT NULL DEFAULT 0 CHECK (author_reach >= 0),
  is_influencer       boolean NOT NULL DEFAULT false,
  content             text NOT NULL,
  url                 text,
  language            text,
  -- Scored together by the sentiment model, or not at all yet.
  sentiment           public.sentiment,
  sentiment_score     numeric(4, 3) CHECK (sentiment_score BETWEEN -1 AND 1),
  engagement          bigint NOT NULL DEFAULT 0 CHECK (engagement >= 0),
  keywords            text[] NOT NULL DEFAULT '{}',
  published_at        timestamptz NOT NULL,
  collected_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT listening_mentions_pkey PRIMARY KEY (id, published_at),
  -- The same post matched again (crawler retry) must not count twice for a workspace.
  CONSTRAINT listening_mentions_dedupe_key UNIQUE (platform, external_id, workspace_id, published_at),
  CONSTRAINT listening_mentions_sentiment_scored_together CHECK ((sentiment IS NULL) = (sentiment_score IS NULL))
) PARTITION BY RANGE (published_at);

CREATE TABLE public.listening_mentions_default PARTITION OF public.listening_mentions DEFAULT;

-- ---------------------------------------------------------------------------------------------
-- Influencers
-- ---------------------------------------------------------------------------------------------
CREATE TABLE public.influencers (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  bigint NOT NULL REFERENCES public.workspaces (id) ON DELETE CASCADE,
  name          text NOT NULL CHECK (btrim(name) <> ''),
  category      text,
  tags          text[] NOT NULL DEFAULT '{}',
  notes         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.influencer_accounts (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  influencer_id    bigint NOT NULL REFERENCES public.influencers (id) ON DELETE CASCADE,
  platform         public.social_platform NOT NULL,
  handle           text NOT NULL CHECK (btrim(handle) <> ''),
  followers        bigint NOT NULL DEFAULT 0 CHECK (followers >= 0),
  engagement_rate  numeric(7, 4) CHECK (engagement_rate >= 0),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT influencer_accounts_influencer_platform_handle_key UNIQUE (influencer_id, platform, handle)
);

CREATE TABLE public.influencer_collaborations (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  influencer_id       bigint NOT NULL REFERENCES public.influencers (id) ON DELETE CASCADE,
  campaign_id         bigint REFERENCES public.campaigns (id) ON DELETE SET NULL,
  status              public.collaboration_status NOT NULL DEFAULT 'proposed',
  start_date          date,
  end_date            date,
  compensation        numeric(14, 2) NOT NULL DEFAULT 0 CHECK (compensation >= 0),
  attributed_revenue  numeric(14, 2) NOT NULL DEFAULT 0 CHECK (attributed_revenue >= 0),
  conversions         bigint NOT NULL DEFAULT 0 CHECK (conversions >= 0),
  engagements         bigint NOT NULL DEFAULT 0 CHECK (engagements >= 0),
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT influencer_collaborations_dates_ordered CHECK (end_date >= start_date)
);

-- ---------------------------------------------------------------------------------------------
-- Security audit trail
-- ---------------------------------------------------------------------------------------------
-- No foreign keys on purpose: the audit trail must outlive the users and workspaces it mentions,
-- and a cascade or SET NULL would rewrite history. Partitioned monthly by occurred_at (see 020).
CREATE TABLE public.security_audit_logs (
  id             bigint GENERATED ALWAYS AS IDENTITY,
  workspace_id   bigint,  -- NULL for system events
  user_id        bigint,
  action         text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_.:-]*$'),
  resource_type  text,
  resource_id    text,
  ip_address     inet,
  user_agent     text,
  metadata       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
  occurred_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT security_audit_logs_pkey PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE TABLE public.security_audit_logs_default PARTITION OF public.security_audit_logs DEFAULT;

-- ---------------------------------------------------------------------------------------------
-- updated_at triggers
-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['workspaces', 'users', 'social_accounts', 'campaigns', 'posts', 'post_targets',
                           'sla_policies', 'conversations', 'listening_queries', 'influencers',
                           'influencer_accounts', 'influencer_collaborations']
  LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON public.%I FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at()',
                   t || '_touch_updated_at', t);
  END LOOP;
END;
$$;
