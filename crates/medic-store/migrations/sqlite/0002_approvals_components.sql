-- Issue 4: acknowledgement, approvals, components registered through the API.

ALTER TABLE incidents ADD COLUMN acknowledged_by TEXT;
ALTER TABLE incidents ADD COLUMN acknowledged_at INTEGER;

CREATE TABLE approvals (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    action_id    INTEGER NOT NULL UNIQUE REFERENCES actions (id) ON DELETE CASCADE,
    target       TEXT    NOT NULL,
    remedy       TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    requested_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    decided_by   TEXT,
    decided_at   INTEGER
);

CREATE INDEX approvals_pending ON approvals (id) WHERE status = 'pending';

-- Targets registered at run time; the spec is the API's JSON body, validated
-- before it is stored.
CREATE TABLE components (
    name       TEXT    PRIMARY KEY,
    spec       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
