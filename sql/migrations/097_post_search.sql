-- Search lives in a table of its own, public.post_search, with the tenant in every search key.
--
-- Two costs came from keeping the search GIN on posts (088):
--   * Every publish rewrote it. A status change is a non-HOT update of posts (status and
--     updated_at are indexed), and a non-HOT update inserts the new row version into every index,
--     so each publish put the post's tags and words into the GIN again: measured on the medium
--     data, 724 ms against 348 ms for the same 5,000 status updates without it (75 us a post of
--     the queue's report). Search columns change when a post is written, not when it is published.
--   * A probe could not be cheap. The index keyed tags and words across all tenants, so a probe of
--     one tenant's month ANDed the month key with each word's posting list over every tenant: 24
--     buffers for an empty month, about 0.25 ms, for the two common words of a query (measured),
--     13 of them before the years.
-- Here each key carries its workspace ('<workspace>_<lexeme>' for a word, '<workspace>#<tag>' for
-- a tag), so a probe reads only that tenant's posting lists. The index (099) holds the month and
-- year keys of 015/016 next to these terms. The posts of a month are still found by the month key;
-- the terms narrow them to the tenant's matches without touching other tenants' entries.
--
-- The searches themselves are functions (search_posts, search_posts_by_tags): the walk over months
-- and years is a loop whose statements keep their plans for the session's life. Planned per call,
-- the one-statement walk of 088 spent 1.5-2 ms planning (measured); a prepared statement would
-- keep the plan too, but pins the session behind RDS Proxy, and a function's plans live in the
-- server process, whichever client borrowed it.

-- ---------------------------------------------------------------------------------------------
-- Keys
-- ---------------------------------------------------------------------------------------------
-- Escape a lexeme or tag for the text form of tsvector/tsquery: inside single quotes, a quote is
-- doubled and a backslash escaped.
CREATE FUNCTION public.post_search_quote(p_text text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT '''' || replace(replace(p_text, '\', '\\'), '''', '''''') || ''''
$$;

-- A post's search terms: each word of the stored tsvector (positions and weights kept, so a phrase
-- and the rank work on them as on the original) and each tag, prefixed with the workspace. The
-- text form of a tsvector already quotes every lexeme, so the prefix goes inside each quote. A key
-- may hold 2046 bytes: a word or tag over 2000 bytes (to_tsvector keeps words up to 2047) is left
-- out rather than failing the write of its post.
CREATE FUNCTION public.post_search_terms(p_workspace_id bigint, p_tags text[], p_vector tsvector) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (coalesce(regexp_replace(ts_delete(p_vector, ARRAY(SELECT u.lexeme FROM unnest(p_vector) u WHERE octet_length(u.lexeme) > 2000))::text,
                                  '''((?:[^'']|'''')*)''', '''' || p_workspace_id || '_\1''', 'g'), '')
          || ' ' ||
          coalesce((SELECT string_agg(public.post_search_quote(p_workspace_id || '#' || t), ' ') FROM unnest(p_tags) t
                     WHERE octet_length(t) <= 2000), ''))::tsvector
$$;
COMMENT ON FUNCTION public.post_search_terms(bigint, text[], tsvector) IS
  'search: a post''s words (with positions and weights) and tags as keys of its workspace, ''<workspace>_<lexeme>'' and ''<workspace>#<tag>'' (public.post_search.terms)';

-- A query over those terms: every lexeme of the tsquery prefixed the same way (operators, phrases
-- and negations unchanged). NULL for a query without lexemes (only stop words): it matches nothing.
CREATE FUNCTION public.post_search_words(p_workspace_id bigint, p_query tsquery) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN numnode(p_query) > 0
              THEN regexp_replace(p_query::text, '''((?:[^'']|'''')*)''', '''' || p_workspace_id || '_\1''', 'g')::tsquery END
$$;
COMMENT ON FUNCTION public.post_search_words(bigint, tsquery) IS
  'search: a tsquery over public.post_search.terms of one workspace (its lexemes keyed like post_search_terms); NULL when it has no lexeme';

-- Posts carrying every one of the tags. NULL for no tag (every post: there is no key to probe).
CREATE FUNCTION public.post_search_tags(p_workspace_id bigint, p_tags text[]) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT string_agg(public.post_search_quote(p_workspace_id || '#' || t), ' & ')::tsquery FROM unnest(p_tags) t
$$;
COMMENT ON FUNCTION public.post_search_tags(bigint, text[]) IS
  'search: a tsquery over public.post_search.terms of one workspace: every given tag; NULL for none';

-- ---------------------------------------------------------------------------------------------
-- The table
-- ---------------------------------------------------------------------------------------------
CREATE TABLE public.post_search (
  post_id       bigint PRIMARY KEY REFERENCES public.posts (id) ON DELETE CASCADE,
  workspace_id  bigint NOT NULL,
  created_at    timestamptz NOT NULL,
  terms         tsvector NOT NULL
);
COMMENT ON TABLE public.post_search IS
  'search: one row per post, its words and tags as keys of its workspace (post_search_terms); kept from posts by triggers, read by search_posts and search_posts_by_tags';

-- Kept from posts, whoever writes them. A bulk insert is one statement here. An update is looked at
-- only when it sets a searched column, and acts only when one changed: a publish sets none.
CREATE FUNCTION dbops.post_search_on_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  INSERT INTO public.post_search (post_id, workspace_id, created_at, terms)
  SELECT n.id, n.workspace_id, n.created_at, public.post_search_terms(n.workspace_id, n.tags, n.search_vector)
    FROM new_rows n;
  RETURN NULL;
END;
$$;

CREATE FUNCTION dbops.post_search_on_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  -- An upsert: a post the backfill (098) has not reached yet is written here, and the backfill then
  -- leaves it alone.
  INSERT INTO public.post_search AS s (post_id, workspace_id, created_at, terms)
  VALUES (NEW.id, NEW.workspace_id, NEW.created_at, public.post_search_terms(NEW.workspace_id, NEW.tags, NEW.search_vector))
  ON CONFLICT (post_id) DO UPDATE
    SET workspace_id = EXCLUDED.workspace_id, created_at = EXCLUDED.created_at, terms = EXCLUDED.terms;
  RETURN NULL;
END;
$$;

CREATE TRIGGER posts_search_insert AFTER INSERT ON public.posts
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION dbops.post_search_on_insert();
CREATE TRIGGER posts_search_update AFTER UPDATE OF workspace_id, created_at, tags, title, content ON public.posts
  FOR EACH ROW
  WHEN (OLD.workspace_id IS DISTINCT FROM NEW.workspace_id OR OLD.created_at IS DISTINCT FROM NEW.created_at
        OR OLD.tags IS DISTINCT FROM NEW.tags OR OLD.search_vector IS DISTINCT FROM NEW.search_vector)
  EXECUTE FUNCTION dbops.post_search_on_update();

-- The rows of posts that existed before the triggers, a batch per transaction (098 calls it; it is
-- also the repair after a restore of one table without the other). A post's row once there is left
-- alone: the triggers keep it.
-- No SET clause: a procedure with one may not COMMIT. Every name in it is qualified.
CREATE PROCEDURE dbops.post_search_backfill(p_batch integer DEFAULT 50000)
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
    -- In creation order within the batch, as posts arrive: a search visits a tenant's recent rows.
    INSERT INTO public.post_search (post_id, workspace_id, created_at, terms)
    SELECT p.id, p.workspace_id, p.created_at, public.post_search_terms(p.workspace_id, p.tags, p.search_vector)
      FROM public.posts p
     WHERE p.id > v_from AND p.id <= v_from + p_batch
     ORDER BY p.created_at, p.id
    ON CONFLICT (post_id) DO NOTHING;
    v_from := v_from + p_batch;
    COMMIT;
  END LOOP;
END;
$$;
REVOKE EXECUTE ON PROCEDURE dbops.post_search_backfill(integer) FROM PUBLIC;

-- Written only through the triggers: the application reads it (the search functions run with its
-- rights) but may not write it, or a search could disagree with the post.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'platform_app') THEN
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON public.post_search FROM platform_app;
    GRANT SELECT ON public.post_search TO platform_app;
  END IF;
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

-- Where the walk starts and stops: the tenant's newest and oldest post.
CREATE FUNCTION public.post_search_span(p_workspace_id bigint, OUT newest timestamptz, OUT oldest timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT max(x.created_at), min(x.created_at) FROM public.posts x WHERE x.workspace_id = p_workspace_id
$$;

-- full_text_search: the best p_limit (title hits weigh more) of the tenant's newest 200 matches of
-- a web-style query. The rank is taken in the walk from the keyed terms (same positions and
-- weights, so the same value as ts_rank_cd on posts.search_vector), and only the page is read from
-- posts.
CREATE FUNCTION public.search_posts(p_workspace_id bigint, p_search text, p_limit integer)
RETURNS TABLE (id bigint, title text, status public.post_status, created_at timestamptz, rank real)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  c_matches CONSTANT integer := 200;
  v_words tsquery;
  v_newest timestamptz;
  v_oldest timestamptz;
  v_month bigint;
  v_first_month bigint;
  v_years_before timestamptz;
  v_year bigint;
  v_first_year bigint;
  v_ids bigint[] := '{}';
  v_ranks real[] := '{}';
  v_step record;
  k integer;
BEGIN
  IF p_workspace_id IS NULL OR p_search IS NULL THEN
    RAISE EXCEPTION 'search_posts: workspace id and search text are required' USING ERRCODE = '22004';
  END IF;
  IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND c_matches THEN
    RAISE EXCEPTION 'search_posts: limit must be 1-%, got %', c_matches, coalesce(p_limit::text, 'NULL') USING ERRCODE = '22023';
  END IF;
  v_words := public.post_search_words(p_workspace_id, websearch_to_tsquery('english', p_search));
  SELECT s.newest, s.oldest INTO v_newest, v_oldest FROM public.post_search_span(p_workspace_id) s;
  IF v_words IS NULL OR v_newest IS NULL THEN
    RETURN;
  END IF;
  v_month := public.post_month_bucket(p_workspace_id, v_newest);
  v_first_month := public.post_month_bucket(p_workspace_id, v_oldest);
  FOR k IN 0..12 LOOP
    EXIT WHEN cardinality(v_ids) >= c_matches OR v_month - k < v_first_month;
    SELECT array_agg(m.post_id) AS ids, array_agg(ts_rank_cd(m.terms, v_words)) AS ranks INTO v_step
      FROM (SELECT x.post_id, x.terms FROM public.post_search x
             WHERE public.post_month_bucket(x.workspace_id, x.created_at) = v_month - k AND x.terms @@ v_words
             ORDER BY x.created_at DESC, x.post_id DESC
             LIMIT c_matches - cardinality(v_ids)) m;
    v_ids := v_ids || coalesce(v_step.ids, '{}');
    v_ranks := v_ranks || coalesce(v_step.ranks, '{}');
  END LOOP;
  IF cardinality(v_ids) < c_matches AND v_month - 13 >= v_first_month THEN
    -- The years cover only what lies before the 13 months just walked.
    v_years_before := (date_trunc('month', v_newest AT TIME ZONE 'UTC') - interval '12 months') AT TIME ZONE 'UTC';
    v_year := public.post_year_bucket(p_workspace_id, v_years_before);
    v_first_year := public.post_year_bucket(p_workspace_id, v_oldest);
    FOR k IN 0..(v_year - v_first_year) LOOP
      EXIT WHEN cardinality(v_ids) >= c_matches;
      SELECT array_agg(m.post_id) AS ids, array_agg(ts_rank_cd(m.terms, v_words)) AS ranks INTO v_step
        FROM (SELECT x.post_id, x.terms FROM public.post_search x
               WHERE public.post_year_bucket(x.workspace_id, x.created_at) = v_year - k AND x.terms @@ v_words
                 AND x.created_at < v_years_before
               ORDER BY x.created_at DESC, x.post_id DESC
               LIMIT c_matches - cardinality(v_ids)) m;
      v_ids := v_ids || coalesce(v_step.ids, '{}');
      v_ranks := v_ranks || coalesce(v_step.ranks, '{}');
    END LOOP;
  END IF;
  RETURN QUERY
  SELECT p.id, p.title, p.status, p.created_at, b.rank
    FROM (SELECT u.post_id, u.rank FROM unnest(v_ids, v_ranks) AS u (post_id, rank)
           ORDER BY u.rank DESC, u.post_id DESC LIMIT p_limit) b
    JOIN public.posts p ON p.id = b.post_id
   ORDER BY b.rank DESC, p.id DESC;
END;
$$;
COMMENT ON FUNCTION public.search_posts(bigint, text, integer) IS
  'full_text_search.sql: the best p_limit of a workspace''s newest 200 posts matching websearch_to_tsquery(''english'', p_search), walking its months and years newest first';

-- tag_search: the tenant's newest p_limit posts carrying every given tag. No tag: its newest posts.
CREATE FUNCTION public.search_posts_by_tags(p_workspace_id bigint, p_tags text[], p_limit integer)
RETURNS TABLE (id bigint, title text, status public.post_status, tags text[], scheduled_at timestamptz,
               published_at timestamptz, created_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_tags tsquery;
  v_newest timestamptz;
  v_oldest timestamptz;
  v_month bigint;
  v_first_month bigint;
  v_years_before timestamptz;
  v_year bigint;
  v_first_year bigint;
  v_ids bigint[] := '{}';
  k integer;
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
  v_tags := public.post_search_tags(p_workspace_id, p_tags);
  SELECT s.newest, s.oldest INTO v_newest, v_oldest FROM public.post_search_span(p_workspace_id) s;
  IF v_newest IS NULL THEN
    RETURN;
  END IF;
  v_month := public.post_month_bucket(p_workspace_id, v_newest);
  v_first_month := public.post_month_bucket(p_workspace_id, v_oldest);
  FOR k IN 0..12 LOOP
    EXIT WHEN cardinality(v_ids) >= p_limit OR v_month - k < v_first_month;
    v_ids := v_ids || ARRAY(SELECT x.post_id FROM public.post_search x
                             WHERE public.post_month_bucket(x.workspace_id, x.created_at) = v_month - k AND x.terms @@ v_tags
                             ORDER BY x.created_at DESC, x.post_id DESC
                             LIMIT p_limit - cardinality(v_ids));
  END LOOP;
  IF cardinality(v_ids) < p_limit AND v_month - 13 >= v_first_month THEN
    v_years_before := (date_trunc('month', v_newest AT TIME ZONE 'UTC') - interval '12 months') AT TIME ZONE 'UTC';
    v_year := public.post_year_bucket(p_workspace_id, v_years_before);
    v_first_year := public.post_year_bucket(p_workspace_id, v_oldest);
    FOR k IN 0..(v_year - v_first_year) LOOP
      EXIT WHEN cardinality(v_ids) >= p_limit;
      v_ids := v_ids || ARRAY(SELECT x.post_id FROM public.post_search x
                               WHERE public.post_year_bucket(x.workspace_id, x.created_at) = v_year - k AND x.terms @@ v_tags
                                 AND x.created_at < v_years_before
                               ORDER BY x.created_at DESC, x.post_id DESC
                               LIMIT p_limit - cardinality(v_ids));
    END LOOP;
  END IF;
  RETURN QUERY
  SELECT p.id, p.title, p.status, p.tags, p.scheduled_at, p.published_at, p.created_at
    FROM public.posts p
   WHERE p.id = ANY (v_ids)
   ORDER BY p.created_at DESC, p.id DESC;
END;
$$;
COMMENT ON FUNCTION public.search_posts_by_tags(bigint, text[], integer) IS
  'tag_search.sql: a workspace''s newest p_limit posts whose tags contain every given tag, walking its months and years newest first';
