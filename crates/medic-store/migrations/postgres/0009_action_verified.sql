-- Issue 14: an action's own result (succeeded/failed) and whether the
-- target was then healthy within its verify window are two facts. A remedy
-- that answered 200 and fixed nothing is "succeeded", not "verified":
-- recovery statistics and the success ratio count verified fixes only.
-- NULL: not verified (it failed, was skipped, paged a human, or ran before
-- this column existed).

ALTER TABLE actions ADD COLUMN verified BOOLEAN;
