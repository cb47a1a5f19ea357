-- Issue 13: the lease tables, kept in step with PostgreSQL's. SQLite is
-- single-node (a second agent on the file is refused), so its one agent
-- holds every lease; times are microseconds since the epoch.

CREATE TABLE replicas (
    id      TEXT PRIMARY KEY,
    node    TEXT NOT NULL,
    seen_at INTEGER NOT NULL
);

CREATE TABLE leases (
    target     TEXT   PRIMARY KEY,
    owner      TEXT   NOT NULL,
    epoch      INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
