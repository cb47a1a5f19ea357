-- Issue 5: workflow runs (`medic pipeline`), checkpointed after every step so
-- `medic pipeline resume` continues a killed run without redoing finished steps.
-- (0003 is taken by another change.)

CREATE TABLE pipeline_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    flow        TEXT    NOT NULL,
    flow_path   TEXT    NOT NULL,
    flow_digest TEXT    NOT NULL,
    vars        TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    next_step   INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    reason      TEXT,
    started_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    finished_at INTEGER
);
