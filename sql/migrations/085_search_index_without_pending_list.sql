-- The search index writes straight into its tree: no pending list for every search to scan.
--
-- A GIN index with fastupdate (the default) appends new entries to an unsorted pending list and
-- merges it into the tree only at a vacuum or when the list passes gin_pending_list_limit (4 MB).
-- Every scan of the index reads the whole list, and a bitmap scan with = ANY reads it once per
-- listed key: tag_search and full_text_search list a key per month. Measured at the medium scale
-- (1 M posts): with 10,000 posts just inserted (456 pending pages), full_text_search p95 went from
-- 26 ms to 252 ms and tag_search from 12 ms to 199 ms; after the list was merged both came back.
-- At the spec's 11.6 posts a second the list is never empty, so every search paid some of this.
--
-- The price is paid by the writers: each new or non-HOT-updated post inserts its entries into the
-- tree at once. Measured on the same data: 10,000 posts inserted in 3.2 s, against 1.8 s plus
-- 0.23 s for the later merge with the list.
ALTER INDEX public.posts_workspace_month_search_gin_idx SET (fastupdate = off);

-- What the list already holds is still scanned until it is merged; merge it now.
SELECT gin_clean_pending_list('public.posts_workspace_month_search_gin_idx'::regclass);
