-- The operator's message log (SPEC 8, admin read API): newest first, filtered by status,
-- dealer, department or customer, paged by (created_at, uuid). One index per filter, each
-- ending in the page order, so a page is a walk from the cursor, never a sort of every match.
-- Department and customer together are served by messages_by_thread. A protocol filter
-- alone walks messages_by_created (two protocols: about every other row matches).
CREATE INDEX messages_by_created ON messages(created_at DESC, uuid DESC);
CREATE INDEX messages_by_status ON messages(status, created_at DESC, uuid DESC);
CREATE INDEX messages_by_dealer ON messages(dealer_uuid, created_at DESC, uuid DESC);
CREATE INDEX messages_by_department ON messages(department_uuid, created_at DESC, uuid DESC);
CREATE INDEX messages_by_customer ON messages(customer_uuid, created_at DESC, uuid DESC) WHERE customer_uuid IS NOT NULL;
-- A credential's last use: the newest message sent under it.
CREATE INDEX messages_by_credential ON messages(credential, created_at) WHERE credential IS NOT NULL;
-- Dealers and credentials are listed oldest first.
CREATE INDEX dealers_by_created ON dealers(created_at, uuid);
CREATE INDEX credentials_by_created ON credentials(created_at, username);
