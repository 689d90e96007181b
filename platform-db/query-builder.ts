/**
 * Parameterized WHERE fragments for the platform tables. Each fragment numbers its own
 * placeholders from $1; combineFilters renumbers them. Values only ever travel in `values`, and
 * column names only come from the allow-lists below, so no caller input reaches the SQL text.
 */
export interface SqlFragment {
  text: string;
  values: unknown[];
}

export class QueryBuilderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryBuilderError';
  }
}

/** What postSearch matches: web-search text, every one of the tags, or both. */
export interface PostSearchCriteria {
  text?: string;
  tags?: readonly string[];
}

/** timestamptz columns of the platform tables that range filters may use. */
export const DATE_COLUMNS = [
  'created_at',
  'updated_at',
  'scheduled_at',
  'published_at',
  'claimed_at',
  'collected_at',
  'occurred_at',
  'sent_at',
  'joined_at',
  'last_login_at',
  'last_message_at',
  'first_response_at',
  'first_response_due_at',
  'resolution_due_at',
  'resolved_at',
  'token_expires_at',
] as const;
export type DateColumn = (typeof DATE_COLUMNS)[number];

const MAX_TAGS = 100;
const MAX_TAG_LENGTH = 200;
const MAX_SEARCH_LENGTH = 1000;
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const BIGINT_ID = /^[1-9]\d{0,18}$/;

/** 'createdAt' and 'created_at' both name created_at, so code written against Prisma names keeps working. */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function toDate(value: Date | string, what: string): Date {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw new QueryBuilderError(`${what} must be a valid date or ISO 8601 string, got ${String(value)}`);
  return date;
}

function tagList(tags: readonly string[], what: string): string[] {
  if (!Array.isArray(tags) || tags.length === 0) throw new QueryBuilderError(`${what} needs a non-empty array of tags`);
  if (tags.length > MAX_TAGS) throw new QueryBuilderError(`${what} accepts at most ${MAX_TAGS} tags, got ${tags.length}`);
  for (const tag of tags) {
    if (typeof tag !== 'string' || tag.length === 0 || tag.length > MAX_TAG_LENGTH) {
      throw new QueryBuilderError(`${what}: every tag must be a string of 1-${MAX_TAG_LENGTH} characters, got ${JSON.stringify(tag)}`);
    }
  }
  return [...new Set(tags)];
}

/** Adds offset to every $n placeholder of a builder-made fragment (which never contains literals). */
export function shiftPlaceholders(fragment: SqlFragment, offset: number): SqlFragment {
  const text = fragment.text.replace(/\$(\d+)\b/g, (_m, n: string) => {
    const index = Number(n);
    if (index < 1 || index > fragment.values.length) {
      throw new QueryBuilderError(`fragment "${fragment.text}" uses $${index} but carries ${fragment.values.length} values`);
    }
    return `$${index + offset}`;
  });
  return { text, values: fragment.values };
}

export class QueryBuilder {
  private static readonly plain = new QueryBuilder();

  /** @param alias table alias or name to qualify columns with (e.g. 'p' for posts p in a join). */
  constructor(private readonly alias?: string) {
    if (alias !== undefined && !IDENTIFIER.test(alias)) throw new QueryBuilderError(`table alias must be a lower-case identifier, got "${alias}"`);
  }

  static for(alias: string): QueryBuilder {
    return new QueryBuilder(alias);
  }

  static dateRange(column: string, start?: Date | string, end?: Date | string): SqlFragment {
    return QueryBuilder.plain.dateRange(column, start, end);
  }

  static fullTextSearch(query: string): SqlFragment {
    return QueryBuilder.plain.fullTextSearch(query);
  }

  static workspaceFilter(workspaceId: number | bigint | string): SqlFragment {
    return QueryBuilder.plain.workspaceFilter(workspaceId);
  }

  static tagsContainAll(tags: readonly string[]): SqlFragment {
    return QueryBuilder.plain.tagsContainAll(tags);
  }

  static tagsOverlap(tags: readonly string[]): SqlFragment {
    return QueryBuilder.plain.tagsOverlap(tags);
  }

  static postSearch(workspaceId: number | bigint | string, criteria: PostSearchCriteria): SqlFragment {
    return QueryBuilder.plain.postSearch(workspaceId, criteria);
  }

  /** AND of the fragments, each parenthesized, placeholders renumbered; undefined entries are skipped (optional filters). */
  static combineFilters(...fragments: (SqlFragment | undefined)[]): SqlFragment {
    const present = fragments.filter((f): f is SqlFragment => f !== undefined);
    if (present.length === 0) return { text: 'TRUE', values: [] };
    const parts: string[] = [];
    const values: unknown[] = [];
    for (const fragment of present) {
      if (typeof fragment.text !== 'string' || !Array.isArray(fragment.values)) throw new QueryBuilderError('combineFilters takes { text, values } fragments');
      const shifted = shiftPlaceholders(fragment, values.length);
      parts.push(present.length === 1 ? shifted.text : `(${shifted.text})`);
      values.push(...fragment.values);
    }
    return { text: parts.join(' AND '), values };
  }

  /** Half-open range: start <= column < end, so adjacent ranges never count a row twice. Either end may be open. */
  dateRange(column: string, start?: Date | string, end?: Date | string): SqlFragment {
    const name = this.allowed(column, DATE_COLUMNS, 'dateRange');
    if (start === undefined && end === undefined) throw new QueryBuilderError('dateRange needs a start, an end, or both');
    const from = start === undefined ? undefined : toDate(start, 'dateRange start');
    const to = end === undefined ? undefined : toDate(end, 'dateRange end');
    if (from && to && from.getTime() > to.getTime()) throw new QueryBuilderError(`dateRange start ${from.toISOString()} is after end ${to.toISOString()}`);
    if (from && to) return { text: `${name} >= $1 AND ${name} < $2`, values: [from, to] };
    if (from) return { text: `${name} >= $1`, values: [from] };
    return { text: `${name} < $1`, values: [to] };
  }

  /**
   * Web-search syntax ("quoted phrase", OR, -excluded) against posts.search_vector, the stored
   * tsvector over title and content, row by row: posts has no search index (100), so use it on
   * rows another condition already narrowed, or use postSearch. The configuration must be the one
   * the column was built with ('english').
   */
  fullTextSearch(query: string): SqlFragment {
    if (typeof query !== 'string' || query.trim() === '') throw new QueryBuilderError('fullTextSearch needs a non-empty search string');
    if (query.length > MAX_SEARCH_LENGTH) throw new QueryBuilderError(`fullTextSearch query is longer than ${MAX_SEARCH_LENGTH} characters`);
    return { text: `${this.qualify('search_vector')} @@ websearch_to_tsquery('english', $1)`, values: [query.trim()] };
  }

  workspaceFilter(workspaceId: number | bigint | string): SqlFragment {
    const id = typeof workspaceId === 'number' ? (Number.isSafeInteger(workspaceId) ? String(workspaceId) : '') : String(workspaceId);
    if (!BIGINT_ID.test(id)) throw new QueryBuilderError(`workspaceFilter needs a positive whole-number workspace id, got ${JSON.stringify(String(workspaceId))}`);
    // Sent as text: a bigint above 2^53 would lose digits as a JS number.
    return { text: `${this.qualify('workspace_id')} = $1`, values: [id] };
  }

  /**
   * Posts of one workspace matching web-search text and/or carrying every given tag, through
   * public.post_search (097): its GIN index keys each word and tag with the workspace, so this
   * reads the workspace's postings of all time and none of other tenants'. Apply it to posts
   * (it filters on id); combine it with a date range to keep a big tenant's common word cheap.
   * posts itself has no search index since 100: a publish would write it.
   */
  postSearch(workspaceId: number | bigint | string, criteria: PostSearchCriteria): SqlFragment {
    const id = this.workspaceFilter(workspaceId).values[0];
    const parts: string[] = [];
    const values: unknown[] = [id];
    if (criteria.text !== undefined) {
      const text = this.fullTextSearch(criteria.text).values[0];
      values.push(text);
      parts.push(`public.post_search_words($1::bigint, websearch_to_tsquery('english', $${values.length}))`);
    }
    if (criteria.tags !== undefined) {
      values.push(tagList(criteria.tags, 'postSearch'));
      parts.push(`public.post_search_tags($1::bigint, $${values.length}::text[])`);
    }
    if (parts.length === 0) throw new QueryBuilderError('postSearch needs text, tags or both');
    return {
      // The keys carry the workspace, but a negation ('-word') matches every post without that key,
      // other tenants' included: the workspace is stated too.
      text: `${this.qualify('id')} IN (SELECT s.post_id FROM public.post_search s WHERE s.workspace_id = $1::bigint AND s.terms @@ (${parts.join(' && ')}))`,
      values,
    };
  }

  /** Rows whose tags include every given tag (GIN-indexable @>, e.g. campaigns.tags; for posts use postSearch). */
  tagsContainAll(tags: readonly string[]): SqlFragment {
    return { text: `${this.qualify('tags')} @> $1::text[]`, values: [tagList(tags, 'tagsContainAll')] };
  }

  /** Rows with at least one of the given tags (GIN-indexable &&, e.g. campaigns.tags). */
  tagsOverlap(tags: readonly string[]): SqlFragment {
    return { text: `${this.qualify('tags')} && $1::text[]`, values: [tagList(tags, 'tagsOverlap')] };
  }

  private qualify(column: string): string {
    return this.alias ? `${this.alias}.${column}` : column;
  }

  private allowed<T extends string>(column: string, allowList: readonly T[], what: string): string {
    const name = typeof column === 'string' ? snakeCase(column) : '';
    if (!(allowList as readonly string[]).includes(name)) {
      throw new QueryBuilderError(`${what}: column "${String(column)}" is not allowed; use one of ${allowList.join(', ')}`);
    }
    return this.qualify(name);
  }
}
