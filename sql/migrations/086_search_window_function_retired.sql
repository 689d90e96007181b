-- tag_search and full_text_search walk the months one key at a time (their query files); the list
-- of a window's month keys that their window ladder used (015) has no caller left.
DROP FUNCTION IF EXISTS public.post_month_buckets(bigint, timestamptz);
