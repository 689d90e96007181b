-- name: full_text_search
-- description: Content search box: a workspace's posts matching a web-style query (words, "phrases", OR, -exclusions) in title or content, best matches first (title hits weigh more) among the newest 200 matches. Product choice: a common word matches tens of thousands of a big tenant's posts; ranking them all costs a heap visit each, so the page shows the best of the most recent 200 matches, and a narrower query reaches older posts.
-- expects-index: posts_workspace_period_search_gin_idx
-- param: $1 workspace_id bigint: the workspace whose posts are searched
-- param: $2 search text: what the user typed, e.g. summer sale or "product launch" -webinar (websearch_to_tsquery syntax, English stemming)
-- param: $3 row_limit integer: results per page, 20 typically (1-100)
-- The newest 200 matches without reading all of them: the GIN index finds matches but not in
-- time order. So the tenant's history is walked newest first, one GIN probe per step (088's time
-- keys ANDed with the words), each step keeping its newest matches, until there are 200: the
-- month of the tenant's newest post and the 12 before it one by one ((workspace, month) key),
-- then a year at a time ((workspace, year) key, before those months) back to its oldest post.
-- A rare phrase pays a probe per year of history, not a read of every match of all time. Exact:
-- the steps are disjoint and in time order, so the newest 200 matches are the ids the walk kept;
-- only those are read again (by primary key) and ranked.
WITH RECURSIVE q AS MATERIALIZED (
  SELECT websearch_to_tsquery('english', $2::text) AS query
),
span AS MATERIALIZED (
  SELECT max(x.created_at) AS newest, min(x.created_at) AS oldest,
         -- The start of the 13th month back from the newest post's: the years walked after the
         -- months cover only what lies before it.
         (date_trunc('month', max(x.created_at) AT TIME ZONE 'UTC') - interval '12 months') AT TIME ZONE 'UTC' AS years_before
    FROM public.posts x
   WHERE x.workspace_id = $1::bigint
),
walk (months_back, years_back, found, ids) AS (
  SELECT 0, 0, cardinality(m.ids), m.ids
    FROM span s
   CROSS JOIN LATERAL (
     SELECT ARRAY(SELECT x.id FROM public.posts x
                   WHERE public.post_month_bucket(x.workspace_id, x.created_at) = public.post_month_bucket($1::bigint, s.newest)
                     AND x.search_vector @@ (SELECT query FROM q)
                   ORDER BY x.created_at DESC, x.id DESC
                   LIMIT 200) AS ids
     -- OFFSET 0 keeps this a subquery: flattened, its ARRAY() would run once per use of ids.
     OFFSET 0) m
   WHERE s.newest IS NOT NULL
  UNION ALL
  SELECT n.months_back, n.years_back, w.found + cardinality(n.ids), n.ids
    FROM walk w
   CROSS JOIN span s
   CROSS JOIN LATERAL (
     SELECT w.months_back + 1, 0,
            ARRAY(SELECT x.id FROM public.posts x
                   WHERE public.post_month_bucket(x.workspace_id, x.created_at) = public.post_month_bucket($1::bigint, s.newest) - (w.months_back + 1)
                     AND x.search_vector @@ (SELECT query FROM q)
                   ORDER BY x.created_at DESC, x.id DESC
                   LIMIT 200 - w.found)
      WHERE w.months_back < 12
        AND public.post_month_bucket($1::bigint, s.newest) - (w.months_back + 1) >= public.post_month_bucket($1::bigint, s.oldest)
     UNION ALL
     SELECT w.months_back, w.years_back + 1,
            ARRAY(SELECT x.id FROM public.posts x
                   WHERE public.post_year_bucket(x.workspace_id, x.created_at) = public.post_year_bucket($1::bigint, s.years_before) - w.years_back
                     AND x.created_at < s.years_before
                     AND x.search_vector @@ (SELECT query FROM q)
                   ORDER BY x.created_at DESC, x.id DESC
                   LIMIT 200 - w.found)
      WHERE w.months_back = 12
        AND public.post_year_bucket($1::bigint, s.years_before) - w.years_back >= public.post_year_bucket($1::bigint, s.oldest)
     OFFSET 0 -- as above
   ) n (months_back, years_back, ids)
   WHERE w.found < 200
)
SELECT p.id, p.title, p.status, p.created_at, ts_rank_cd(p.search_vector, (SELECT query FROM q)) AS rank
  FROM public.posts p
 WHERE p.id = ANY (ARRAY(SELECT unnest(w.ids) FROM walk w))
 ORDER BY rank DESC, p.id DESC
 LIMIT $3::integer;
