-- Issue 17: fingerprints are versioned. A fingerprint hashes the root cause's
-- template; when the templating changes, the agent renames the stored
-- fingerprints (incidents and learned remedy statistics) at start and
-- records the version here, so what was learned keeps its meaning.
-- Stores created before this migration hold version 1.
CREATE TABLE fingerprint_version (
    version BIGINT NOT NULL
);
INSERT INTO fingerprint_version (version) VALUES (1);
