-- Issue 13: a monitoring pause, kept in the store so that every replica
-- (and an agent restarted during maintenance) honours it. A row: paused.

CREATE TABLE monitoring_pause (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    paused_by TEXT        NOT NULL,
    paused_at TIMESTAMPTZ NOT NULL
);
