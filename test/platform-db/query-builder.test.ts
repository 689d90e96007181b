import { QueryBuilder, QueryBuilderError, shiftPlaceholders, SqlFragment } from '../../platform-db/query-builder';
import { createTestDatabase, TestDatabase } from '../support/database';

const BASE = Date.UTC(2026, 0, 1);
const minutes = (n: number) => new Date(BASE + n * 60_000);

/** The seeded posts, generated the same way in SQL (below) and here, so expectations are computed independently. */
interface SeedPost {
  g: number;
  workspace: 'a' | 'b';
  tags: string[];
  content: string;
  createdAt: Date;
}
const SEED: SeedPost[] = Array.from({ length: 600 }, (_, i) => {
  const g = i + 1;
  const tags = [g % 2 === 0 ? 'launch' : null, g % 3 === 0 ? 'promo' : null, g % 5 === 0 ? 'video' : null].filter((t): t is string => t !== null);
  const words = ['update', g % 4 === 0 ? 'rocket' : null, g % 6 === 0 ? 'engines' : null].filter((w): w is string => w !== null);
  return { g, workspace: g % 10 === 0 ? 'b' : 'a', tags, content: words.join(' '), createdAt: minutes(g) };
});

describe('QueryBuilder', () => {
  describe('fragments', () => {
    it('builds parameterized fragments with values kept out of the SQL text', () => {
      const start = new Date('2026-01-01T00:00:00Z');
      const end = new Date('2026-02-01T00:00:00Z');
      expect(QueryBuilder.dateRange('createdAt', start, end)).toEqual({ text: 'created_at >= $1 AND created_at < $2', values: [start, end] });
      expect(QueryBuilder.dateRange('scheduled_at', start)).toEqual({ text: 'scheduled_at >= $1', values: [start] });
      expect(QueryBuilder.dateRange('published_at', undefined, '2026-02-01T00:00:00Z')).toEqual({ text: 'published_at < $1', values: [end] });
      expect(QueryBuilder.fullTextSearch("  robert'); DROP TABLE posts;--  ")).toEqual({
        text: "search_vector @@ websearch_to_tsquery('english', $1)",
        values: ["robert'); DROP TABLE posts;--"],
      });
      expect(QueryBuilder.workspaceFilter(42)).toEqual({ text: 'workspace_id = $1', values: ['42'] });
      expect(QueryBuilder.workspaceFilter('9223372036854775807')).toEqual({ text: 'workspace_id = $1', values: ['9223372036854775807'] });
      expect(QueryBuilder.tagsContainAll(['a', 'b', 'a'])).toEqual({ text: 'tags @> $1::text[]', values: [['a', 'b']] });
      expect(QueryBuilder.tagsOverlap(['x'])).toEqual({ text: 'tags && $1::text[]', values: [['x']] });
      expect(QueryBuilder.for('p').workspaceFilter(7)).toEqual({ text: 'p.workspace_id = $1', values: ['7'] });
    });

    it('renumbers placeholders when combining, skipping absent filters', () => {
      const start = new Date('2026-01-01T00:00:00Z');
      const end = new Date('2026-01-02T00:00:00Z');
      const combined = QueryBuilder.combineFilters(
        QueryBuilder.workspaceFilter(1),
        undefined,
        QueryBuilder.dateRange('created_at', start, end),
        QueryBuilder.tagsContainAll(['launch']),
        QueryBuilder.fullTextSearch('rocket'),
      );
      expect(combined).toEqual({
        text: "(workspace_id = $1) AND (created_at >= $2 AND created_at < $3) AND (tags @> $4::text[]) AND (search_vector @@ websearch_to_tsquery('english', $5))",
        values: ['1', start, end, ['launch'], 'rocket'],
      });
      // Combining combined fragments keeps numbering consistent, including two-digit placeholders.
      const many = QueryBuilder.combineFilters(...Array.from({ length: 12 }, (_, i) => QueryBuilder.workspaceFilter(i + 1)));
      const nested = QueryBuilder.combineFilters(QueryBuilder.tagsOverlap(['z']), many);
      expect(nested.text).toContain('workspace_id = $13');
      expect(nested.values).toHaveLength(13);
      expect(QueryBuilder.combineFilters()).toEqual({ text: 'TRUE', values: [] });
      expect(() => shiftPlaceholders({ text: 'a = $2', values: [1] }, 0)).toThrow(/uses \$2 but carries 1 values/);
    });

    it('rejects columns outside the allow-list and bad values before any SQL exists', () => {
      expect(() => QueryBuilder.dateRange('password_hash', new Date())).toThrow(/column "password_hash" is not allowed/);
      expect(() => QueryBuilder.dateRange('created_at; DROP TABLE posts', new Date())).toThrow(QueryBuilderError);
      expect(() => QueryBuilder.dateRange('created_at')).toThrow(/needs a start, an end, or both/);
      expect(() => QueryBuilder.dateRange('created_at', 'yesterday-ish')).toThrow(/valid date/);
      expect(() => QueryBuilder.dateRange('created_at', '2026-02-01', '2026-01-01')).toThrow(/is after end/);
      expect(() => QueryBuilder.fullTextSearch('   ')).toThrow(/non-empty search string/);
      expect(() => QueryBuilder.fullTextSearch('x'.repeat(1001))).toThrow(/longer than 1000/);
      expect(() => QueryBuilder.workspaceFilter('1 OR 1=1')).toThrow(/positive whole-number workspace id/);
      expect(() => QueryBuilder.workspaceFilter(-3)).toThrow(/positive whole-number/);
      expect(() => QueryBuilder.workspaceFilter(2 ** 60)).toThrow(/positive whole-number/);
      expect(() => QueryBuilder.tagsContainAll([])).toThrow(/non-empty array/);
      expect(() => QueryBuilder.tagsOverlap(['ok', ''])).toThrow(/1-200 characters/);
      expect(() => QueryBuilder.for('p; DROP')).toThrow(/alias/);
    });
  });

  describe('against the posts table', () => {
    let db: TestDatabase;
    const ids: Record<'a' | 'b', string> = { a: '', b: '' };

    beforeAll(async () => {
      db = await createTestDatabase();
      const rows = await db.query<{ id: string; slug: string }>(`INSERT INTO workspaces (name, slug) VALUES ('A', 'a'), ('B', 'b') RETURNING id, slug`);
      for (const r of rows) ids[r.slug as 'a' | 'b'] = r.id;
      const [user] = await db.query<{ id: string }>(`INSERT INTO users (email, password_hash) VALUES ('qb@test.dev', repeat('x', 60)) RETURNING id`);
      await db.query(
        `INSERT INTO posts (workspace_id, author_id, content, tags, created_at)
         SELECT CASE WHEN g % 10 = 0 THEN $2::bigint ELSE $1::bigint END, $3,
                concat_ws(' ', 'update', CASE WHEN g % 4 = 0 THEN 'rocket' END, CASE WHEN g % 6 = 0 THEN 'engines' END),
                array_remove(ARRAY[CASE WHEN g % 2 = 0 THEN 'launch' END, CASE WHEN g % 3 = 0 THEN 'promo' END, CASE WHEN g % 5 = 0 THEN 'video' END], NULL),
                $4::timestamptz + g * interval '1 minute'
           FROM generate_series(1, 600) g`,
        [ids.a, ids.b, user.id, new Date(BASE)],
      );
    });
    afterAll(async () => {
      await db.drop();
    });

    async function matching(filter: SqlFragment): Promise<number[]> {
      const rows = await db.query<{ g: number }>(
        `SELECT (extract(epoch FROM created_at - $1::timestamptz) / 60)::int AS g FROM posts WHERE ${shiftPlaceholders(filter, 1).text} ORDER BY 1`,
        [new Date(BASE), ...filter.values],
      );
      return rows.map((r) => r.g);
    }
    const expected = (predicate: (p: SeedPost) => boolean) => SEED.filter(predicate).map((p) => p.g);

    it('dateRange is half-open [start, end)', async () => {
      expect(await matching(QueryBuilder.dateRange('createdAt', minutes(100), minutes(200)))).toEqual(expected((p) => p.g >= 100 && p.g < 200));
      expect(await matching(QueryBuilder.dateRange('created_at', minutes(590)))).toEqual(expected((p) => p.g >= 590));
    });

    it('tagsContainAll needs every tag, tagsOverlap any of them', async () => {
      expect(await matching(QueryBuilder.tagsContainAll(['launch', 'promo']))).toEqual(expected((p) => p.tags.includes('launch') && p.tags.includes('promo')));
      expect(await matching(QueryBuilder.tagsOverlap(['promo', 'video']))).toEqual(expected((p) => p.tags.includes('promo') || p.tags.includes('video')));
    });

    it('fullTextSearch understands web search syntax and stemming', async () => {
      expect(await matching(QueryBuilder.fullTextSearch('rocket -engine'))).toEqual(expected((p) => p.content.includes('rocket') && !p.content.includes('engines')));
      expect(await matching(QueryBuilder.fullTextSearch('rockets OR engines'))).toEqual(expected((p) => p.content.includes('rocket') || p.content.includes('engines')));
      expect(await matching(QueryBuilder.fullTextSearch("'); DROP TABLE posts; --"))).toEqual([]);
      expect(await db.query('SELECT count(*)::int AS n FROM posts')).toEqual([{ n: 600 }]);
    });

    it('combined filters select exactly the intersection', async () => {
      const filter = QueryBuilder.combineFilters(
        QueryBuilder.workspaceFilter(ids.a),
        QueryBuilder.dateRange('created_at', minutes(50), minutes(500)),
        QueryBuilder.tagsOverlap(['launch']),
        QueryBuilder.fullTextSearch('rocket'),
      );
      const want = expected((p) => p.workspace === 'a' && p.g >= 50 && p.g < 500 && p.tags.includes('launch') && p.content.includes('rocket'));
      expect(want.length).toBeGreaterThan(10);
      expect(await matching(filter)).toEqual(want);
    });
  });
});
