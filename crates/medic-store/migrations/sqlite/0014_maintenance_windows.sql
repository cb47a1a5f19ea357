-- Issue 16: maintenance windows opened through the API, kept in the store
-- so that every replica (and an agent restarted meanwhile) honours them.
-- `scope` is JSON: {"targets": [...], "labels": {...}}.

CREATE TABLE maintenance_windows (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    name      TEXT        NOT NULL,
    scope     TEXT        NOT NULL,
    starts_at INTEGER     NOT NULL,
    ends_at   INTEGER     NOT NULL,
    opened_by TEXT        NOT NULL,
    opened_at INTEGER     NOT NULL
);

CREATE INDEX maintenance_windows_by_end ON maintenance_windows (ends_at);
