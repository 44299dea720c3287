-- Messages and everything that moves them: delivery jobs (written with the message, in one
-- transaction), attempts, callbacks, idempotency keys, threads and the outbox provider's log.

-- Kept in step with settings.textSenderNumber, to route inbound texts.
ALTER TABLE departments ADD COLUMN text_sender_number text;
UPDATE departments SET text_sender_number = settings ->> 'textSenderNumber';
CREATE INDEX departments_by_sender ON departments(text_sender_number);

CREATE TABLE messages (
    uuid                 uuid PRIMARY KEY,
    dealer_uuid          uuid NOT NULL,
    department_uuid      uuid NOT NULL,
    customer_uuid        uuid,
    user_uuid            uuid,
    credential           text,
    direction            text NOT NULL,
    protocol             text NOT NULL,
    purpose              text NOT NULL,
    is_manual            boolean NOT NULL,
    body                 text NOT NULL,
    subject              text,
    recipient            text NOT NULL,
    cc                   jsonb NOT NULL,  -- array of addresses
    bcc                  jsonb NOT NULL,  -- array of addresses
    options              jsonb NOT NULL,  -- SendOptions
    override_optout      boolean NOT NULL,
    callback_url         text,
    callback_metadata    jsonb NOT NULL,  -- object
    request_uuid         uuid NOT NULL,
    status               text NOT NULL,
    error_code           text,
    error_description    text,
    warnings             jsonb NOT NULL,  -- array
    provider_message_id  text,
    composed_body        text,
    sender               text,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX messages_by_thread ON messages(department_uuid, customer_uuid, created_at DESC, uuid DESC);
CREATE INDEX messages_by_provider_id ON messages(provider_message_id) WHERE provider_message_id IS NOT NULL;

-- A row exists while the message still has delivery work to do.
CREATE TABLE delivery_jobs (
    message_uuid      uuid PRIMARY KEY REFERENCES messages(uuid),
    due_at            timestamptz NOT NULL,
    attempts          bigint NOT NULL DEFAULT 0,
    lease_id          uuid,
    lease_expires_at  timestamptz
);
CREATE INDEX delivery_jobs_by_due ON delivery_jobs(due_at);

CREATE TABLE delivery_attempts (
    id            bigserial PRIMARY KEY,
    message_uuid  uuid NOT NULL,
    attempt       bigint NOT NULL,
    at            timestamptz NOT NULL,
    outcome       text NOT NULL,
    error_code    text,
    detail        text
);
CREATE INDEX delivery_attempts_by_message ON delivery_attempts(message_uuid, id);

CREATE TABLE callbacks (
    webhook_id        text PRIMARY KEY,
    message_uuid      uuid NOT NULL,
    seq               bigint NOT NULL,
    url               text NOT NULL,
    credential        text NOT NULL,
    payload           text NOT NULL,
    state             text NOT NULL CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts          bigint NOT NULL DEFAULT 0,
    due_at            timestamptz NOT NULL,
    lease_id          uuid,
    lease_expires_at  timestamptz,
    last_result       text,
    created_at        timestamptz NOT NULL,
    UNIQUE (message_uuid, seq)
);
CREATE INDEX callbacks_pending_by_due ON callbacks(due_at) WHERE state = 'PENDING';
-- The claim's "no earlier callback of this message is pending" check.
CREATE INDEX callbacks_pending_by_message ON callbacks(message_uuid, seq) WHERE state = 'PENDING';

CREATE TABLE idempotency_keys (
    credential       text NOT NULL,
    key              text NOT NULL,
    request_hash     text NOT NULL,
    message_uuid     uuid NOT NULL,
    response_status  integer,
    response_body    text,
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (credential, key)
);

CREATE TABLE threads (
    department_uuid  uuid NOT NULL,
    customer_uuid    uuid NOT NULL,
    owner_user_uuid  uuid NOT NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (department_uuid, customer_uuid)
);

-- One entry per message: a step retried after a crash never "sends" twice.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    message_uuid  uuid NOT NULL,
    protocol      text NOT NULL,
    sender        text NOT NULL,
    recipient     text NOT NULL,
    cc            jsonb NOT NULL,
    bcc           jsonb NOT NULL,
    subject       text,
    body          text NOT NULL,
    media_urls    jsonb NOT NULL,
    sent_at       timestamptz NOT NULL,
    UNIQUE (message_uuid)
);
