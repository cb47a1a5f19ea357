-- Issue 12: the replay cache for signed deliveries. A signature (or another
-- identity of a signed event) is claimed once: the insert that finds the key
-- taken is a replay. Kept in the store, so a restart or a second replica
-- does not forget it; claims older than their sender's replay window are
-- pruned as new ones arrive.

CREATE TABLE replay_claims (
    key        TEXT    PRIMARY KEY,
    claimed_at INTEGER NOT NULL
);
CREATE INDEX replay_claims_claimed_at ON replay_claims (claimed_at);
