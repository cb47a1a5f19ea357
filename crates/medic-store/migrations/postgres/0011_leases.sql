-- Issue 13: replicas share the work by leases. A replica heartbeats its
-- row in `replicas`; each target is owned by the replica holding its lease
-- until `expires_at` (the database's clock). `epoch` grows whenever the
-- lease changes hands: writes that carry an older epoch are refused.

CREATE TABLE replicas (
    id      TEXT PRIMARY KEY,
    node    TEXT NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE leases (
    target     TEXT   PRIMARY KEY,
    owner      TEXT   NOT NULL,
    epoch      BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
