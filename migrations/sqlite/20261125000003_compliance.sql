-- Rate limits (SPEC 5.4) and the opt-in queue (SPEC 5.2).

-- One row per message handed to a provider, counted by sliding windows.
CREATE TABLE rate_limit_sends (
    message_uuid     TEXT PRIMARY KEY,
    department_uuid  TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    is_manual        INTEGER NOT NULL,
    at               INTEGER NOT NULL
);
CREATE INDEX rate_limit_sends_by_window ON rate_limit_sends(department_uuid, recipient, is_manual, at);

-- Messages waiting for their number to opt in, found when it does.
CREATE INDEX messages_waiting_for_optin ON messages(dealer_uuid, recipient) WHERE status = 'WAITING_FOR_OPTIN';
