import { explainQuery, indexesUsed } from '../../lambdas/checks/explain';
import { cursorPaginate, KeysetQuery } from '../../platform-db/pagination';
import { PostSearchCriteria, QueryBuilder, SqlFragment } from '../../platform-db/query-builder';
import { createTestDatabase, TestDatabase } from '../support/database';

/**
 * The fragments must be written so the planner can use the indexes of 030_optimization_indexes.sql.
 * Seeded with enough rows and skew that a sequential scan loses for selective filters.
 */
describe('QueryBuilder fragments use the intended indexes', () => {
  let db: TestDatabase;
  let workspaceId: string;
  /** The workspace whose posts carry the rare tag and word. */
  let rareWorkspaceId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.query(`INSERT INTO workspaces (name, slug) SELECT 'W' || g, 'w' || g FROM generate_series(1, 50) g`);
    [{ id: workspaceId }] = await db.query<{ id: string }>(`SELECT id FROM workspaces WHERE slug = 'w7'`);
    await db.query(`INSERT INTO users (email, password_hash) VALUES ('plans@test.dev', repeat('x', 60))`);
    // 30,000 posts: common tags and words on most rows, rare ones on a handful.
    await db.query(`
      INSERT INTO posts (workspace_id, author_id, content, tags, created_at)
      SELECT (SELECT min(id) FROM workspaces) + g % 50,
             (SELECT min(id) FROM users),
             'daily update about product ' || (g % 40) || CASE WHEN g % 3000 = 0 THEN ' zeppelin' ELSE '' END,
             ARRAY['common', 'topic' || (g % 20)] || CASE WHEN g % 2500 = 0 THEN ARRAY['rare'] ELSE ARRAY[]::text[] END,
             timestamptz '2025-01-01 00:00:00+00' + g * interval '17 minutes'
        FROM generate_series(1, 30000) g`);
    // 20,000 campaigns for the tag fragments (campaigns_tags_gin_idx): posts' search lives in post_search.
    await db.query(`
      INSERT INTO campaigns (workspace_id, name, tags)
      SELECT (SELECT min(id) FROM workspaces) + g % 50, 'Campaign ' || g,
             ARRAY['common', 'topic' || (g % 20)] || CASE WHEN g % 2500 = 0 THEN ARRAY['rare'] ELSE ARRAY[]::text[] END
        FROM generate_series(1, 20000) g`);
    // VACUUM as autovacuum would on a live table: it also moves the GIN indexes' fast-update
    // pending lists (the fresh rows) into the index proper, which the planner costs as such.
    await db.query('VACUUM (ANALYZE) posts, post_search, campaigns');
    [{ id: rareWorkspaceId }] = await db.query<{ id: string }>(`SELECT workspace_id AS id FROM posts WHERE 'rare' = ANY (tags) LIMIT 1`);
  });
  afterAll(async () => {
    await db.drop();
  });

  async function plan(filter: SqlFragment, extra = '', table = 'posts'): Promise<string[]> {
    const result = await explainQuery(db.pool(), `SELECT id FROM ${table} WHERE ${filter.text} ${extra}`, { params: filter.values });
    return indexesUsed(result);
  }

  it('tagsContainAll and tagsOverlap use a GIN index on the tags column (campaigns_tags_gin_idx)', async () => {
    expect(await plan(QueryBuilder.tagsContainAll(['rare', 'common']), '', 'campaigns')).toContain('campaigns_tags_gin_idx');
    expect(await plan(QueryBuilder.tagsOverlap(['rare']), '', 'campaigns')).toContain('campaigns_tags_gin_idx');
  });

  it.each<[string, PostSearchCriteria]>([
    ['a word', { text: 'zeppelin' }],
    ['a tag', { tags: ['rare'] }],
    ['both', { text: 'zeppelin', tags: ['common'] }],
    // A negation matches every post without the key: other tenants' must stay out.
    ['a word and an excluded one', { text: 'zeppelin -webinar', tags: ['rare'] }],
    ['an excluded word only', { text: '-zeppelin' }],
  ])('postSearch by %s reads post_search_terms_gin_idx, and finds what the columns of posts say', async (_what, criteria) => {
    const filter = QueryBuilder.postSearch(rareWorkspaceId, criteria);
    // A query of exclusions only has no key to probe: the index cannot serve it.
    if (!/^-\w+$/.test(criteria.text ?? '')) expect(await plan(filter)).toContain('post_search_terms_gin_idx');
    const plain = QueryBuilder.combineFilters(
      QueryBuilder.workspaceFilter(rareWorkspaceId),
      criteria.text ? QueryBuilder.fullTextSearch(criteria.text) : undefined,
      criteria.tags ? QueryBuilder.tagsContainAll(criteria.tags) : undefined,
    );
    const ids = async (f: SqlFragment) => (await db.query<{ id: string }>(`SELECT id FROM posts WHERE ${f.text} ORDER BY id`, f.values)).map((r) => r.id);
    const expected = await ids(plain);
    expect(expected.length).toBeGreaterThan(0);
    expect(await ids(filter)).toEqual(expected);
  });

  it('workspaceFilter with a created_at range uses posts_workspace_created_idx', async () => {
    const filter = QueryBuilder.combineFilters(
      QueryBuilder.workspaceFilter(workspaceId),
      QueryBuilder.dateRange('created_at', '2025-03-01T00:00:00Z', '2025-03-08T00:00:00Z'),
    );
    expect(await plan(filter)).toEqual(['posts_workspace_created_idx']);
  });

  it('a keyset page of one workspace, newest first, reads posts_workspace_created_idx', async () => {
    let captured: { text: string; values: unknown[] } | undefined;
    const fetch = async (q: KeysetQuery) => {
      const where = QueryBuilder.combineFilters(QueryBuilder.workspaceFilter(workspaceId), q.where);
      captured = { text: `SELECT id, ${q.cursorSelect} FROM posts WHERE ${where.text} ORDER BY ${q.orderBy} LIMIT ${q.limit}`, values: where.values };
      return (await db.pool().query(captured.text, captured.values)).rows;
    };
    const first = await cursorPaginate(fetch, { take: 20, orderBy: { column: 'created_at', direction: 'desc' } });
    await cursorPaginate(fetch, { take: 20, orderBy: { column: 'created_at', direction: 'desc' }, cursor: first.nextCursor });
    const result = await explainQuery(db.pool(), captured!.text, { params: captured!.values });
    expect(indexesUsed(result)).toEqual(['posts_workspace_created_idx']);
  });
});
