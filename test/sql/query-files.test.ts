import { loadQueryFiles, parseQueryFile, QueryFileError } from '../../sql/query-files';

const GOOD = `-- name: inbox_peek
-- description: newest conversations of a workspace
-- expects-index: conversations_inbox_idx
-- param: $1 workspace_id bigint: the tenant
-- param: $2 page_size integer: rows per page
SELECT c.id FROM conversations c WHERE c.workspace_id = $1::bigint ORDER BY c.last_message_at DESC LIMIT $2::integer;
`;

describe('query file loader', () => {
  it('parses the header into name, indexes, partitions to prune and typed, described parameters', () => {
    const query = parseQueryFile('inbox_peek.sql', GOOD.replace('-- param: $1', '-- prunes: listening_mentions\n-- writes: false\n-- param: $1'));
    expect(query).toEqual({
      name: 'inbox_peek',
      fileName: 'inbox_peek.sql',
      description: 'newest conversations of a workspace',
      expectsIndexes: ['conversations_inbox_idx'],
      indexOnly: false,
      prunes: ['listening_mentions'],
      writes: false,
      params: [
        { position: 1, name: 'workspace_id', type: 'bigint', description: 'the tenant' },
        { position: 2, name: 'page_size', type: 'integer', description: 'rows per page' },
      ],
      sql: 'SELECT c.id FROM conversations c WHERE c.workspace_id = $1::bigint ORDER BY c.last_message_at DESC LIMIT $2::integer',
    });
  });

  it.each([
    ['a name that differs from the file', GOOD.replace('name: inbox_peek', 'name: inbox_other'), /must match the file name/],
    ['no expected index', GOOD.replace('-- expects-index: conversations_inbox_idx\n', ''), /missing "-- expects-index:"/],
    ['no description', GOOD.replace(/-- description:[^\n]*\n/, ''), /missing "-- description:"/],
    ['an undeclared parameter', GOOD.replace(/-- param: \$2[^\n]*\n/, ''), /\$2 is used but not declared/],
    ['a declared parameter the SQL never uses', GOOD.replace('LIMIT $2::integer', 'LIMIT 25'), /\$2 \(page_size\) is declared but not used/],
    ['parameters out of order', GOOD.replace('-- param: $1 workspace_id', '-- param: $3 workspace_id'), /declared in order/],
    ['a parameter without a type and meaning', GOOD.replace('$2 page_size integer: rows per page', '$2 page_size'), /must look like/],
    ['SELECT *', GOOD.replace('SELECT c.id', 'SELECT *'), /named columns/],
    ['an unknown header key', GOOD.replace('-- param: $1', '-- expect-index: typo_idx\n-- param: $1'), /unknown header key "expect-index"/],
    ['a flag that is not true or false', GOOD.replace('-- param: $1', '-- index-only: yes\n-- param: $1'), /"-- index-only:" must be true or false/],
    ['two statements', GOOD.replace('LIMIT $2::integer;', 'LIMIT $2::integer; DELETE FROM conversations;'), /more than one statement/],
  ])('rejects a file with %s, naming the file', (_what, text, message) => {
    expect(() => parseQueryFile('inbox_peek.sql', text)).toThrow(QueryFileError);
    expect(() => parseQueryFile('inbox_peek.sql', text)).toThrow(message);
    expect(() => parseQueryFile('inbox_peek.sql', text)).toThrow(/sql\/queries\/inbox_peek\.sql/);
  });

  it('loads every file in sql/queries, each with its patterns documented parameter by parameter', () => {
    const queries = loadQueryFiles();
    expect(queries.map((q) => q.name)).toEqual(
      expect.arrayContaining([
        'dashboard_analytics', 'inbox_filter_sort', 'scheduled_post_claim', 'sla_breach_monitor', 'campaign_performance',
        'tag_search', 'full_text_search', 'mention_volume_sentiment', 'audit_log_range', 'influencer_roi',
        'mv_daily_post_metrics_read', 'mv_daily_workspace_activity_read', 'mv_conversation_metrics_read',
        'mv_listening_sentiment_trends_read', 'mv_influencer_metrics_read',
      ]),
    );
    for (const query of queries) {
      expect(query.params.length).toBeGreaterThan(0);
      for (const param of query.params) expect(param.description.length).toBeGreaterThan(10);
      // Lists are bounded: a LIMIT, or a date range that bounds a per-day series (GROUP BY day).
      expect([query.name, /\bLIMIT\b|GROUP BY|BETWEEN/i.test(query.sql)]).toEqual([query.name, true]);
    }
    expect(queries.filter((q) => q.writes).map((q) => q.name)).toEqual(['scheduled_post_claim']);
  });
});
