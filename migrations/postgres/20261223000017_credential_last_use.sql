-- When each credential last authenticated (GET /admin/v1/credentials, lastUsedAt), stamped
-- by each node at most once a minute per credential instead of read from the message log,
-- which would need an index written on every send. Credentials used before keep the time of
-- their newest message.
ALTER TABLE credentials ADD COLUMN last_used_at timestamptz;
UPDATE credentials SET last_used_at = (SELECT MAX(m.created_at) FROM messages m WHERE m.credential = credentials.username);
