import { loadQueryFiles } from '../../sql/query-files';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createTenant, pgError, Tenant } from './platform-fixtures';

/**
 * public.post_search (097) is kept from posts by triggers: whatever writes posts, each post's row
 * holds its workspace, creation time and keyed terms, and a write that changes nothing searched
 * (a publish) leaves it alone. The search functions refuse bad input by name.
 */
const QUERIES = Object.fromEntries(loadQueryFiles().map((q) => [q.name, q]));

describe('post_search follows posts', () => {
  let db: TestDatabase;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await createTenant(db, 'ps-a');
    b = await createTenant(db, 'ps-b');
  });
  afterAll(async () => {
    await db.drop();
  });

  /** Every post of the database whose post_search row is missing or differs from what its post says. */
  const outOfStep = () =>
    db.query(
      `SELECT p.id, s.post_id FROM posts p FULL JOIN post_search s ON s.post_id = p.id
        WHERE s.post_id IS NULL OR p.id IS NULL OR s.workspace_id <> p.workspace_id OR s.created_at <> p.created_at
           OR s.terms <> public.post_search_terms(p.workspace_id, p.tags, p.search_vector)`,
    );

  async function post(t: Tenant, title: string, content: string, tags: string[]): Promise<string> {
    const [row] = await db.query<{ id: string }>(
      `INSERT INTO posts (workspace_id, author_id, title, content, tags) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [t.workspaceId, t.userId, title, content, tags],
    );
    return row.id;
  }

  it('keys every word and tag with the workspace, positions and weights kept', async () => {
    const [row] = await db.query<{ terms: string }>(
      `SELECT public.post_search_terms(7, ARRAY['it''s', 'a\\b', 'two words'], to_tsvector('english', 'Summer sale, summer!')) AS terms`,
    );
    expect(row.terms).toBe(`'7#a\\\\b' '7#it''s' '7#two words' '7_sale':2 '7_summer':1,3`);
    const [q] = await db.query<{ words: string; none: string | null; tags: string; no_tags: string | null }>(
      `SELECT public.post_search_words(7, websearch_to_tsquery('english', '"summer sale" -webinar or kakapo'))::text AS words,
              public.post_search_words(7, websearch_to_tsquery('english', 'the and of')) AS none,
              public.post_search_tags(7, ARRAY['it''s', 'x'])::text AS tags,
              public.post_search_tags(7, '{}') AS no_tags`,
    );
    expect(q).toEqual({ words: `'7_summer' <-> '7_sale' & !'7_webinar' | '7_kakapo'`, none: null, tags: `'7#it''s' & '7#x'`, no_tags: null });
  });

  it('gets a row for each post inserted, one at a time or a thousand in one statement', async () => {
    await post(a, 'One', 'single insert', ['solo']);
    await db.query(
      `INSERT INTO posts (workspace_id, author_id, content, tags, created_at)
       SELECT $1, $2, 'bulk post ' || g, ARRAY['bulk', 'n' || g % 3], now() - g * interval '1 hour' FROM generate_series(1, 1000) g`,
      [b.workspaceId, b.userId],
    );
    expect(await outOfStep()).toEqual([]);
    const [{ n }] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM post_search WHERE workspace_id = $1`, [b.workspaceId]);
    expect(n).toBe(1000);
  });

  it('follows edits of the title, content, tags, creation time and workspace', async () => {
    const id = await post(a, 'Before', 'old words', ['old']);
    for (const change of [
      `title = 'After'`,
      `content = 'new words entirely'`,
      `tags = ARRAY['new', 'fresh']`,
      `created_at = now() - interval '400 days'`,
      `workspace_id = ${b.workspaceId}, author_id = ${b.userId}`,
    ]) {
      await db.query(`UPDATE posts SET ${change} WHERE id = $1`, [id]);
      expect([change, await outOfStep()]).toEqual([change, []]);
    }
    const found = await db.query(QUERIES.tag_search.sql, [b.workspaceId, ['fresh'], 10]);
    expect(found.map((r) => String(r.id))).toEqual([id]);
    expect(await db.query(QUERIES.tag_search.sql, [a.workspaceId, ['fresh'], 10])).toEqual([]);
  });

  it('follows an upsert of posts (INSERT ... ON CONFLICT DO UPDATE), new rows and updated ones alike', async () => {
    const id = await post(a, 'Upsert', 'first words', ['first']);
    await db.query(
      `INSERT INTO posts (id, workspace_id, author_id, title, content, tags) OVERRIDING SYSTEM VALUE
       VALUES ($1, $2, $3, 'Upsert', 'second words', ARRAY['second'])
       ON CONFLICT (id) DO UPDATE SET content = EXCLUDED.content, tags = EXCLUDED.tags`,
      [id, a.workspaceId, a.userId],
    );
    expect(await outOfStep()).toEqual([]);
    expect((await db.query(QUERIES.tag_search.sql, [a.workspaceId, ['second'], 10])).map((r) => String(r.id))).toEqual([id]);
    expect(await db.query(QUERIES.tag_search.sql, [a.workspaceId, ['first'], 10])).toEqual([]);
  });

  it('is not written by a publish: the row version stays the same', async () => {
    const id = await post(a, 'Launch', 'publishing soon', ['launch']);
    const version = async () => (await db.query<{ v: string }>(`SELECT xmin::text AS v FROM post_search WHERE post_id = $1`, [id]))[0].v;
    const before = await version();
    await db.query(`UPDATE posts SET status = 'PUBLISHED', published_at = now() WHERE id = $1`, [id]);
    // Setting a searched column to the value it had is no change either.
    await db.query(`UPDATE posts SET tags = tags, title = title WHERE id = $1`, [id]);
    expect(await version()).toBe(before);
  });

  it('loses the row with its post', async () => {
    const id = await post(a, 'Gone', 'to be deleted', ['gone']);
    await db.query(`DELETE FROM posts WHERE id = $1`, [id]);
    expect(await db.query(`SELECT 1 FROM post_search WHERE post_id = $1`, [id])).toEqual([]);
    expect(await outOfStep()).toEqual([]);
  });

  it('never fails the write of a post: a word or tag too long for a key is left out of the keys', async () => {
    const long = 'x'.repeat(2030);
    const id = await post(a, 'Long', `short words and ${long}`, [long, 'short']);
    expect(await outOfStep()).toEqual([]);
    const [row] = await db.query<{ keys: string[] }>(`SELECT tsvector_to_array(terms) AS keys FROM post_search WHERE post_id = $1`, [id]);
    expect(row.keys.every((k) => k.length < 2000)).toBe(true);
    expect(row.keys).toContain(`${a.workspaceId}#short`);
  });

  it('cannot be written by the application role, only read', async () => {
    const grants = await db.query<{ privilege_type: string }>(
      `SELECT privilege_type FROM information_schema.role_table_grants WHERE grantee = 'platform_app' AND table_name = 'post_search' ORDER BY 1`,
    );
    expect(grants.map((g) => g.privilege_type)).toEqual(['SELECT']);
  });

  it('backfills posts written before its triggers, leaving rows already there alone', async () => {
    const id = await post(a, 'Backfill', 'before the triggers', ['early']);
    await db.query(`DELETE FROM post_search WHERE post_id = $1`, [id]);
    const other = (await db.query<{ post_id: string; v: string }>(`SELECT post_id, xmin::text AS v FROM post_search LIMIT 1`))[0];
    await db.query(`CALL dbops.post_search_backfill(7)`);
    expect(await outOfStep()).toEqual([]);
    expect((await db.query<{ v: string }>(`SELECT xmin::text AS v FROM post_search WHERE post_id = $1`, [other.post_id]))[0].v).toBe(other.v);
    expect((await pgError(db, `CALL dbops.post_search_backfill(0)`))?.message).toMatch(/batch must be 1-1000000 posts, got 0/);
  });

  it('takes a batch again when one of its posts is deleted while it runs, instead of failing', async () => {
    const id = await post(a, 'Raced', 'deleted during the backfill', ['raced']);
    const victim = await post(a, 'Victim', 'deleted during the backfill', ['victim']);
    await db.query(`DELETE FROM post_search WHERE post_id = ANY ($1::bigint[])`, [[id, victim]]);
    // Stands in for a delete committed while the batch's INSERT runs: the first time the batch
    // writes the raced post, its victim goes; the key check at the statement's end then fails.
    await db.query(`CREATE SEQUENCE test_backfill_race`);
    await db.query(
      `CREATE FUNCTION test_backfill_race() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.post_id = ${Number(id)} AND nextval('test_backfill_race') = 1 THEN DELETE FROM posts WHERE id = ${Number(victim)}; END IF;
         RETURN NEW;
       END $$`,
    );
    await db.query(`CREATE TRIGGER test_backfill_race BEFORE INSERT ON post_search FOR EACH ROW EXECUTE FUNCTION test_backfill_race()`);
    try {
      await db.query(`CALL dbops.post_search_backfill(100000)`);
    } finally {
      await db.query(`DROP TRIGGER test_backfill_race ON post_search`);
    }
    // The failed attempt's delete went with it; what matters is the batch written after it.
    // The race happened (the batch failed once) and the batch was taken again.
    expect((await db.query<{ n: string }>(`SELECT last_value AS n FROM test_backfill_race`))[0].n).toBe('2');
    expect(await outOfStep()).toEqual([]);
  });

  it.each([
    ['search_posts', 'text', [null, 'x', 10], /workspace id and search text are required/],
    ['search_posts', 'text', ['1', 'x', 0], /limit must be 1-200, got 0/],
    ['search_posts', 'text', ['1', 'x', 201], /limit must be 1-200, got 201/],
    ['search_posts_by_tags', 'text[]', ['1', null, 10], /workspace id and tags \(no NULL among them\) are required/],
    ['search_posts_by_tags', 'text[]', ['1', ['a', null], 10], /workspace id and tags \(no NULL among them\) are required/],
    ['search_posts_by_tags', 'text[]', ['1', ['a'], 1001], /limit must be 1-1000, got 1001/],
  ])('%s refuses %j by name', async (fn, type, values, message) => {
    expect((await pgError(db, `SELECT count(*) FROM public.${fn}($1::bigint, $2::${type}, $3::integer)`, values))?.message).toMatch(message);
  });

  it('finds nothing for stop words only, and every newest post for no tag', async () => {
    expect(await db.query(QUERIES.full_text_search.sql, [a.workspaceId, 'the and of', 10])).toEqual([]);
    const newest = await db.query(`SELECT id FROM posts WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC LIMIT 5`, [b.workspaceId]);
    expect((await db.query(QUERIES.tag_search.sql, [b.workspaceId, [], 5])).map((r) => r.id)).toEqual(newest.map((r) => r.id));
  });
});
