-- Issue 6: learning. Which remedy a resolved incident credited with its
-- success (and the time to recover it added), so a reopening within the
-- window can turn that success into a failure, once.

ALTER TABLE incidents ADD COLUMN resolved_by TEXT;
ALTER TABLE incidents ADD COLUMN resolved_by_ms BIGINT;

-- Finding the previous incident of a (target, fingerprint) pair.
CREATE INDEX incidents_target_fingerprint_id ON incidents (target, fingerprint, id);
