-- Issue 16: a dependent's incident is linked to the incident of the
-- dependency that caused it (depends_on); the parent lists its dependents.

ALTER TABLE incidents ADD COLUMN caused_by BIGINT REFERENCES incidents (id);

CREATE INDEX incidents_by_cause ON incidents (caused_by) WHERE caused_by IS NOT NULL;
