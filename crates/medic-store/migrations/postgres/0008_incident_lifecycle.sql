-- Issue 13: the lifecycle of an open incident (medic-engine's `Lifecycle`,
-- as JSON), written after every transition, so an agent that restarts, or
-- takes over, carries the incident on from where it stood instead of
-- starting its ladder again.

CREATE TABLE incident_lifecycle (
    incident_id BIGINT      PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    state       JSONB       NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
