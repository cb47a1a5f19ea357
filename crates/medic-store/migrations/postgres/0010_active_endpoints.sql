-- Issue 14: the endpoint a failover made active, per target. Kept so a
-- restarted agent probes and acts on the endpoint it failed over to, not
-- on a primary it left because it was down.

CREATE TABLE active_endpoints (
    target     TEXT    PRIMARY KEY,
    endpoint   TEXT    NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL
);
