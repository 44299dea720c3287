-- Rate limits (SPEC 5.4) and the opt-in queue (SPEC 5.2).

-- One row per message handed to a provider, counted by sliding windows.
CREATE TABLE rate_limit_sends (
    message_uuid     uuid PRIMARY KEY,
    department_uuid  uuid NOT NULL,
    recipient        text NOT NULL,
    is_manual        boolean NOT NULL,
    at               timestamptz NOT NULL
);
CREATE INDEX rate_limit_sends_by_window ON rate_limit_sends(department_uuid, recipient, is_manual, at);

-- Messages waiting for their number to opt in, found when it does.
CREATE INDEX messages_waiting_for_optin ON messages(dealer_uuid, recipient) WHERE status = 'WAITING_FOR_OPTIN';
