-- The message log's indexes (SPEC 8, admin read API), chosen against herald-bench-log's
-- 100,000 messages and the whole-path send benchmark (docs/BENCHMARKS.md, issue 15).
-- Every one is written once, when a message is inserted or enters a rare final status;
-- none is rewritten on the common status changes of a send (ACCEPTED -> SENT -> DELIVERED),
-- which is what a plain status index cost (issue 14: about 12% of the send rate).

-- The log newest first, and every filter without an index of its own (a common status,
-- protocol, since/until): a page is a walk from the cursor that stops after pageSize rows.
CREATE INDEX messages_by_created ON messages(created_at, uuid);
-- One customer's messages across departments (with a department, the thread index serves).
CREATE INDEX messages_by_customer ON messages(customer_uuid, created_at, uuid) WHERE customer_uuid IS NOT NULL;
-- The statuses an operator looks for that are rare by nature: the final failures, and the
-- messages held (by delay, or for an opt-in), which enter and leave these once each.
-- Queries name the status as a literal so both planners match these partial indexes.
CREATE INDEX messages_failed ON messages(created_at, uuid) WHERE status = 'FAILED';
CREATE INDEX messages_undelivered ON messages(created_at, uuid) WHERE status = 'UNDELIVERED';
CREATE INDEX messages_expired ON messages(created_at, uuid) WHERE status = 'EXPIRED';
CREATE INDEX messages_cancelled ON messages(created_at, uuid) WHERE status = 'CANCELLED';
CREATE INDEX messages_scheduled ON messages(created_at, uuid) WHERE status = 'SCHEDULED';
CREATE INDEX messages_waiting ON messages(created_at, uuid) WHERE status = 'WAITING_FOR_OPTIN';
