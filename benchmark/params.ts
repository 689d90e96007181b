import type { Client } from 'pg';
import type { QueryFile, QueryParam } from '../sql/query-files';
import { Rng } from './rng';
import { TAGS, WORDS } from './vocabulary';

/**
 * Parameters for the query patterns, drawn from the generated data: one "request" context per
 * execution (a workspace weighted toward big tenants, one of its campaigns and listening queries,
 * a period, tags, search words), then each declared parameter is filled from it by name and type.
 * A parameter this file does not know fails loudly, naming the pattern, so a new query file gets
 * a sampler instead of a silently meaningless value.
 */
export interface DataShape {
  /** Workspace ids with their post counts, for size-weighted picks. */
  workspaces: { id: number; posts: number }[];
  campaignsByWorkspace: Map<number, number[]>;
  listeningQueriesByWorkspace: Map<number, number[]>;
  /** Each workspace's most recent conversations (the ones agents open). */
  recentConversationsByWorkspace: Map<number, number[]>;
  /** The instant the data was generated around ("now" for every pattern). */
  anchor: Date;
}

export async function readDataShape(client: Client, anchor: Date): Promise<DataShape> {
  const { rows: ws } = await client.query<{ id: string; posts: string }>(
    `SELECT w.id, count(p.id) AS posts FROM public.workspaces w LEFT JOIN public.posts p ON p.workspace_id = w.id GROUP BY w.id ORDER BY w.id`,
  );
  const grouped = async (table: 'campaigns' | 'listening_queries' | 'conversations', newest = 100_000) => {
    const { rows } = await client.query<{ workspace_id: string; ids: string[] }>(
      `SELECT workspace_id, (array_agg(id ORDER BY id DESC))[1:$1] AS ids FROM public.${table} GROUP BY workspace_id`,
      [newest],
    );
    return new Map(rows.map((r) => [Number(r.workspace_id), r.ids.map(Number)]));
  };
  return {
    workspaces: ws.map((r) => ({ id: Number(r.id), posts: Number(r.posts) })),
    campaignsByWorkspace: await grouped('campaigns'),
    listeningQueriesByWorkspace: await grouped('listening_queries'),
    recentConversationsByWorkspace: await grouped('conversations', 200),
    anchor,
  };
}

interface RequestContext {
  workspaceId: number;
  campaignId: number;
  listeningQueryId: number;
  conversationId: number;
  /** Alert windows: the last hour, day or week. */
  windowHours: number;
  periodDays: number;
  periodEnd: Date;
  firstPage: boolean;
}

const DAY_MS = 86_400_000;

export class ParamSampler {
  private readonly cumulative: number[];
  private readonly totalPosts: number;

  constructor(
    private readonly shape: DataShape,
    private readonly rng: Rng,
  ) {
    let sum = 0;
    this.cumulative = shape.workspaces.map((w) => (sum += w.posts));
    this.totalPosts = sum;
    if (shape.workspaces.length === 0) throw new Error('no workspaces in the database: generate data first');
  }

  /** 70% of requests come from workspaces in proportion to their size, 30% from any workspace. */
  private workspace(): number {
    if (this.rng.next() < 0.3 || this.totalPosts === 0) return this.rng.pick(this.shape.workspaces).id;
    const target = this.rng.next() * this.totalPosts;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid] > target) hi = mid;
      else lo = mid + 1;
    }
    return this.shape.workspaces[lo].id;
  }

  private context(): RequestContext {
    const workspaceId = this.workspace();
    const campaigns = this.shape.campaignsByWorkspace.get(workspaceId) ?? [0];
    const queries = this.shape.listeningQueriesByWorkspace.get(workspaceId) ?? [0];
    return {
      workspaceId,
      campaignId: this.rng.pick(campaigns),
      listeningQueryId: this.rng.pick(queries),
      conversationId: this.rng.pick(this.shape.recentConversationsByWorkspace.get(workspaceId) ?? [0]),
      windowHours: this.rng.weighted([[1, 30], [24, 50], [168, 20]] as const),
      periodDays: this.rng.weighted([[7, 40], [30, 40], [90, 20]] as const),
      // Mostly "up to now", sometimes a period in the past.
      periodEnd: new Date(this.shape.anchor.getTime() - (this.rng.next() < 0.8 ? 0 : this.rng.int(300)) * DAY_MS),
      firstPage: this.rng.next() < 0.8,
    };
  }

  /** Values for $1..$n of one execution of `query`. */
  sample(query: QueryFile): unknown[] {
    const ctx = this.context();
    return query.params.map((param) => this.value(query, param, ctx));
  }

  private value(query: QueryFile, param: QueryParam, ctx: RequestContext): unknown {
    const anchor = this.shape.anchor;
    const periodStart = new Date(ctx.periodEnd.getTime() - ctx.periodDays * DAY_MS);
    const day = (d: Date) => d.toISOString().slice(0, 10);
    // A deeper page: the cursor sits somewhere inside the period.
    const cursorTime = ctx.firstPage ? null : new Date(ctx.periodEnd.getTime() - this.rng.next() * ctx.periodDays * DAY_MS);
    switch (param.name) {
      case 'workspace_id':
        return ctx.workspaceId;
      case 'campaign_id':
        return ctx.campaignId;
      case 'listening_query_id':
        return ctx.listeningQueryId;
      case 'conversation_id':
        return ctx.conversationId;
      case 'window_start':
        return new Date(anchor.getTime() - ctx.windowHours * 3_600_000);
      case 'window_end':
        return anchor;
      case 'range_start':
      case 'period_start':
        return periodStart;
      case 'range_end':
      case 'period_end':
        return ctx.periodEnd;
      case 'first_day':
        return day(periodStart);
      case 'last_day':
        return day(ctx.periodEnd);
      case 'cursor_occurred_at':
        return cursorTime ?? ctx.periodEnd;
      case 'cursor_last_message_at':
        return cursorTime ?? 'infinity';
      case 'cursor_sent_at':
        // Threads are short: a later page starts somewhere in the conversation's lifetime.
        return ctx.firstPage ? 'infinity' : new Date(anchor.getTime() - this.rng.next() * 365 * DAY_MS);
      case 'cursor_id':
      case 'cursor_influencer_id':
        return '9223372036854775807';
      case 'cursor_roi':
        return ctx.firstPage ? 'Infinity' : (this.rng.next() * 3).toFixed(4);
      case 'page_size':
      case 'row_limit':
        return this.rng.pick([10, 20, 25, 50]);
      case 'batch_size':
        return 50;
      case 'worker_id':
        return `bench-${this.rng.int(1000)}`;
      case 'due_before':
        return anchor;
      case 'lease_seconds':
        return 120;
      case 'horizon':
        return this.rng.next() < 0.5 ? anchor : new Date(anchor.getTime() + 15 * 60_000);
      case 'search': {
        // Common words match thousands of posts in a big tenant, rare ones a handful.
        const words = [WORDS[this.rng.zipfIndex(WORDS.length)], WORDS[this.rng.int(WORDS.length)]];
        return this.rng.weighted([
          [words[0], 50],
          [`${words[0]} ${words[1]}`, 30],
          [`"${words[0]} ${words[1]}"`, 10],
          [`${words[0]} -${words[1]}`, 10],
        ] as const);
      }
      case 'tags': {
        const first = TAGS[this.rng.zipfIndex(TAGS.length)];
        return this.rng.next() < 0.7 ? [first] : [...new Set([first, TAGS[this.rng.zipfIndex(TAGS.length)]])];
      }
      case 'priorities':
        return this.rng.pick([['low', 'normal', 'high', 'urgent'], ['high', 'urgent'], ['urgent'], ['normal', 'high', 'urgent']]);
      case 'status':
        return this.status(query, param);
      default:
        throw new Error(
          `benchmark: no sampler for parameter $${param.position} ${param.name} ${param.type} of sql/queries/${query.fileName}; ` +
            'add one in benchmark/params.ts',
        );
    }
  }

  private status(query: QueryFile, param: QueryParam): string {
    switch (param.type.replace(/^public\./, '')) {
      case 'campaign_status':
        return this.rng.weighted([['active', 45], ['completed', 35], ['draft', 10], ['paused', 5], ['archived', 5]] as const);
      case 'conversation_status':
        return this.rng.weighted([['open', 60], ['pending', 25], ['resolved', 15]] as const);
      case 'post_status':
        return this.rng.weighted([['PUBLISHED', 50], ['SCHEDULED', 30], ['DRAFT', 20]] as const);
      default:
        throw new Error(`benchmark: no sampler for status type ${param.type} in sql/queries/${query.fileName}`);
    }
  }

  /** The same parameter lists for the baseline and the optimized run. */
  sampleMany(query: QueryFile, count: number): unknown[][] {
    return Array.from({ length: count }, () => this.sample(query));
  }
}
