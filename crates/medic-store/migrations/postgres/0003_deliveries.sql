-- Issue 5: what the webhook intakes received, stored before they answer 2xx.
-- (source, key) is the sender's own identity for one delivery (Alertmanager:
-- fingerprint, startsAt and status; GitHub: X-GitHub-Delivery), so a
-- re-delivery is recognised and acted on once.

CREATE TABLE deliveries (
    id          BIGSERIAL   PRIMARY KEY,
    source      TEXT        NOT NULL,
    key         TEXT        NOT NULL,
    -- The sender's JSON text as received: JSONB would refuse a \u0000 in a
    -- string (a log line can hold one), and nothing queries inside it.
    payload     TEXT        NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    UNIQUE (source, key)
);
