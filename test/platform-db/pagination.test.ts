import { cursorPaginate, encodeCursor, InvalidCursorError, KeysetQuery, PaginateOptions, PaginationError } from '../../platform-db/pagination';
import { QueryBuilder } from '../../platform-db/query-builder';
import { createTestDatabase, TestDatabase } from '../support/database';

const SECRET = 'test-cursor-secret-0123456789';

describe('cursorPaginate on posts', () => {
  let db: TestDatabase;
  let workspaceId: string;
  let otherWorkspaceId: string;
  let authorId: string;
  let initialIds: string[];

  beforeAll(async () => {
    db = await createTestDatabase();
    const [ws] = await db.query<{ id: string }>(`INSERT INTO workspaces (name, slug) VALUES ('Acme', 'acme') RETURNING id`);
    const [other] = await db.query<{ id: string }>(`INSERT INTO workspaces (name, slug) VALUES ('Other', 'other') RETURNING id`);
    const [user] = await db.query<{ id: string }>(`INSERT INTO users (email, password_hash) VALUES ('a@acme.test', repeat('x', 60)) RETURNING id`);
    workspaceId = ws.id;
    otherWorkspaceId = other.id;
    authorId = user.id;
    // Groups of three rows share a created_at (ties broken by id), and neighbouring groups are
    // 7 microseconds apart: a cursor that rounded to JS milliseconds would skip or repeat rows.
    await db.query(
      `INSERT INTO posts (workspace_id, author_id, content, created_at)
       SELECT $1, $2, 'post ' || g, timestamptz '2026-01-01 00:00:00+00' + (g / 3) * interval '7 microseconds'
         FROM generate_series(1, 250) g`,
      [workspaceId, authorId],
    );
    await db.query(`INSERT INTO posts (workspace_id, author_id, content) SELECT $1, $2, 'noise' FROM generate_series(1, 30)`, [otherWorkspaceId, authorId]);
    initialIds = (await db.query<{ id: string }>('SELECT id FROM posts WHERE workspace_id = $1', [workspaceId])).map((r) => r.id);
  });
  afterAll(async () => {
    await db.drop();
  });

  type Row = { id: string; content: string; created_at: Date; _cursor_sort: string };
  const fetchPosts = (q: KeysetQuery) => {
    const where = QueryBuilder.combineFilters(QueryBuilder.workspaceFilter(workspaceId), q.where);
    return db
      .pool()
      .query<Row>(`SELECT id, content, created_at, ${q.cursorSelect} FROM posts WHERE ${where.text} ORDER BY ${q.orderBy} LIMIT ${q.limit}`, where.values)
      .then((r) => r.rows);
  };

  async function walk(options: Omit<PaginateOptions, 'cursor'>, between?: (page: number) => Promise<void>) {
    const seen: string[] = [];
    const sortKeys: [string, bigint][] = [];
    let cursor: string | null = null;
    let pages = 0;
    for (;;) {
      const page: Awaited<ReturnType<typeof cursorPaginate<Row>>> = await cursorPaginate(fetchPosts, { ...options, cursor });
      pages += 1;
      for (const item of page.items) {
        seen.push(item.id);
        sortKeys.push([String(item.created_at.getTime()), BigInt(item.id)]);
        expect(item).not.toHaveProperty('_cursor_sort');
      }
      expect(page.hasMore).toBe(page.nextCursor !== null);
      if (!page.hasMore) break;
      cursor = page.nextCursor;
      await between?.(pages);
      if (pages > 100) throw new Error('pagination does not terminate');
    }
    return { seen, pages };
  }

  it('returns every row exactly once, newest first, while rows are inserted between pages', async () => {
    let inserted = 0;
    const { seen, pages } = await walk({ take: 20, orderBy: { createdAt: 'desc' }, secret: SECRET }, async (page) => {
      // New rows land before, inside and after the range already paged through.
      await db.query(
        `INSERT INTO posts (workspace_id, author_id, content, created_at) VALUES
           ($1, $2, 'new, newest', now()),
           ($1, $2, 'new, inside', timestamptz '2026-01-01 00:00:00+00' + $3 * interval '7 microseconds'),
           ($1, $2, 'new, oldest', timestamptz '2025-12-31 00:00:00+00')`,
        [workspaceId, authorId, 80 - page],
      );
      inserted += 3;
    });
    expect(inserted).toBeGreaterThan(0);
    expect(new Set(seen).size).toBe(seen.length); // no duplicates
    const missing = initialIds.filter((id) => !seen.includes(id));
    expect(missing).toEqual([]); // no skips
    expect(pages).toBeGreaterThanOrEqual(13);
  });

  it('follows (created_at, id) order exactly, ascending too', async () => {
    const expected = (await db.query<{ id: string }>('SELECT id FROM posts WHERE workspace_id = $1 ORDER BY created_at ASC, id ASC', [workspaceId])).map((r) => r.id);
    const { seen } = await walk({ take: 17, orderBy: { column: 'created_at', direction: 'asc' } });
    expect(seen).toEqual(expected);
  });

  it('ends with hasMore false and no cursor; an exact multiple does not produce an empty page', async () => {
    const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM posts WHERE workspace_id = $1', [otherWorkspaceId]);
    const fetchOther = (q: KeysetQuery) => {
      const where = QueryBuilder.combineFilters(QueryBuilder.workspaceFilter(otherWorkspaceId), q.where);
      return db.pool().query(`SELECT id, ${q.cursorSelect} FROM posts WHERE ${where.text} ORDER BY ${q.orderBy} LIMIT ${q.limit}`, where.values).then((r) => r.rows);
    };
    const first = await cursorPaginate(fetchOther, { take: n / 2, orderBy: { column: 'id', direction: 'asc' } });
    expect(first.hasMore).toBe(true);
    const second = await cursorPaginate(fetchOther, { take: n / 2, orderBy: { column: 'id', direction: 'asc' }, cursor: first.nextCursor });
    expect(second).toMatchObject({ hasMore: false, nextCursor: null });
    expect(second.items).toHaveLength(n / 2);
  });

  it('rejects take outside 1..max before querying', async () => {
    let fetches = 0;
    const counting = async () => ((fetches += 1), []);
    for (const take of [0, -1, 101, 2.5, Number.NaN]) {
      await expect(cursorPaginate(counting, { take, orderBy: { column: 'created_at', direction: 'desc' } })).rejects.toThrow(/take must be a whole number from 1 to 100/);
    }
    await expect(cursorPaginate(counting, { take: 300, maxTake: 250, orderBy: { column: 'id', direction: 'asc' } })).rejects.toThrow(/1 to 250/);
    expect(fetches).toBe(0);
  });

  it('rejects a tampered, foreign or malformed cursor with a clear error', async () => {
    const first = await cursorPaginate(fetchPosts, { take: 5, orderBy: { column: 'created_at', direction: 'desc' }, secret: SECRET });
    const [body, signature] = first.nextCursor!.split('.');
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
    const forged = `${Buffer.from(JSON.stringify({ ...payload, i: '1' })).toString('base64url')}.${signature}`;
    const options = { take: 5, orderBy: { column: 'created_at', direction: 'desc' as const }, secret: SECRET };
    await expect(cursorPaginate(fetchPosts, { ...options, cursor: forged })).rejects.toThrow(/signature does not match/);
    await expect(cursorPaginate(fetchPosts, { ...options, cursor: body })).rejects.toThrow(/signature missing/);
    await expect(cursorPaginate(fetchPosts, { ...options, cursor: 'not a cursor!' })).rejects.toThrow(InvalidCursorError);
    await expect(cursorPaginate(fetchPosts, { ...options, secret: 'another-secret-0123456789', cursor: first.nextCursor })).rejects.toThrow(/signature does not match/);
    await expect(cursorPaginate(fetchPosts, { ...options, orderBy: { column: 'created_at', direction: 'asc' }, cursor: first.nextCursor })).rejects.toThrow(/made for order created_at desc/);
    // Without a secret the shape is still checked.
    const unsigned = { take: 5, orderBy: { column: 'created_at', direction: 'desc' as const } };
    await expect(cursorPaginate(fetchPosts, { ...unsigned, cursor: first.nextCursor })).rejects.toThrow(/signed, but no cursor secret/);
    await expect(cursorPaginate(fetchPosts, { ...unsigned, cursor: Buffer.from('{"v":1,"c":"created_at"}').toString('base64url') })).rejects.toThrow(/unexpected contents/);
    await expect(cursorPaginate(fetchPosts, { ...unsigned, cursor: Buffer.from('][').toString('base64url') })).rejects.toThrow(/not decodable/);
    // A well-formed unsigned cursor works.
    const page = await cursorPaginate(fetchPosts, { ...unsigned, cursor: encodeCursor({ v: 1, c: 'created_at', d: 'desc', s: '2026-01-01 00:00:00.000700+00', i: '999999' }) });
    expect(page.items.length).toBeGreaterThan(0);
  });

  it('rejects unsafe order columns and a fetch that ignores the contract', async () => {
    await expect(cursorPaginate(fetchPosts, { take: 5, orderBy: { column: 'created_at; DROP TABLE posts', direction: 'desc' } })).rejects.toThrow(/orderBy column must be a lower-case identifier/);
    await expect(cursorPaginate(fetchPosts, { take: 5, orderBy: { column: 'created_at', direction: 'sideways' as 'asc' } })).rejects.toThrow(/direction must be 'asc' or 'desc'/);
    const noCursorColumn = (q: KeysetQuery) => db.pool().query(`SELECT id FROM posts ORDER BY ${q.orderBy} LIMIT ${q.limit}`).then((r) => r.rows);
    await expect(cursorPaginate(noCursorColumn, { take: 5, orderBy: { column: 'created_at', direction: 'desc' } })).rejects.toThrow(/must include KeysetQuery.cursorSelect/);
    const noLimit = (q: KeysetQuery) => db.pool().query(`SELECT id, ${q.cursorSelect} FROM posts ORDER BY ${q.orderBy}`).then((r) => r.rows);
    await expect(cursorPaginate(noLimit, { take: 5, orderBy: { column: 'created_at', direction: 'desc' } })).rejects.toThrow(PaginationError);
  });
});
