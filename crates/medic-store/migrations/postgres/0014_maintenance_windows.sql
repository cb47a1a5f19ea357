-- Issue 16: maintenance windows opened through the API, kept in the store
-- so that every replica (and an agent restarted meanwhile) honours them.
-- `scope` is JSON: {"targets": [...], "labels": {...}}.

CREATE TABLE maintenance_windows (
    id        BIGSERIAL PRIMARY KEY,
    name      TEXT        NOT NULL,
    scope     TEXT        NOT NULL,
    starts_at TIMESTAMPTZ NOT NULL,
    ends_at   TIMESTAMPTZ NOT NULL,
    opened_by TEXT        NOT NULL,
    opened_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX maintenance_windows_by_end ON maintenance_windows (ends_at);
