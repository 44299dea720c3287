-- One row that /readyz rewrites: readiness is a real write, so a database that answers but
-- cannot take writes (a full disk, a read-only standby) shows as not ready.
CREATE TABLE herald_health (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    probed_at TIMESTAMPTZ NOT NULL
);
INSERT INTO herald_health (id, probed_at) VALUES (1, now());
