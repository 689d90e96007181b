import { loadQueryFiles } from '../../sql/query-files';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createTenant, Tenant } from './platform-fixtures';

/**
 * tag_search and full_text_search call public.search_posts_by_tags and public.search_posts (097),
 * which walk a tenant's history newest first over public.post_search, month by month for 13
 * months and then year by year, and stop once they hold a page. Whatever path they take, they must
 * return what the plain definition returns (sql/queries/baseline/: the newest matches of the
 * workspace, all history read). The data puts matches where each path is taken: all in the
 * current month, spread a few a month (the walk stops after some months), fewer in 13 months than
 * a page but more before (the walk stops after some years), fewer in all time than a page (the
 * walk reaches the oldest post), only older than 13 months, and the same words in another tenant,
 * which must never leak in.
 */
const QUERIES = Object.fromEntries(loadQueryFiles().map((q) => [q.name, q]));
const NEWEST_TAGGED = QUERIES.tag_search.baselineSql as string;
const BEST_OF_NEWEST_200 = QUERIES.full_text_search.baselineSql as string;

/** Posts of one tag and word: `perMonth` in each of the months `fromMonth`..`toMonth` ago. */
async function plant(db: TestDatabase, t: Tenant, tag: string, word: string, perMonth: number, fromMonth: number, toMonth: number): Promise<void> {
  await db.query(
    `INSERT INTO posts (workspace_id, author_id, title, content, tags, created_at)
     SELECT $1, $2, initcap($4) || ' ' || n, $4 || ' post ' || n || ' of ' || k || ' months ago', ARRAY[$3, 'every'],
            -- Inside month k before now: some at the same instant, so the id breaks ties.
            date_trunc('month', now() - k * interval '1 month') + (n % 7) * interval '1 hour'
       FROM generate_series($5::int, $6::int) k, generate_series(1, $7::int) n`,
    [t.workspaceId, t.userId, tag, word, fromMonth, toMonth, perMonth],
  );
}

describe('tag_search and full_text_search return the newest matches whichever path they take', () => {
  let db: TestDatabase;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await createTenant(db, 'search-a');
    b = await createTenant(db, 'search-b');
    await plant(db, a, 'dense', 'alpha', 300, 0, 0);
    // Dated next month (a clock ahead, an import): the walk starts at the newest post, not now().
    await plant(db, a, 'dense', 'alpha', 2, -1, -1);
    await plant(db, a, 'spread', 'beta', 20, 0, 29);
    await plant(db, a, 'sparse', 'delta', 3, 0, 29);
    await plant(db, a, 'ancient', 'gamma', 5, 20, 29);
    // Five years of history: 130 in the 13 months walked one by one, 200 a year or so before.
    await plant(db, a, 'steady', 'epsilon', 10, 0, 59);
    // 26 in the 13 months, 100 only after two or three years are walked.
    await plant(db, a, 'trickle', 'zeta', 2, 0, 59);
    await plant(db, b, 'ancient', 'gamma', 50, 0, 5);
    await plant(db, b, 'dense', 'alpha', 300, 0, 0);
    await db.query('ANALYZE posts');
  });

  afterAll(async () => {
    await db.drop();
  });

  const tagCases: [string, string[], number][] = [
    ['all in the current month', ['dense'], 25],
    ['a few a month: the walk stops after two months', ['spread'], 25],
    ['a few a month: the walk stops after months', ['sparse'], 20],
    ['two tags, only in the current month', ['dense', 'every'], 100],
    ['fewer in 13 months than a page, fewer in all time: to the oldest post', ['sparse'], 100],
    ['fewer in 13 months than a page: the walk stops after some years', ['sparse'], 60],
    ['fewer in 13 months than a page: the walk goes on for years', ['trickle'], 100],
    ['only before the 13 months, this tenant only', ['ancient'], 25],
    ['nowhere', ['missing'], 25],
  ];
  it.each(tagCases)('tag_search: %s', async (_case, tags, limit) => {
    const expected = await db.query(NEWEST_TAGGED, [a.workspaceId, tags, limit]);
    const rows = await db.query(QUERIES.tag_search.sql, [a.workspaceId, tags, limit]);
    expect(rows).toEqual(expected);
    expect(rows.length).toBe(Math.min(limit, expected.length));
  });

  const textCases: [string, string, number][] = [
    ['all in the current month', 'alpha', 20],
    ['200 spread over ten months', 'beta', 20],
    ['fewer in 13 months than 200, fewer in all time: to the oldest post', 'delta', 50],
    ['fewer in 13 months than 200, more before: the walk stops after a year or two', 'epsilon', 30],
    ['fewer in 13 months than 200, more before, two words', 'epsilon or zeta', 100],
    ['only before the 13 months, this tenant only', 'gamma', 20],
    ['a phrase', '"beta post"', 20],
    ['an exclusion', 'post -alpha', 20],
    ['either word', 'gamma or delta', 50],
    ['nowhere', 'zeppelin', 20],
  ];
  it.each(textCases)('full_text_search: %s', async (_case, search, limit) => {
    const expected = await db.query(BEST_OF_NEWEST_200, [a.workspaceId, search, limit]);
    const rows = await db.query(QUERIES.full_text_search.sql, [a.workspaceId, search, limit]);
    expect(rows).toEqual(expected);
  });

  it('the cases reach every path: a page in month 0, a stop after some months, after some years, and at the oldest post', async () => {
    // Guards the test itself: if the data stopped exercising a path, the comparisons above would
    // prove less than they claim.
    const monthsHolding = async (tag: string, page: number) => {
      const [row] = await db.query<{ months: number | null }>(
        `SELECT min(k) AS months FROM generate_series(0, 12) k
          WHERE (SELECT count(*) FROM posts WHERE workspace_id = $1 AND tags @> ARRAY[$2]
                    AND created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - k * interval '1 month') >= $3`,
        [a.workspaceId, tag, page],
      );
      return row.months;
    };
    expect(await monthsHolding('dense', 25)).toBe(0);
    expect(await monthsHolding('spread', 25)).toBe(1);
    expect(await monthsHolding('spread', 200)).toBe(9);
    expect(await monthsHolding('sparse', 100)).toBeNull();
    expect(await monthsHolding('ancient', 1)).toBeNull();
    // The year steps: fewer than a page in the 13 months, a page before the oldest post.
    const total = async (tag: string) =>
      (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM posts WHERE workspace_id = $1 AND tags @> ARRAY[$2]`, [a.workspaceId, tag]))[0].n;
    expect(await monthsHolding('sparse', 60)).toBeNull();
    expect(await total('sparse')).toBeGreaterThan(60);
    expect(await monthsHolding('trickle', 100)).toBeNull();
    expect(await total('trickle')).toBeGreaterThan(100);
    expect(await monthsHolding('steady', 200)).toBeNull();
    expect(await total('steady')).toBeGreaterThan(200);
    expect(await total('sparse')).toBeLessThan(100);
  });
});
