-- name: tag_search
-- description: Content library tag filter: a workspace's posts carrying every one of the chosen tags (array contains), newest first.
-- expects-index: posts_workspace_period_search_gin_idx
-- param: $1 workspace_id bigint: the workspace whose library is searched
-- param: $2 tags text[]: tags the posts must all carry, e.g. {launch} or {launch,video}
-- param: $3 row_limit integer: posts per page, 25 typically (1-100)
-- Neither index gives "matching tags" and "newest first" together: walking the posts newest
-- first reads the whole history for a rare tag, and the tag index finds every match of all time
-- before sorting them. So the tenant's history is walked newest first, one GIN probe per step
-- (088's time keys ANDed with the tags), each step keeping its newest matches, until a page is
-- found. The steps: the month of the tenant's newest post and the 12 before it one by one (the
-- (workspace, month) key of 015), then a year at a time (the (workspace, year) key of 016,
-- before those months) back to the tenant's oldest post. A rare tag pays a probe per year of
-- history, not a read of every match of all time. Exact: the steps are disjoint and in time
-- order, so the newest row_limit matches are among the ids the walk kept; the page reads those
-- by primary key.
WITH RECURSIVE span AS MATERIALIZED (
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
                     AND x.tags @> $2::text[]
                   ORDER BY x.created_at DESC, x.id DESC
                   LIMIT $3::integer) AS ids
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
                     AND x.tags @> $2::text[]
                   ORDER BY x.created_at DESC, x.id DESC
                   LIMIT $3::integer - w.found)
      WHERE w.months_back < 12
        AND public.post_month_bucket($1::bigint, s.newest) - (w.months_back + 1) >= public.post_month_bucket($1::bigint, s.oldest)
     UNION ALL
     SELECT w.months_back, w.years_back + 1,
            ARRAY(SELECT x.id FROM public.posts x
                   WHERE public.post_year_bucket(x.workspace_id, x.created_at) = public.post_year_bucket($1::bigint, s.years_before) - w.years_back
                     AND x.created_at < s.years_before
                     AND x.tags @> $2::text[]
                   ORDER BY x.created_at DESC, x.id DESC
                   LIMIT $3::integer - w.found)
      WHERE w.months_back = 12
        AND public.post_year_bucket($1::bigint, s.years_before) - w.years_back >= public.post_year_bucket($1::bigint, s.oldest)
     OFFSET 0 -- as above
   ) n (months_back, years_back, ids)
   WHERE w.found < $3::integer
)
SELECT x.id, x.title, x.status, x.tags, x.scheduled_at, x.published_at, x.created_at
  FROM public.posts x
 WHERE x.id = ANY (ARRAY(SELECT unnest(w.ids) FROM walk w))
 ORDER BY x.created_at DESC, x.id DESC
 LIMIT $3::integer;
