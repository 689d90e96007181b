import { Client, ClientBase } from 'pg';
import { QueryFile } from '../../sql/query-files';

/** One node of EXPLAIN (FORMAT JSON) output, with the fields the checks read. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Plan Rows'?: number;
  Plans?: PlanNode[];
  [key: string]: unknown;
}

export function planNodes(root: PlanNode): PlanNode[] {
  return [root, ...(root.Plans ?? []).flatMap(planNodes)];
}

export async function explain(client: ClientBase, query: QueryFile, params: unknown[]): Promise<PlanNode> {
  // Bound parameters, as the application sends them: the unnamed statement gets a plan for these
  // values (custom plan), so partition pruning and selectivity are judged on real values.
  // EXPLAIN without ANALYZE never runs the statement, so the claim query changes nothing.
  const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${query.sql}`, params);
  return rows[0]['QUERY PLAN'][0].Plan;
}

/**
 * A pattern that calls a PL/pgSQL function (the searches, 097) plans as a Function Scan; the
 * statements inside have plans of their own. This returns the pattern's plan with theirs hung under
 * it, so the checks see every scan: auto_explain logs each nested statement's plan as JSON when it
 * ends, and client_min_messages = log sends those lines to this session. The call runs with the
 * given parameters in a transaction that is rolled back. LOAD needs the server's superuser.
 * analyze: the nested plans carry what each node did (actual rows, rows removed by a filter).
 */
export async function explainWithNested(superuserUrl: string, query: QueryFile, params: unknown[], analyze = false): Promise<PlanNode> {
  const client = new Client({ connectionString: superuserUrl });
  await client.connect();
  const nested: PlanNode[] = [];
  client.on('notice', (notice) => {
    const text = notice.message ?? '';
    const json = text.indexOf('{');
    if (/plan:/.test(text) && json >= 0) nested.push((JSON.parse(text.slice(json)) as { Plan: PlanNode }).Plan);
  });
  try {
    const outer = await explain(client, query, params);
    await client.query(`LOAD 'auto_explain'`);
    await client.query('BEGIN');
    for (const setting of ['log_min_duration = 0', 'log_nested_statements = on', 'log_format = json', `log_analyze = ${analyze ? 'on' : 'off'}`]) {
      await client.query(`SET LOCAL auto_explain.${setting}`);
    }
    await client.query('SET LOCAL client_min_messages = log');
    await client.query(query.sql, params);
    await client.query('ROLLBACK');
    // The last plan logged is the pattern's own statement; the others ran inside it. Their costs
    // summed are the planner's estimate of the call (a Function Scan's own cost is only procost).
    const inner = nested.slice(0, -1);
    // A function that ran no statement of its own would make every check below vacuous.
    if (inner.length === 0) throw new Error(`${query.name}: auto_explain caught no statement inside the call`);
    return {
      ...outer,
      Plans: [...(outer.Plans ?? []), ...inner],
      'Nested Total Cost': inner.reduce((sum, plan) => sum + (plan['Total Cost'] as number), 0),
    };
  } finally {
    await client.end();
  }
}

/** The PL/pgSQL functions a plan calls in a Function Scan (whose own statements the plan does not show). */
export async function plpgsqlCalls(client: ClientBase, root: PlanNode): Promise<string[]> {
  const names = planNodes(root).flatMap((n) => (n['Node Type'] === 'Function Scan' && n['Function Name'] ? [`${n.Schema ?? 'public'}.${n['Function Name']}`] : []));
  const { rows } = await client.query<{ name: string }>(
    `SELECT DISTINCT f.name FROM unnest($1::text[]) f(name)
       JOIN pg_proc p ON p.proname = split_part(f.name, '.', 2) AND p.pronamespace = split_part(f.name, '.', 1)::regnamespace
       JOIN pg_language l ON l.oid = p.prolang AND l.lanname = 'plpgsql'`,
    [names],
  );
  return rows.map((r) => r.name);
}

export interface PlanFacts {
  /** Index names in the plan, mapped to the partitioned parent index where a partition's copy was used. */
  indexes: Set<string>;
  /** Of those, the ones some Index Only Scan used. */
  indexOnly: Set<string>;
  /** Relations read by a Seq Scan, with the row count ANALYZE estimated for them. */
  seqScans: { relation: string; rows: number }[];
  /** Every relation scanned (tables, partitions, materialized views). */
  relations: Set<string>;
}

export async function planFacts(client: ClientBase, root: PlanNode): Promise<PlanFacts> {
  const nodes = planNodes(root);
  const indexNames = [...new Set(nodes.flatMap((n) => (n['Index Name'] ? [n['Index Name']] : [])))];
  const { rows: roots } = await client.query<{ name: string; root: string }>(
    `SELECT n AS name, coalesce(pg_partition_root(to_regclass('public.' || quote_ident(n)))::regclass, to_regclass('public.' || quote_ident(n)))::text AS root
       FROM unnest($1::text[]) n`,
    [indexNames],
  );
  const rootOf = new Map(roots.map((r) => [r.name, r.root.replace(/^public\./, '')]));
  const indexes = new Set(rootOf.values());
  const indexOnly = new Set(
    nodes.filter((n) => n['Node Type'] === 'Index Only Scan' && n['Index Name']).map((n) => rootOf.get(n['Index Name'] as string) as string),
  );
  const seqRelations = [...new Set(nodes.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name'] as string))];
  const { rows: sizes } = await client.query<{ relation: string; rows: string }>(
    `SELECT r AS relation, greatest(c.reltuples, 0)::bigint AS rows FROM unnest($1::text[]) r JOIN pg_class c ON c.oid = to_regclass('public.' || quote_ident(r))`,
    [seqRelations],
  );
  return {
    indexes,
    indexOnly,
    seqScans: sizes.map((s) => ({ relation: s.relation, rows: Number(s.rows) })),
    relations: new Set(nodes.flatMap((n) => (n['Relation Name'] ? [n['Relation Name'] as string] : []))),
  };
}

/** Leaf partitions of a partitioned table (the default partition included). */
export async function leafPartitions(client: ClientBase, table: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT relid::regclass::text AS name FROM pg_partition_tree($1::regclass) WHERE isleaf`,
    [`public.${table}`],
  );
  return rows.map((r) => r.name.replace(/^public\./, ''));
}

/**
 * Realistic values for every query's parameters, taken from the seeded data: the biggest
 * workspace (where a seq scan is most tempting), its busiest listening query and campaigns,
 * and time ranges the dashboards use. A query file without an entry here fails the plan test.
 */
export async function realisticParams(client: ClientBase): Promise<Record<string, unknown[]>> {
  const one = async <T>(sql: string, values: unknown[] = []): Promise<T> => {
    const { rows } = await client.query(sql, values);
    if (rows.length === 0) throw new Error(`no row for: ${sql}`);
    return Object.values(rows[0])[0] as T;
  };
  const workspace = await one<string>(`SELECT workspace_id FROM posts GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`);
  const listeningQuery = await one<string>(
    `SELECT listening_query_id FROM listening_mentions WHERE workspace_id = $1 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
    [workspace],
  );
  const collaborationCampaign = await one<string>(
    `SELECT ic.campaign_id FROM influencer_collaborations ic JOIN campaigns c ON c.id = ic.campaign_id
      WHERE c.workspace_id = $1 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
    [workspace],
  );
  // A tag a user would filter by in a library of many tags: on about one post in two hundred.
  const tag = await one<string>(
    `SELECT t FROM posts, unnest(tags) t WHERE workspace_id = $1 GROUP BY t
      ORDER BY abs(count(*) - 0.005 * (SELECT count(*) FROM posts WHERE workspace_id = $1)) LIMIT 1`,
    [workspace],
  );
  const conversation = await one<string>(
    `SELECT m.conversation_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
      WHERE c.workspace_id = $1 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
    [workspace],
  );
  const now = new Date();
  const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000);
  const utcDay = (date: Date) => date.toISOString().slice(0, 10);
  const maxId = '9223372036854775807';

  return {
    dashboard_analytics: [workspace, daysAgo(7), now, 10],
    inbox_filter_sort: [workspace, 'open', ['high', 'urgent'], 'infinity', maxId, 25],
    scheduled_post_claim: [now, 50, 'plan-test-worker', 120],
    sla_breach_monitor: [workspace, now, 50],
    campaign_performance: [workspace, 'active', 20],
    tag_search: [workspace, [tag], 25],
    full_text_search: [workspace, 'summer sale -webinar', 20],
    mention_volume_sentiment: [workspace, listeningQuery, utcDay(daysAgo(30)), utcDay(now)],
    audit_log_range: [workspace, daysAgo(30), now, maxId, 50],
    influencer_roi: [workspace, collaborationCampaign, 20],
    conversation_thread: [workspace, conversation, 'infinity', maxId, 30],
    negative_mention_alerts: [workspace, daysAgo(3), now, 20],
    mv_daily_post_metrics_read: [workspace, utcDay(daysAgo(30)), utcDay(now)],
    mv_daily_workspace_activity_read: [workspace, utcDay(daysAgo(90)), utcDay(now)],
    mv_conversation_metrics_read: [workspace, utcDay(daysAgo(30)), utcDay(now)],
    mv_listening_sentiment_trends_read: [workspace, utcDay(daysAgo(30)), utcDay(now)],
    mv_influencer_metrics_read: [workspace, 'Infinity', maxId, 25],
  };
}
