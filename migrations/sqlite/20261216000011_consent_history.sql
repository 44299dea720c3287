-- Consent history (SPEC 8, issue 15): what caused each opt event, and a history for email
-- addresses too. Rows written before this migration keep NULL causes. The history is the
-- record a dealer shows in a TCPA dispute, so it is append-only: updates and deletes abort.

-- The credential or operator behind the event (an API username), the message that caused it
-- (an inbound STOP text, an opt-in request texted, a refused send) and the API request.
ALTER TABLE opt_events ADD COLUMN actor TEXT;
ALTER TABLE opt_events ADD COLUMN cause_message_uuid TEXT;
ALTER TABLE opt_events ADD COLUMN cause_request_id TEXT;

-- Herald keeps no opt state of its own for an address (okToEmail on each customer's copy is
-- the state); this is the history of every change to it, per (dealer, address).
CREATE TABLE email_opt_events (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    dealer_uuid         TEXT NOT NULL,
    email_address       TEXT NOT NULL,  -- lower-cased
    event               TEXT NOT NULL,
    source              TEXT NOT NULL,
    state               TEXT NOT NULL,  -- the state after the event
    actor               TEXT,
    cause_message_uuid  TEXT,
    cause_request_id    TEXT,
    at                  INTEGER NOT NULL
);
CREATE INDEX email_opt_events_by_address ON email_opt_events(dealer_uuid, email_address, id);

CREATE TRIGGER opt_events_no_update BEFORE UPDATE ON opt_events
BEGIN SELECT RAISE(ABORT, 'the opt history is append-only'); END;
CREATE TRIGGER opt_events_no_delete BEFORE DELETE ON opt_events
BEGIN SELECT RAISE(ABORT, 'the opt history is append-only'); END;
CREATE TRIGGER email_opt_events_no_update BEFORE UPDATE ON email_opt_events
BEGIN SELECT RAISE(ABORT, 'the opt history is append-only'); END;
CREATE TRIGGER email_opt_events_no_delete BEFORE DELETE ON email_opt_events
BEGIN SELECT RAISE(ABORT, 'the opt history is append-only'); END;
