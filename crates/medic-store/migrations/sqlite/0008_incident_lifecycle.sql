-- Issue 13: the lifecycle of an open incident (medic-engine's `Lifecycle`,
-- as JSON), written after every transition, so an agent that restarts, or
-- takes over, carries the incident on from where it stood instead of
-- starting its ladder again.

CREATE TABLE incident_lifecycle (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    state       TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);
