-- dbops:no-transaction
-- post_search (097): the rows of the posts that existed before its triggers. The backfill commits
-- a batch at a time, so it holds no lock on posts and no long transaction; a post written meanwhile
-- was already put there by the triggers and is left alone. Its index (099) is built after the rows
-- are in: one sorted build instead of a million inserts into a GIN tree.
CALL dbops.post_search_backfill(50000);
