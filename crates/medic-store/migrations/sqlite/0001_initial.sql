-- medic's store, SQLite flavour. Timestamps are INTEGER unix microseconds (UTC),
-- which sort and compare as numbers; enums are their snake_case text.

CREATE TABLE incidents (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: ids appear in URLs
    target             TEXT    NOT NULL,
    fingerprint        TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    title              TEXT    NOT NULL,
    category           TEXT,
    severity           TEXT,
    diagnosis          TEXT,                              -- the full Diagnosis as JSON
    opened_at          INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    closed_at          INTEGER,
    time_to_recover_ms INTEGER
);

-- At most one live incident per (target, fingerprint): this is what makes
-- deduplication atomic, whatever the callers race.
CREATE UNIQUE INDEX incidents_live_target_fingerprint
    ON incidents (target, fingerprint)
    WHERE status NOT IN ('resolved', 'escalated', 'failed');

CREATE INDEX incidents_status_id ON incidents (status, id);
CREATE INDEX incidents_target_id ON incidents (target, id);

CREATE TABLE timeline (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    data        TEXT    NOT NULL DEFAULT 'null'             -- JSON
);

CREATE INDEX timeline_incident_at ON timeline (incident_id, at, id);

CREATE TABLE actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    target      TEXT    NOT NULL,
    remedy      TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    step        INTEGER NOT NULL,
    dry_run     INTEGER NOT NULL,                           -- 0 or 1
    output      TEXT,
    error       TEXT,
    intended_at INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER
);

-- A step of an incident's remedy ladder is recorded, hence run, at most once.
CREATE UNIQUE INDEX actions_incident_step ON actions (incident_id, step);
CREATE INDEX actions_in_doubt ON actions (id) WHERE state IN ('intended', 'running');
CREATE INDEX actions_target_intended_at ON actions (target, intended_at);
CREATE INDEX actions_intended_at ON actions (intended_at);

CREATE TABLE remedy_stats (
    fingerprint      TEXT    NOT NULL,
    remedy           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL,
    successes        INTEGER NOT NULL,
    total_recover_ms INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, remedy)
);
