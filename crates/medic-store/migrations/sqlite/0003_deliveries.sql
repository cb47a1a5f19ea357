-- Issue 5: what the webhook intakes received, stored before they answer 2xx.
-- (source, key) is the sender's own identity for one delivery (Alertmanager:
-- fingerprint, startsAt and status; GitHub: X-GitHub-Delivery), so a
-- re-delivery is recognised and acted on once.

CREATE TABLE deliveries (
    -- The rowid: no AUTOINCREMENT bookkeeping on this hot table.
    id          INTEGER PRIMARY KEY,
    source      TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (source, key)
);
