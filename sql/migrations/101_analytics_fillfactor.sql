-- The analytics relations' rows are rewritten in place by every refresh that touches their bucket
-- (a recent post's rollup and totals each hour as its metrics come in, a day's listening and
-- activity while the day lasts), and none of those writes changes an indexed column. With full
-- pages each such update was non-HOT, a new entry in every index of the relation: measured on the
-- medium data, 144 of 136,356 updates of dbops.analytics_post_days were HOT, 0 of 39,348 of
-- analytics_post_engagement. A fifth of each page left free keeps the new version on its page.
-- It applies to pages written from now on; a full rebuild or VACUUM FULL would repack the old.
DO $$
DECLARE
  v_relation regclass;
BEGIN
  FOR v_relation IN SELECT to_regclass(view_name) FROM dbops.analytics_relations WHERE to_regclass(view_name) IS NOT NULL ORDER BY view_id
  LOOP
    EXECUTE format('ALTER TABLE %s SET (fillfactor = 80)', v_relation);
  END LOOP;
END;
$$;
