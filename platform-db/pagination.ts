import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SqlFragment } from './query-builder';

/**
 * Keyset (seek) pagination on (sort column, id). Unlike OFFSET, a page boundary is a position in
 * the index, so rows inserted or deleted elsewhere never shift later pages: every row that
 * existed when paging started is returned exactly once. The sort column must be NOT NULL and id
 * unique, which together make the order total.
 */
export type SortDirection = 'asc' | 'desc';

export interface OrderBy {
  column: string;
  direction: SortDirection;
}

/** What the fetch callback receives; it must use all four parts. */
export interface KeysetQuery {
  /** The seek predicate, placeholders from $1 ('TRUE' on the first page). Combine with your own filters via QueryBuilder.combineFilters. */
  where: SqlFragment;
  /** For ORDER BY, e.g. '"created_at" DESC, "id" DESC'. */
  orderBy: string;
  /** For LIMIT: take + 1, the extra row tells whether another page exists. */
  limit: number;
  /**
   * Add to the SELECT list. The sort value travels as text so the cursor keeps the database's
   * full precision (a timestamptz has microseconds; a JS Date only milliseconds, which would skip rows).
   */
  cursorSelect: string;
}

export interface PaginateOptions {
  /** The nextCursor of the previous page; undefined or null for the first page. */
  cursor?: string | null;
  take: number;
  /** { column: 'created_at', direction: 'desc' }, or Prisma style { createdAt: 'desc' }. */
  orderBy: OrderBy | Record<string, SortDirection>;
  idColumn?: string;
  /** Table alias to qualify the columns with, for joins. */
  alias?: string;
  maxTake?: number;
  /** HMAC key for cursors (PAGINATION_CURSOR_SECRET). Without it cursors are checked for shape only. */
  secret?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
  hasMore: boolean;
}

export class InvalidCursorError extends Error {
  constructor(problem: string) {
    super(`invalid pagination cursor: ${problem}`);
    this.name = 'InvalidCursorError';
  }
}

export class PaginationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PaginationError';
  }
}

export const CURSOR_SORT_KEY = '_cursor_sort';
export const DEFAULT_MAX_TAKE = 100;
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

interface CursorPayload {
  v: 1;
  /** Sort column and direction the cursor belongs to. */
  c: string;
  d: SortDirection;
  /** Sort value (text form) and id of the last row of the previous page. */
  s: string;
  i: string | number;
}

function normalizeOrderBy(orderBy: PaginateOptions['orderBy']): OrderBy {
  const entry: [string, unknown] | undefined =
    orderBy && typeof orderBy === 'object' && 'column' in orderBy && 'direction' in orderBy
      ? [String(orderBy.column), orderBy.direction]
      : orderBy && typeof orderBy === 'object' && Object.keys(orderBy).length === 1
        ? Object.entries(orderBy)[0]
        : undefined;
  if (!entry) throw new PaginationError('orderBy must be { column, direction } or a single { column: direction } pair');
  const column = entry[0].replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const direction = typeof entry[1] === 'string' ? entry[1].toLowerCase() : entry[1];
  if (!IDENTIFIER.test(column)) throw new PaginationError(`orderBy column must be a lower-case identifier, got "${entry[0]}"`);
  if (direction !== 'asc' && direction !== 'desc') throw new PaginationError(`orderBy direction must be 'asc' or 'desc', got ${JSON.stringify(entry[1])}`);
  return { column, direction };
}

function sign(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
}

export function encodeCursor(payload: CursorPayload, secret?: string): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return secret ? `${body}.${sign(body, secret)}` : body;
}

export function decodeCursor(token: string, expected: OrderBy, secret?: string): CursorPayload {
  if (typeof token !== 'string' || token.length === 0 || token.length > 2048) throw new InvalidCursorError('must be a non-empty string of at most 2048 characters');
  const [body, signature, extra] = token.split('.');
  if (extra !== undefined || !/^[A-Za-z0-9_-]+$/.test(body)) throw new InvalidCursorError('malformed');
  if (secret) {
    if (signature === undefined) throw new InvalidCursorError('signature missing');
    const want = Buffer.from(sign(body, secret));
    const got = Buffer.from(signature);
    if (want.length !== got.length || !timingSafeEqual(want, got)) throw new InvalidCursorError('signature does not match (tampered, or made with another key)');
  } else if (signature !== undefined) {
    throw new InvalidCursorError('signed, but no cursor secret is configured');
  }
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('not decodable');
  }
  const p = payload as Partial<CursorPayload> | null;
  if (!p || typeof p !== 'object' || p.v !== 1 || typeof p.c !== 'string' || (p.d !== 'asc' && p.d !== 'desc') || typeof p.s !== 'string' || (typeof p.i !== 'string' && typeof p.i !== 'number')) {
    throw new InvalidCursorError('unexpected contents');
  }
  if (p.c !== expected.column || p.d !== expected.direction) {
    throw new InvalidCursorError(`made for order ${p.c} ${p.d}, but this request orders by ${expected.column} ${expected.direction}`);
  }
  return p as CursorPayload;
}

/**
 * One page. `fetch` runs the query, for example:
 *
 *   cursorPaginate((q) => {
 *     const where = QueryBuilder.combineFilters(QueryBuilder.workspaceFilter(ws), q.where);
 *     return pool.query(`SELECT id, title, created_at, ${q.cursorSelect} FROM posts
 *                        WHERE ${where.text} ORDER BY ${q.orderBy} LIMIT ${q.limit}`, where.values).then((r) => r.rows);
 *   }, { cursor, take: 20, orderBy: { createdAt: 'desc' } });
 */
export async function cursorPaginate<T extends Record<string, unknown>>(
  fetch: (query: KeysetQuery) => Promise<T[]>,
  options: PaginateOptions,
): Promise<Page<Omit<T, typeof CURSOR_SORT_KEY>>> {
  const maxTake = options.maxTake ?? DEFAULT_MAX_TAKE;
  if (!Number.isInteger(options.take) || options.take < 1 || options.take > maxTake) {
    throw new PaginationError(`take must be a whole number from 1 to ${maxTake}, got ${String(options.take)}`);
  }
  const order = normalizeOrderBy(options.orderBy);
  const idColumn = options.idColumn ?? 'id';
  if (!IDENTIFIER.test(idColumn)) throw new PaginationError(`idColumn must be a lower-case identifier, got "${idColumn}"`);
  if (options.alias !== undefined && !IDENTIFIER.test(options.alias)) throw new PaginationError(`alias must be a lower-case identifier, got "${options.alias}"`);
  const prefix = options.alias ? `${options.alias}.` : '';
  const sortSql = `${prefix}"${order.column}"`;
  const idSql = `${prefix}"${idColumn}"`;
  const dir = order.direction === 'desc' ? 'DESC' : 'ASC';

  let where: SqlFragment = { text: 'TRUE', values: [] };
  if (options.cursor !== undefined && options.cursor !== null) {
    const cursor = decodeCursor(options.cursor, order, options.secret);
    // A row comparison is one btree seek on an index over (sort column, id).
    where = { text: `(${sortSql}, ${idSql}) ${order.direction === 'desc' ? '<' : '>'} ($1, $2)`, values: [cursor.s, cursor.i] };
  }

  const rows = await fetch({
    where,
    orderBy: `${sortSql} ${dir}, ${idSql} ${dir}`,
    limit: options.take + 1,
    cursorSelect: `(${sortSql})::text AS "${CURSOR_SORT_KEY}"`,
  });
  if (!Array.isArray(rows)) throw new PaginationError('fetch must return an array of rows');
  if (rows.length > options.take + 1) throw new PaginationError(`fetch returned ${rows.length} rows but the limit was ${options.take + 1}: it must apply LIMIT`);

  const hasMore = rows.length > options.take;
  const pageRows = rows.slice(0, options.take);
  let nextCursor: string | null = null;
  if (hasMore) {
    const last = pageRows[pageRows.length - 1];
    const sortValue = last[CURSOR_SORT_KEY];
    const id = last[idColumn];
    if (typeof sortValue !== 'string') throw new PaginationError(`rows must include KeysetQuery.cursorSelect (column ${CURSOR_SORT_KEY}), and ${order.column} must be NOT NULL`);
    if (typeof id !== 'string' && typeof id !== 'number') throw new PaginationError(`rows must include the ${idColumn} column`);
    nextCursor = encodeCursor({ v: 1, c: order.column, d: order.direction, s: sortValue, i: id }, options.secret);
  }
  const items = pageRows.map((row) => {
    const { [CURSOR_SORT_KEY]: _drop, ...item } = row;
    return item as Omit<T, typeof CURSOR_SORT_KEY>;
  });
  return { items, nextCursor, hasMore };
}
