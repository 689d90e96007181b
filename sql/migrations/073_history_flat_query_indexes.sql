-- dbops:no-transaction
-- Query patterns whose cost must not follow history (issue 11), built CONCURRENTLY.
--
-- inbox_filter_sort filters on a set of priorities and sorts by last activity. With no index
-- serving both, the planner read every conversation of those priorities older than the cursor
-- (conversations_open_priority_idx) and sorted them: that grows with history. With this index the
-- query takes one ordered, LIMITed walk per priority and merges them: priorities x page_size
-- entries, whatever the history.
CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_inbox_priority_idx
  ON public.conversations (workspace_id, status, priority, last_message_at DESC, id DESC);
COMMENT ON INDEX public.conversations_inbox_priority_idx IS
  'inbox: one priority of a workspace''s conversations in one status, latest activity first, keyset paginated; one walk per chosen priority (inbox_filter_sort.sql)';
