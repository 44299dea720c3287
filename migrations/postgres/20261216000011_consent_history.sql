-- Consent history (SPEC 8, issue 15): what caused each opt event, and a history for email
-- addresses too. Rows written before this migration keep NULL causes. The history is the
-- record a dealer shows in a TCPA dispute, so it is append-only: updates and deletes abort.

-- The credential or operator behind the event (an API username), the message that caused it
-- (an inbound STOP text, an opt-in request texted, a refused send) and the API request.
ALTER TABLE opt_events ADD COLUMN actor text;
ALTER TABLE opt_events ADD COLUMN cause_message_uuid uuid;
ALTER TABLE opt_events ADD COLUMN cause_request_id uuid;

-- Herald keeps no opt state of its own for an address (okToEmail on each customer's copy is
-- the state); this is the history of every change to it, per (dealer, address).
CREATE TABLE email_opt_events (
    id                  bigserial PRIMARY KEY,
    dealer_uuid         uuid NOT NULL,
    email_address       text NOT NULL,  -- lower-cased
    event               text NOT NULL,
    source              text NOT NULL,
    state               text NOT NULL,  -- the state after the event
    actor               text,
    cause_message_uuid  uuid,
    cause_request_id    uuid,
    at                  timestamptz NOT NULL
);
CREATE INDEX email_opt_events_by_address ON email_opt_events(dealer_uuid, email_address, id);

CREATE FUNCTION opt_history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the opt history is append-only';
END;
$$;
CREATE TRIGGER opt_events_append_only BEFORE UPDATE OR DELETE ON opt_events
    FOR EACH ROW EXECUTE FUNCTION opt_history_is_append_only();
CREATE TRIGGER email_opt_events_append_only BEFORE UPDATE OR DELETE ON email_opt_events
    FOR EACH ROW EXECUTE FUNCTION opt_history_is_append_only();
