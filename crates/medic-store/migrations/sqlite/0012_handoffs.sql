-- Issue 13: kept in step with PostgreSQL's; a single node hands nothing off.

CREATE TABLE handoffs (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    target    TEXT    NOT NULL,
    alert     TEXT    NOT NULL,
    handed_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX handoffs_target ON handoffs (target);
