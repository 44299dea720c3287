-- One row that /readyz rewrites: readiness is a real write, through the same writer as every
-- other write, so a full disk or a read-only database shows as not ready.
CREATE TABLE herald_health (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    probed_at INTEGER NOT NULL
);
INSERT INTO herald_health (id, probed_at) VALUES (1, 0);
