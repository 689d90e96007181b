-- Review of 097 (post_search), as a migration of its own: 097 may already have run.
--   * One walk under both searches. search_posts and search_posts_by_tags each carried the same
--     walk over months and years; post_search_newest is that walk once, and both call it. The
--     tenant's span it reads moves into it (post_search_span goes).
--   * One keying helper (post_search_prefixed) under the terms and the query forms, so the two
--     cannot key lexemes differently.
--   * The backfill survives a post deleted while a batch runs: the batch's key check fails at the
--     statement's end, and the batch is taken again from a snapshot without that post. Locking the
--     batch's posts instead (FOR KEY SHARE) would write a lock into every post of the table. 098
--     ran 097's form, which stops on that error instead; run again, it skips the rows already written.
-- The searches return the same rows (test/sql/search-queries.test.ts compares them with the plain
-- forms in sql/queries/baseline/); CREATE OR REPLACE keeps their grants.

-- Every quoted lexeme of a tsvector's or tsquery's text form, with the prefix put inside its quotes
-- (operators, positions and weights, which stand outside the quotes, unchanged).
CREATE FUNCTION public.post_search_prefixed(p_text text, p_prefix text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT regexp_replace(p_text, '''((?:[^'']|'''')*)''', '''' || p_prefix || '\1''', 'g')
$$;

-- A post's search terms: each word of the stored tsvector (positions and weights kept, so a phrase
-- and the rank work on them as on the original) and each tag, prefixed with the workspace. The
-- text form of a tsvector already quotes every lexeme, so the prefix goes inside each quote. A key
-- may hold 2046 bytes: a word or tag over 2000 bytes (to_tsvector keeps words up to 2047) is left
-- out rather than failing the write of its post.
CREATE OR REPLACE FUNCTION public.post_search_terms(p_workspace_id bigint, p_tags text[], p_vector tsvector) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (coalesce(public.post_search_prefixed(ts_delete(p_vector, ARRAY(SELECT u.lexeme FROM unnest(p_vector) u WHERE octet_length(u.lexeme) > 2000))::text,
                                              p_workspace_id || '_'), '')
          || ' ' ||
          coalesce((SELECT string_agg(public.post_search_quote(p_workspace_id || '#' || t), ' ') FROM unnest(p_tags) t
                     WHERE octet_length(t) <= 2000), ''))::tsvector
$$;
COMMENT ON FUNCTION public.post_search_terms(bigint, text[], tsvector) IS
  'search: a post''s words (with positions and weights) and tags as keys of its workspace, ''<workspace>_<lexeme>'' and ''<workspace>#<tag>'' (public.post_search.terms)';

-- A query over those terms: every lexeme of the tsquery prefixed the same way (operators, phrases
-- and negations unchanged). NULL for a query without lexemes (only stop words): it matches nothing.
CREATE OR REPLACE FUNCTION public.post_search_words(p_workspace_id bigint, p_query tsquery) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN numnode(p_query) > 0
              THEN public.post_search_prefixed(p_query::text, p_workspace_id || '_')::tsquery END
$$;
COMMENT ON FUNCTION public.post_search_words(bigint, tsquery) IS
  'search: a tsquery over public.post_search.terms of one workspace (its lexemes keyed like post_search_terms); NULL when it has no lexeme';


-- The rows of posts that existed before the triggers, a batch per transaction (098 calls it). A
-- post's row once there is left alone: the triggers keep it, and a row written from an older
-- snapshot could overwrite a newer one. So it also restores rows that are missing (a post_search
-- restored without its posts), but a row out of step must be deleted first to be written again.
-- No SET clause: a procedure with one may not COMMIT. Every name in it is qualified.
CREATE OR REPLACE PROCEDURE dbops.post_search_backfill(p_batch integer DEFAULT 50000)
LANGUAGE plpgsql AS $$
DECLARE
  v_from bigint := 0;
  v_last bigint;
BEGIN
  IF p_batch IS NULL OR p_batch NOT BETWEEN 1 AND 1000000 THEN
    RAISE EXCEPTION 'post_search_backfill: batch must be 1-1000000 posts, got %', coalesce(p_batch::text, 'NULL') USING ERRCODE = '22023';
  END IF;
  SELECT max(id) INTO v_last FROM public.posts;
  WHILE v_from < coalesce(v_last, 0) LOOP
    BEGIN
      -- In creation order within the batch, as posts arrive: a search visits a tenant's recent rows.
      INSERT INTO public.post_search (post_id, workspace_id, created_at, terms)
      SELECT p.id, p.workspace_id, p.created_at, public.post_search_terms(p.workspace_id, p.tags, p.search_vector)
        FROM public.posts p
       WHERE p.id > v_from AND p.id <= v_from + p_batch
       ORDER BY p.created_at, p.id
      ON CONFLICT (post_id) DO NOTHING;
      v_from := v_from + p_batch;
    EXCEPTION WHEN foreign_key_violation THEN
      -- A post of the batch was deleted while it ran (the key is checked at the statement's end):
      -- the batch is taken again, from a snapshot without it. Locking the rows instead (FOR KEY
      -- SHARE) would write a lock into every post of the table.
      NULL;
    END;
    -- Outside the block: a block with an exception handler may not end the transaction.
    COMMIT;
  END LOOP;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- The searches
-- ---------------------------------------------------------------------------------------------
-- A GIN index finds matches but not in time order, and cannot stop early. So a tenant's history
-- is walked newest first, one probe per step, each step keeping its newest matches, until enough
-- are kept: the month of the tenant's newest post and the 12 before it one by one, then a year at
-- a time (before those months) back to its oldest post. The steps are disjoint and in time order,
-- so the newest matches are the ones the walk kept, in walk order. A rare term pays a probe per
-- year of history, each reading only this tenant's posting lists (097's keys).

-- The newest p_count posts of a workspace matching p_query over post_search.terms, newest first,
-- with their terms: the walk both searches share. A NULL query matches nothing.
CREATE FUNCTION public.post_search_newest(p_workspace_id bigint, p_query tsquery, p_count integer)
RETURNS TABLE (post_id bigint, terms tsvector)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_newest timestamptz;
  v_oldest timestamptz;
  v_month bigint;
  v_first_month bigint;
  v_years_before timestamptz;
  v_year bigint;
  v_first_year bigint;
  v_found integer := 0;
  v_step integer;
  k integer;
BEGIN
  -- Where the walk starts and stops: the tenant's newest and oldest post (posts_workspace_created_idx).
  SELECT max(x.created_at), min(x.created_at) INTO v_newest, v_oldest FROM public.posts x WHERE x.workspace_id = p_workspace_id;
  IF p_query IS NULL OR v_newest IS NULL THEN
    RETURN;
  END IF;
  v_month := public.post_month_bucket(p_workspace_id, v_newest);
  v_first_month := public.post_month_bucket(p_workspace_id, v_oldest);
  FOR k IN 0..12 LOOP
    EXIT WHEN v_found >= p_count OR v_month - k < v_first_month;
    RETURN QUERY
    SELECT x.post_id, x.terms FROM public.post_search x
     WHERE public.post_month_bucket(x.workspace_id, x.created_at) = v_month - k AND x.terms @@ p_query
     ORDER BY x.created_at DESC, x.post_id DESC
     LIMIT p_count - v_found;
    GET DIAGNOSTICS v_step = ROW_COUNT;
    v_found := v_found + v_step;
  END LOOP;
  IF v_found < p_count AND v_month - 13 >= v_first_month THEN
    -- The years cover only what lies before the 13 months just walked.
    v_years_before := (date_trunc('month', v_newest AT TIME ZONE 'UTC') - interval '12 months') AT TIME ZONE 'UTC';
    v_year := public.post_year_bucket(p_workspace_id, v_years_before);
    v_first_year := public.post_year_bucket(p_workspace_id, v_oldest);
    FOR k IN 0..(v_year - v_first_year) LOOP
      EXIT WHEN v_found >= p_count;
      RETURN QUERY
      SELECT x.post_id, x.terms FROM public.post_search x
       WHERE public.post_year_bucket(x.workspace_id, x.created_at) = v_year - k AND x.terms @@ p_query
         AND x.created_at < v_years_before
       ORDER BY x.created_at DESC, x.post_id DESC
       LIMIT p_count - v_found;
      GET DIAGNOSTICS v_step = ROW_COUNT;
      v_found := v_found + v_step;
    END LOOP;
  END IF;
END;
$$;
COMMENT ON FUNCTION public.post_search_newest(bigint, tsquery, integer) IS
  'search: a workspace''s newest p_count posts whose keyed terms match p_query, walking its months and years newest first (search_posts, search_posts_by_tags)';

-- full_text_search: the best p_limit (title hits weigh more) of the tenant's newest 200 matches of
-- a web-style query. The rank is taken from the keyed terms (same positions and weights, so the
-- same value as ts_rank_cd on posts.search_vector), and only the page is read from posts.
CREATE OR REPLACE FUNCTION public.search_posts(p_workspace_id bigint, p_search text, p_limit integer)
RETURNS TABLE (id bigint, title text, status public.post_status, created_at timestamptz, rank real)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  c_matches CONSTANT integer := 200;
  v_words tsquery;
BEGIN
  IF p_workspace_id IS NULL OR p_search IS NULL THEN
    RAISE EXCEPTION 'search_posts: workspace id and search text are required' USING ERRCODE = '22004';
  END IF;
  IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND c_matches THEN
    RAISE EXCEPTION 'search_posts: limit must be 1-%, got %', c_matches, coalesce(p_limit::text, 'NULL') USING ERRCODE = '22023';
  END IF;
  v_words := public.post_search_words(p_workspace_id, websearch_to_tsquery('english', p_search));
  RETURN QUERY
  SELECT p.id, p.title, p.status, p.created_at, b.rank
    FROM (SELECT w.post_id, ts_rank_cd(w.terms, v_words) AS rank
            FROM public.post_search_newest(p_workspace_id, v_words, c_matches) w
           ORDER BY 2 DESC, 1 DESC
           LIMIT p_limit) b
    JOIN public.posts p ON p.id = b.post_id
   ORDER BY b.rank DESC, p.id DESC;
END;
$$;
COMMENT ON FUNCTION public.search_posts(bigint, text, integer) IS
  'full_text_search.sql: the best p_limit of a workspace''s newest 200 posts matching websearch_to_tsquery(''english'', p_search)';

-- tag_search: the tenant's newest p_limit posts carrying every given tag. No tag: its newest posts.
CREATE OR REPLACE FUNCTION public.search_posts_by_tags(p_workspace_id bigint, p_tags text[], p_limit integer)
RETURNS TABLE (id bigint, title text, status public.post_status, tags text[], scheduled_at timestamptz,
               published_at timestamptz, created_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF p_workspace_id IS NULL OR p_tags IS NULL OR array_position(p_tags, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'search_posts_by_tags: workspace id and tags (no NULL among them) are required' USING ERRCODE = '22004';
  END IF;
  IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
    RAISE EXCEPTION 'search_posts_by_tags: limit must be 1-1000, got %', coalesce(p_limit::text, 'NULL') USING ERRCODE = '22023';
  END IF;
  IF cardinality(p_tags) = 0 THEN
    RETURN QUERY
    SELECT p.id, p.title, p.status, p.tags, p.scheduled_at, p.published_at, p.created_at
      FROM public.posts p WHERE p.workspace_id = p_workspace_id
     ORDER BY p.created_at DESC, p.id DESC LIMIT p_limit;
    RETURN;
  END IF;
  RETURN QUERY
  SELECT p.id, p.title, p.status, p.tags, p.scheduled_at, p.published_at, p.created_at
    FROM public.posts p
   WHERE p.id IN (SELECT w.post_id FROM public.post_search_newest(p_workspace_id, public.post_search_tags(p_workspace_id, p_tags), p_limit) w)
   ORDER BY p.created_at DESC, p.id DESC;
END;
$$;
COMMENT ON FUNCTION public.search_posts_by_tags(bigint, text[], integer) IS
  'tag_search.sql: a workspace''s newest p_limit posts whose tags contain every given tag';

DROP FUNCTION public.post_search_span(bigint);
