-- The operator's lists (SPEC 8, admin read API): dealers and credentials oldest first, paged
-- by (created_at, key). The message log's indexes are not here yet: the six first tried (by
-- time, status, dealer, department, customer and credential) took about 12% off the
-- whole-path send rate, mostly the status index rewritten on every status change; they are
-- to be chosen against issue 15's 100,000-message benchmark (docs/DECISIONS.md).
CREATE INDEX dealers_by_created ON dealers(created_at, uuid);
CREATE INDEX credentials_by_created ON credentials(created_at, username);
