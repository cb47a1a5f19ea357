-- Issue 13: an alert that reached a replica which does not own its
-- target waits here for the owner, which takes it at its next lease round.

CREATE TABLE handoffs (
    id        BIGSERIAL PRIMARY KEY,
    target    TEXT  NOT NULL,
    alert     JSONB NOT NULL,
    handed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX handoffs_target ON handoffs (target);
